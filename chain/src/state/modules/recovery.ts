// Replacing storage providers that leave or are gone, as Greenfield's virtualgroup module does:
// a provider leaves with MsgStorageProviderExit (graceful exit); one that has been unreachable
// is put in forced exit when a majority of the providers sharing its groups report it down
// (a project extension standing in for Greenfield's governance vote, MsgStorageProviderForcedExit).
// A successor then reserves its place in each group (MsgReserveSwapIn), rebuilds what the
// provider held there, and completes the swap (MsgCompleteSwapIn): the chain records the
// successor in the group — or, for a primary, in the family, its groups and its buckets.
//
// Accountability (beyond Greenfield, which trusts governance here): only admitted providers vote,
// and only the members of the target's oldest groups, so providers that put it into groups of
// their own cannot outvote the peers it has served with; the admin/governance account may force a
// provider out as Greenfield's MsgStorageProviderForcedExit does. A swap-in completes only after
// the successor's data passes a storage challenge on one of the objects it took over (a failed
// one slashes it and drops the reservation). A provider that holds no roles any more completes
// its exit and its deposit unbonds.

import { fail, emit, type MsgHandler, type QueryTable, type MsgContext } from '../context.ts';
import type { KV } from '../store.ts';
import { getFamily, getGvg, getProvider, providerByOperator, isActive, STATUS_IN_SERVICE, type GvgRecord, type ProviderRecord } from './providers.ts';
import { getObjectById, groupObjectKey, groupObjectPrefix, familyBucketPrefix, bucketKey, type BucketRecord, type GroupObject, type ObjectRecord } from './storage-records.ts';
import { drawer, issueChallenge, onSwapChallengeDecided, getChallenge, seedOf, type ChallengeRecord } from './challenge.ts';
import { requireAdmin, beginUnbonding } from './stake.ts';
import { pageLimit, idCursor } from '../paging.ts';
import type { SwapInRecord } from '@insitu/protocol/chain';

export const STATUS_GRACEFUL_EXITING = 2;
export const STATUS_FORCED_EXITING = 4;
const EXITING = new Set([STATUS_GRACEFUL_EXITING, STATUS_FORCED_EXITING]);

/** A reservation nobody completed may be taken over by another successor after this long. */
export const SWAP_IN_VALIDITY_MS = 30 * 60_000;

const swapKey = (familyId: number, gvgId: number): string => (familyId ? `swapin/family/${familyId}` : `swapin/gvg/${gvgId}`);
const pad = (n: number): string => String(n).padStart(10, '0');

async function groupsOf(kv: KV, spId: number): Promise<GvgRecord[]> {
  const ids = (await kv.list<number>(`sp-gvg/${spId}/`)).map(([, v]) => v);
  return (await Promise.all(ids.map((id) => getGvg(kv, id)))).filter((g): g is GvgRecord => !!g);
}

async function signerProvider(ctx: MsgContext, address: unknown): Promise<ProviderRecord> {
  const sp = await providerByOperator(ctx.kv, String(address));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(address)}`);
  return sp;
}

async function setStatus(ctx: MsgContext, sp: ProviderRecord, status: number, event: string): Promise<void> {
  sp.status = status;
  ctx.kv.put(`sp/${sp.id}`, sp);
  emit(ctx, event, { sp_id: sp.id, status });
  emit(ctx, 'provider-updated', { sp_id: sp.id, status });
}

const msgExit: MsgHandler = async (ctx, msg) => {
  const sp = await signerProvider(ctx, msg.storageProvider);
  if (sp.status !== STATUS_IN_SERVICE) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} is not in service (status ${sp.status})`);
  await setStatus(ctx, sp, STATUS_GRACEFUL_EXITING, 'provider-exiting');
  return {};
};

/**
 * Who votes on a provider: the admitted in-service members of its oldest groups (those created
 * first, at genesis for the devnet's), so groups made later — by anyone — carry no votes.
 */
