// Groups, as Greenfield's storage module keeps them: an owner's named group (unique per owner),
// members with optional expiry, leaving, deleting; policies can name a group as principal and
// then apply to its (unexpired) members.

import { checksumAddress, isAddress, type Hex } from '@insitu/protocol';
import { fail, emit, lower, nextId, type MsgHandler, type QueryTable, type MsgContext } from '../context.ts';
import type { KV } from '../store.ts';
import { toLong } from '../../gnfd.ts';
import type { GroupRecord, MemberRecord } from '@insitu/protocol/chain';
export type { GroupRecord, MemberRecord };

/** Greenfield's limits: group names 3–63 characters, at most 20 members per update, extra ≤ 512. */
export const MAX_MEMBERS_PER_UPDATE = 20;

const groupKey = (owner: string, name: string): string => `group/${lower(owner)}/${name}`;
const groupIdKey = (id: bigint): string => `group-id/${id.toString().padStart(20, '0')}`;
const memberKey = (id: bigint, member: string): string => `group-member/${id.toString().padStart(20, '0')}/${lower(member)}`;
const memberOfKey = (member: string, id: bigint): string => `member-of/${lower(member)}/${id.toString().padStart(20, '0')}`;

export const getGroupById = async (kv: KV, id: bigint): Promise<GroupRecord | undefined> => {
  const key = await kv.get<string>(groupIdKey(id));
  return key ? kv.get<GroupRecord>(key) : undefined;
};

/** Whether `account` is an unexpired member of group `id` at `now`. */
export async function isGroupMember(kv: KV, id: bigint, account: string, now: number): Promise<boolean> {
  const m = await kv.get<MemberRecord>(memberKey(id, account));
  return !!m && (m.expiresAt === null || m.expiresAt > now);
}

function validateName(name: unknown): string {
  const s = String(name ?? '');
  if (s.length < 3 || s.length > 63 || /[\s/\\]|[\u0000-\u001f]/.test(s)) fail('ERR_INVALID_NAME', `group name "${s}" must be 3–63 characters without spaces, slashes or control characters`);
  return s;
}

const tsMs = (t: unknown): number | null => {
  if (!t || typeof t !== 'object') return null;
  const s = Number((t as { seconds?: { toString(): string } }).seconds?.toString() ?? 0);
  return s > 0 ? s * 1000 : null;
};

async function ownedGroup(ctx: MsgContext, owner: unknown, name: unknown): Promise<GroupRecord> {
  const o = String(owner ?? ctx.signer);
  const g = await ctx.kv.get<GroupRecord>(groupKey(o, validateName(name)));
  if (!g) return fail('ERR_NOT_FOUND', `no group ${String(name)} of ${o}`);
  return g;
}

const requireOwner = (ctx: MsgContext, g: GroupRecord): void => {
  if (lower(ctx.signer) !== lower(g.owner)) fail('ERR_PERMISSION_DENIED', `only the owner of group ${g.name} (${g.owner}) may change it`);
};

function addMember(ctx: MsgContext, g: GroupRecord, member: string, expiresAt: number | null): void {
  if (!isAddress(member)) fail('ERR_INVALID_ARGUMENT', `not an account address: ${member}`);
  const rec: MemberRecord = { groupId: g.id, member: checksumAddress(member as Hex), expiresAt };
  ctx.kv.put(memberKey(g.id, member), rec);
  ctx.kv.put(memberOfKey(member, g.id), g.id);
}

function removeMember(ctx: MsgContext, g: GroupRecord, member: string): void {
  ctx.kv.del(memberKey(g.id, member));
  ctx.kv.del(memberOfKey(member, g.id));
}

const msgCreateGroup: MsgHandler = async (ctx, msg) => {
  const name = validateName(msg.groupName);
  if (await ctx.kv.get(groupKey(ctx.signer, name))) fail('ERR_INVALID_ARGUMENT', `group ${name} already exists for ${ctx.signer}`);
  const extra = String(msg.extra ?? '');
  if (extra.length > 512) fail('ERR_INVALID_ARGUMENT', 'group extra is at most 512 characters');
  const id = await nextId(ctx.kv, 'group');
  const g: GroupRecord = { id, owner: checksumAddress(ctx.signer), name, extra };
  ctx.kv.put(groupKey(ctx.signer, name), g);
  ctx.kv.put(groupIdKey(id), groupKey(ctx.signer, name));
  emit(ctx, 'group-created', { group_id: id, owner: g.owner, group_name: name });
  return { groupId: id.toString() };
};

const msgDeleteGroup: MsgHandler = async (ctx, msg) => {
  const g = await ownedGroup(ctx, ctx.signer, msg.groupName);
  requireOwner(ctx, g);
  for (const [k, m] of await ctx.kv.list<MemberRecord>(`group-member/${g.id.toString().padStart(20, '0')}/`)) {
    ctx.kv.del(k);
    ctx.kv.del(memberOfKey(m.member, g.id));
  }
  // Policies naming the group go with it.
  for (const [k, key] of await ctx.kv.list<string>(`group-policy/${g.id.toString().padStart(20, '0')}/`)) {
    ctx.kv.del(k);
    ctx.kv.del(key);
  }
  ctx.kv.del(groupKey(g.owner, g.name));
  ctx.kv.del(groupIdKey(g.id));
  emit(ctx, 'group-deleted', { group_id: g.id, owner: g.owner, group_name: g.name });
  return {};
};

const members = (v: unknown): { member: string; expiresAt: number | null }[] =>
  ((v as { member?: unknown; expirationTime?: unknown }[]) ?? []).map((m) => ({ member: String(m.member ?? ''), expiresAt: tsMs(m.expirationTime) }));