async function electorate(kv: KV, targetId: number): Promise<Set<number>> {
  const groups = await groupsOf(kv, targetId);
  const oldest = Math.min(...groups.map((g) => g.createdAt ?? 0));
  const out = new Set<number>();
  for (const g of groups.filter((x) => (x.createdAt ?? 0) === oldest)) {
    for (const id of [g.primarySpId, ...g.secondarySpIds]) if (id !== targetId && isActive(await getProvider(kv, id))) out.add(id);
  }
  return out;
}

const msgReportDown: MsgHandler = async (ctx, msg) => {
  const reporter = await signerProvider(ctx, msg.reporter);
  if (!isActive(reporter)) fail('ERR_PERMISSION_DENIED', `provider ${reporter.id} is not admitted and in service`);
  const targetId = Number(msg.spId);
  const target = await getProvider(ctx.kv, targetId);
  if (!target) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${targetId}`);
  if (target.id === reporter.id) fail('ERR_INVALID_ARGUMENT', 'a provider cannot report itself');
  if (target.status !== STATUS_IN_SERVICE) return { status: target.status };
  const voters = await electorate(ctx.kv, targetId);
  if (!voters.has(reporter.id)) fail('ERR_PERMISSION_DENIED', `provider ${reporter.id} is not an admitted member of provider ${targetId}'s oldest groups`);
  const live = [...voters];
  ctx.kv.put(`down-report/${targetId}/${pad(reporter.id)}`, ctx.now);
  const reports = (await ctx.kv.list<number>(`down-report/${targetId}/`)).filter(([k]) => live.includes(Number(k.split('/').pop())));
  const quorum = Math.max(2, Math.floor(live.length / 2) + 1);
  emit(ctx, 'provider-reported-down', { sp_id: targetId, reporter_sp_id: reporter.id, reports: reports.length, quorum });
  if (reports.length >= quorum) {
    for (const [k] of await ctx.kv.list(`down-report/${targetId}/`)) ctx.kv.del(k);
    await setStatus(ctx, target, STATUS_FORCED_EXITING, 'provider-forced-exit');
  }
  return { status: target.status, reports: reports.length, quorum };
};

/**
 * A provider that is back withdraws the reports against it (it proves it is alive by signing);
 * one put in forced exit returns to service and keeps the places no successor has taken yet.
 */
const msgCancelReports: MsgHandler = async (ctx, msg) => {
  const sp = await signerProvider(ctx, msg.reporter);
  for (const [k] of await ctx.kv.list(`down-report/${sp.id}/`)) ctx.kv.del(k);
  if (sp.status === STATUS_FORCED_EXITING) {
    for (const [k, r] of await ctx.kv.list<SwapInRecord>('swapin/')) if (r.targetSpId === sp.id) ctx.kv.del(k);
    await setStatus(ctx, sp, STATUS_IN_SERVICE, 'provider-back');
  }
  return {};
};

const msgReserveSwapIn: MsgHandler = async (ctx, msg) => {
  const successor = await signerProvider(ctx, msg.storageProvider);
  if (!isActive(successor)) fail('ERR_PERMISSION_DENIED', `provider ${successor.id} is not admitted and in service`);
  const targetId = Number(msg.targetSpId);
  const target = await getProvider(ctx.kv, targetId);
  if (!target) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${targetId}`);
  if (!EXITING.has(target.status)) fail('ERR_INVALID_ARGUMENT', `provider ${targetId} is not exiting; only an exiting provider is swapped out`);
  const familyId = Number(msg.globalVirtualGroupFamilyId ?? 0);
  const gvgId = Number(msg.globalVirtualGroupId ?? 0);
  if (familyId) {
    const family = await getFamily(ctx.kv, familyId);
    if (!family || family.primarySpId !== targetId) fail('ERR_INVALID_ARGUMENT', `provider ${targetId} is not the primary of family ${familyId}`);
    for (const id of family!.gvgIds) {
      const g = await getGvg(ctx.kv, id);
      if (g?.secondarySpIds.includes(successor.id)) fail('ERR_INVALID_ARGUMENT', `provider ${successor.id} is a secondary in group ${id} of family ${familyId}`);
    }
  } else {
    const g = await getGvg(ctx.kv, gvgId);
    if (!g || !g.secondarySpIds.includes(targetId)) fail('ERR_INVALID_ARGUMENT', `provider ${targetId} is not a secondary of group ${gvgId}`);
    if (g!.primarySpId === successor.id || g!.secondarySpIds.includes(successor.id)) fail('ERR_INVALID_ARGUMENT', `provider ${successor.id} is already in group ${gvgId}`);
  }
  const key = swapKey(familyId, gvgId);
  const existing = await ctx.kv.get<SwapInRecord>(key);
  if (existing && existing.successorSpId !== successor.id && ctx.now - existing.reservedAt < SWAP_IN_VALIDITY_MS) {
    fail('ERR_INVALID_ARGUMENT', `provider ${existing.successorSpId} has already reserved this swap`);
  }
  // The same successor reserving again keeps its reservation (and the challenge it waits for).
  if (existing && existing.successorSpId === successor.id) return {};
  const rec: SwapInRecord = { successorSpId: successor.id, targetSpId: targetId, familyId, gvgId, reservedAt: ctx.now };
  ctx.kv.put(key, rec);
  emit(ctx, 'swap-in-reserved', { sp_id: successor.id, target_sp_id: targetId, family_id: familyId, gvg_id: gvgId });
  return {};
};

function moveIndex(kv: KV, gvgId: number, from: number, to: number): void {
  kv.del(`sp-gvg/${from}/${pad(gvgId)}`);
  kv.put(`sp-gvg/${to}/${pad(gvgId)}`, gvgId);
}

/** The first sealed non-empty object of a group with an id above `after`, through the group index. */
async function firstHeld(kv: KV, gvgId: number, after: bigint): Promise<GroupObject | undefined> {
  let cursor = groupObjectKey(gvgId, after);
  for (;;) {
    const rows = await kv.list<GroupObject>(groupObjectPrefix(gvgId), { after: cursor, limit: 64 });
    const hit = rows.find(([, o]) => o.payloadSize > 0n);
    if (hit) return hit[1];
    if (rows.length < 64) return undefined;
    cursor = rows.at(-1)![0];
  }
}

/**
 * One sealed non-empty object of the groups a swap takes over, drawn from the block seed: the
 * first one at or after a random object id (wrapping round), so the draw reads a few index
 * entries, not every object.
 */
async function drawSwapObject(kv: KV, rec: SwapInRecord, draw: (below: number) => number): Promise<ObjectRecord | undefined> {
  const gvgIds = rec.familyId ? ((await getFamily(kv, rec.familyId))?.gvgIds ?? []) : [rec.gvgId];
  const maxId = Number((await kv.get<bigint>('meta/object')) ?? 0n);
  if (maxId === 0) return undefined;
  for (const after of [BigInt(draw(maxId)), 0n]) {
    let best: GroupObject | undefined;
    for (const g of gvgIds) {
      const o = await firstHeld(kv, g, after);
      if (o && (!best || o.id < best.id)) best = o;
    }
    if (best) return getObjectById(kv, best.id);
  }
  return undefined;
}

/**
 * MsgCompleteSwapIn: the reserved successor says it holds the data. The chain checks: it issues a
 * storage challenge of the successor over one object of what it takes over (the piece index it
 * will hold), and the swap completes when that challenge passes. Groups holding nothing swap at once.
 */
const msgCompleteSwapIn: MsgHandler = async (ctx, msg) => {
  const successor = await signerProvider(ctx, msg.storageProvider);
  const familyId = Number(msg.globalVirtualGroupFamilyId ?? 0);
  const gvgId = Number(msg.globalVirtualGroupId ?? 0);
  const key = swapKey(familyId, gvgId);
  const rec = await ctx.kv.get<SwapInRecord>(key);
  if (!rec || rec.successorSpId !== successor.id) return fail('ERR_INVALID_ARGUMENT', `provider ${successor.id} holds no reservation for this swap`);
  if (rec.challengeId !== undefined) {
    const c = await getChallenge(ctx.kv, rec.challengeId);
    if (c?.status === 'open') return { challengeId: c.id, status: 'verifying' };
  }
  const obj = await drawSwapObject(ctx.kv, rec, drawer(seedOf(ctx), `swap/${key}/${ctx.now}`));
  if (obj) {
    let index = -1;
    if (!familyId) index = (await getGvg(ctx.kv, gvgId))!.secondarySpIds.indexOf(rec.targetSpId);
    const c = await issueChallenge(ctx, { spId: successor.id, obj, redundancyIndex: index, swapKey: key, exclude: [rec.targetSpId] });
    rec.challengeId = c.id;
    ctx.kv.put(key, rec);
    emit(ctx, 'swap-in-verifying', { sp_id: successor.id, target_sp_id: rec.targetSpId, family_id: familyId, gvg_id: gvgId, challenge_id: c.id });
    return { challengeId: c.id, status: 'verifying' };
  }
  await completeSwap(ctx, key, rec);
  return { status: 'completed' };
};

/** A swap's challenge was decided: passed completes it; failed slashes the successor and frees the place. */
onSwapChallengeDecided(async (ctx, c: ChallengeRecord) => {
  const rec = await ctx.kv.get<SwapInRecord>(c.swapKey!);
  if (!rec || rec.challengeId !== c.id) return;
  if (c.status === 'passed') return completeSwap(ctx, c.swapKey!, rec);
  if (c.status === 'failed') {
    ctx.kv.del(c.swapKey!);
    emit(ctx, 'swap-in-refused', { sp_id: rec.successorSpId, target_sp_id: rec.targetSpId, family_id: rec.familyId, gvg_id: rec.gvgId, challenge_id: c.id });
    return;
  }
  // Lapsed undecided: the successor may ask again.
  delete rec.challengeId;
  ctx.kv.put(c.swapKey!, rec);
});

async function completeSwap(ctx: MsgContext, key: string, rec: SwapInRecord): Promise<void> {
  const successor = (await getProvider(ctx.kv, rec.successorSpId))!;
  const { familyId, gvgId } = rec;
  ctx.kv.del(key);
  if (familyId) {
    const family = (await getFamily(ctx.kv, familyId))!;
    family.primarySpId = successor.id;
    ctx.kv.put(`vgf/${familyId}`, family);
    ctx.kv.del(`sp-family/${rec.targetSpId}`);
    if ((await ctx.kv.get<number>(`sp-family/${successor.id}`)) === undefined) ctx.kv.put(`sp-family/${successor.id}`, familyId);
    for (const id of family.gvgIds) {
      const g = (await getGvg(ctx.kv, id))!;
      g.primarySpId = successor.id;
      ctx.kv.put(`gvg/${id}`, g);
      moveIndex(ctx.kv, id, rec.targetSpId, successor.id);
    }
    for (const [k] of await ctx.kv.list<bigint>(familyBucketPrefix(familyId))) {
      const name = k.slice(familyBucketPrefix(familyId).length);
      const b = await ctx.kv.get<BucketRecord>(bucketKey(name));
      if (b) ctx.kv.put(bucketKey(name), { ...b, primarySpId: successor.id });
    }
  } else {
    const g = (await getGvg(ctx.kv, gvgId))!;
    g.secondarySpIds = g.secondarySpIds.map((id) => (id === rec.targetSpId ? successor.id : id));
    ctx.kv.put(`gvg/${gvgId}`, g);
    moveIndex(ctx.kv, gvgId, rec.targetSpId, successor.id);
  }
  emit(ctx, 'swap-in-completed', { sp_id: successor.id, target_sp_id: rec.targetSpId, family_id: familyId, gvg_id: gvgId, took_ms: ctx.now - rec.reservedAt });
}

/** Greenfield's MsgStorageProviderForcedExit: the admin/governance account puts a provider out. */
const msgForcedExit: MsgHandler = async (ctx, msg) => {
  requireAdmin(ctx);
  const sp = await providerByOperator(ctx.kv, String(msg.storageProvider));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.storageProvider)}`);
  if (EXITING.has(sp.status)) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} is already exiting`);
  await setStatus(ctx, sp, STATUS_FORCED_EXITING, 'provider-forced-exit');
  return {};
};

/**
 * Greenfield's MsgCompleteStorageProviderExit: an exiting provider that no group names any more
 * has left; its deposit unbonds (released after the unbonding period, slashable until then).
 */
const msgCompleteExit: MsgHandler = async (ctx, msg) => {
  const sp = await signerProvider(ctx, msg.storageProvider);
  if (!EXITING.has(sp.status)) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} is not exiting`);
  if (sp.unbondingUntil !== undefined) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} has already left`);
  const roles = await groupsOf(ctx.kv, sp.id);
  if (roles.length > 0 || (await ctx.kv.get<number>(`sp-family/${sp.id}`)) !== undefined) {
    fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} still holds places in ${roles.length} group(s): successors must swap in first`);
  }
  beginUnbonding(ctx, sp);
  emit(ctx, 'provider-exited', { sp_id: sp.id, release_at: sp.unbondingUntil! });
  return { releaseAt: sp.unbondingUntil! };
};