const msgUpdateGroupMember: MsgHandler = async (ctx, msg) => {
  const g = await ownedGroup(ctx, msg.groupOwner, msg.groupName);
  requireOwner(ctx, g);
  const add = members(msg.membersToAdd);
  const del = ((msg.membersToDelete as string[]) ?? []).map(String);
  if (add.length + del.length > MAX_MEMBERS_PER_UPDATE) fail('ERR_INVALID_ARGUMENT', `at most ${MAX_MEMBERS_PER_UPDATE} members change in one update`);
  for (const m of add) addMember(ctx, g, m.member, m.expiresAt);
  for (const m of del) removeMember(ctx, g, m);
  emit(ctx, 'group-members-updated', { group_id: g.id, added: add.length, removed: del.length });
  return {};
};

const msgRenewGroupMember: MsgHandler = async (ctx, msg) => {
  const g = await ownedGroup(ctx, msg.groupOwner, msg.groupName);
  requireOwner(ctx, g);
  const list = members(msg.members);
  if (list.length > MAX_MEMBERS_PER_UPDATE) fail('ERR_INVALID_ARGUMENT', `at most ${MAX_MEMBERS_PER_UPDATE} members in one renewal`);
  for (const m of list) {
    if (!(await ctx.kv.get(memberKey(g.id, m.member)))) fail('ERR_NOT_FOUND', `${m.member} is not a member of group ${g.name}`);
    addMember(ctx, g, m.member, m.expiresAt);
  }
  return {};
};

const msgLeaveGroup: MsgHandler = async (ctx, msg) => {
  const g = await ownedGroup(ctx, msg.groupOwner, msg.groupName);
  if (!(await ctx.kv.get(memberKey(g.id, ctx.signer)))) fail('ERR_NOT_FOUND', `${ctx.signer} is not a member of group ${g.name}`);
  removeMember(ctx, g, ctx.signer);
  emit(ctx, 'group-left', { group_id: g.id, member: ctx.signer });
  return {};
};

const msgUpdateGroupExtra: MsgHandler = async (ctx, msg) => {
  const g = await ownedGroup(ctx, msg.groupOwner, msg.groupName);
  requireOwner(ctx, g);
  const extra = String(msg.extra ?? '');
  if (extra.length > 512) fail('ERR_INVALID_ARGUMENT', 'group extra is at most 512 characters');
  ctx.kv.put(groupKey(g.owner, g.name), { ...g, extra });
  return {};
};

export const groupMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.storage.MsgCreateGroup': { handler: msgCreateGroup, signer: (m) => String(m.creator) },
  '/greenfield.storage.MsgDeleteGroup': { handler: msgDeleteGroup, signer: (m) => String(m.operator) },
  '/greenfield.storage.MsgUpdateGroupMember': { handler: msgUpdateGroupMember, signer: (m) => String(m.operator) },
  '/greenfield.storage.MsgRenewGroupMember': { handler: msgRenewGroupMember, signer: (m) => String(m.operator) },
  '/greenfield.storage.MsgLeaveGroup': { handler: msgLeaveGroup, signer: (m) => String(m.member) },
  '/greenfield.storage.MsgUpdateGroupExtra': { handler: msgUpdateGroupExtra, signer: (m) => String(m.operator) },
};

const groupInfo = (g: GroupRecord) => ({ owner: g.owner, groupName: g.name, sourceType: 0, id: g.id.toString(), extra: g.extra, tags: { tags: [] } });

export const groupQueries: QueryTable = {
  '/greenfield.storage.Query/HeadGroup': async (ctx, req) => {
    const g = await ctx.kv.get<GroupRecord>(groupKey(String(req.groupOwner), String(req.groupName)));
    if (!g) fail('ERR_NOT_FOUND', `no group ${String(req.groupName)} of ${String(req.groupOwner)}`);
    return { groupInfo: groupInfo(g!) };
  },
  '/greenfield.storage.Query/HeadGroupMember': async (ctx, req) => {
    const g = await ctx.kv.get<GroupRecord>(groupKey(String(req.groupOwner), String(req.groupName)));
    const m = g ? await ctx.kv.get<MemberRecord>(memberKey(g.id, String(req.member))) : undefined;
    if (!g || !m) fail('ERR_NOT_FOUND', `${String(req.member)} is not a member of ${String(req.groupName)}`);
    return { groupMember: { id: toLong(0), groupId: g!.id.toString(), member: m!.member, expirationTime: m!.expiresAt ? { seconds: toLong(Math.floor(m!.expiresAt / 1000)), nanos: 0 } : undefined } };
  },
  /** Project extension (JSON): an owner's groups, or the groups an account belongs to, with members. */
  '/insitu.storage.Query/Groups': async (ctx, req) => {
    let groups: GroupRecord[];
    if (req.owner) groups = (await ctx.kv.list<GroupRecord>(`group/${lower(String(req.owner))}/`)).map(([, g]) => g);
    else {
      const ids = (await ctx.kv.list<bigint>(`member-of/${lower(String(req.member ?? ''))}/`)).map(([, id]) => id);
      groups = (await Promise.all(ids.map((id) => getGroupById(ctx.kv, id)))).filter((g): g is GroupRecord => !!g);
    }
    return {
      groups: await Promise.all(groups.map(async (g) => ({
        ...g,
        members: (await ctx.kv.list<MemberRecord>(`group-member/${g.id.toString().padStart(20, '0')}/`)).map(([, m]) => ({ member: m.member, expiresAt: m.expiresAt })),
      }))),
    };
  },
};