export const recoveryMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.virtualgroup.MsgStorageProviderExit': { handler: msgExit, signer: (m) => String(m.storageProvider) },
  '/greenfield.virtualgroup.MsgReserveSwapIn': { handler: msgReserveSwapIn, signer: (m) => String(m.storageProvider) },
  '/greenfield.virtualgroup.MsgCompleteSwapIn': { handler: msgCompleteSwapIn, signer: (m) => String(m.storageProvider) },
  '/greenfield.virtualgroup.MsgStorageProviderForcedExit': { handler: msgForcedExit, signer: (m) => String(m.authority) },
  '/greenfield.virtualgroup.MsgCompleteStorageProviderExit': { handler: msgCompleteExit, signer: (m) => String(m.storageProvider) },
  '/insitu.virtualgroup.MsgReportProviderDown': { handler: msgReportDown, signer: (m) => String(m.reporter) },
  '/insitu.virtualgroup.MsgWithdrawDownReports': { handler: msgCancelReports, signer: (m) => String(m.reporter) },
};

export const recoveryQueries: QueryTable = {
  /** Project extension (JSON): the sealed objects stored in one global virtual group, by id. */
  '/insitu.storage.Query/ObjectsInGroup': async (ctx, req) => {
    const gvgId = Number(req.gvgId);
    if (!Number.isInteger(gvgId) || gvgId < 0) fail('ERR_INVALID_ARGUMENT', `gvgId is a group id, not "${String(req.gvgId).slice(0, 40)}"`);
    const after = idCursor(req.afterId, 'afterId') ?? 0n;
    const limit = pageLimit(req.limit, 1000);
    const rows = await ctx.kv.list<GroupObject>(groupObjectPrefix(gvgId), { after: groupObjectKey(gvgId, after), limit });
    return { objects: rows.map(([, o]) => o) };
  },
  /** Project extension (JSON): swap-in reservations in progress. */
  '/insitu.virtualgroup.Query/SwapIns': async (ctx) => ({ swapIns: (await ctx.kv.list<SwapInRecord>('swapin/')).map(([, v]) => v) }),
};
