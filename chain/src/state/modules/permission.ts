// Policies and permission checks with Greenfield's evaluation order: public visibility grants
// reads; anonymous callers get nothing else; owners may do anything; an explicit deny on the
// bucket or the object wins; any allow grants; everything else is denied.

import { isAddress, type Hex } from '@insitu/protocol';
import { fail, emit, lower, nextId, type MsgHandler, type QueryTable, type MsgContext } from '../context.ts';
import type { KV } from '../store.ts';
import { toLong } from '../../gnfd.ts';
import { getBucket, getObject, effectiveVisibility, type BucketRecord, type ObjectRecord } from './storage-records.ts';
import { getGroupById, isGroupMember } from './group.ts';
import type { StatementRecord, PolicyRecord } from '@insitu/protocol/chain';
export type { StatementRecord, PolicyRecord };

export const Action = {
  UPDATE_BUCKET_INFO: 1, DELETE_BUCKET: 2, CREATE_OBJECT: 3, DELETE_OBJECT: 4, COPY_OBJECT: 5,
  GET_OBJECT: 6, EXECUTE_OBJECT: 7, LIST_OBJECT: 8, UPDATE_GROUP_MEMBER: 9, DELETE_GROUP: 10,
  UPDATE_OBJECT_INFO: 11, UPDATE_GROUP_EXTRA: 12, UPDATE_GROUP_INFO: 13, UPDATE_OBJECT_CONTENT: 14, ALL: 99,
} as const;
export const Effect = { UNSPECIFIED: 0, ALLOW: 1, DENY: 2 } as const;
export const PrincipalType = { ACCOUNT: 1, GROUP: 2 } as const;
export const Visibility = { UNSPECIFIED: 0, PUBLIC_READ: 1, PRIVATE: 2, INHERIT: 3 } as const;

const resourceKey = (bucket: string, object: string | null): string => (object === null ? `b/${bucket}` : `o/${bucket}\x00${object}`);
const policyKey = (bucket: string, object: string | null, principal: { type: number; value: string }): string =>
  `policy/${resourceKey(bucket, object)}/${principal.type}:${lower(principal.value)}`;

/** Parses a GRN: grn:b::bucket or grn:o::bucket/object. */
export function parseGrn(grn: string): { bucket: string; object: string | null } {
  const b = /^grn:b::([^/]+)$/.exec(grn);
  if (b) return { bucket: b[1]!, object: null };
  const o = /^grn:o::([^/]+)\/(.+)$/.exec(grn);
  if (o) return { bucket: o[1]!, object: o[2]! };
  return fail('ERR_INVALID_ARGUMENT', `unsupported resource "${grn}" (expected grn:b::bucket or grn:o::bucket/object)`);
}

const wildcard = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/**
 * Project extension: a statement may name job modules as resources, `grn:insitu:module::<sha256>`.
 * Such a statement applies only to running jobs (execute) whose module is one of those named,
 * so an owner can let listed code, and nothing else, compute over the data.
 */
export const MODULE_GRN = 'grn:insitu:module::';
/**
 * The output policy of an execute grant (project extension): `grn:insitu:output-max::<bytes>`
 * caps each job's output; `grn:insitu:output-ratio::<ppm>` caps it at that many bytes per million
 * bytes of input. Nodes run jobs with the cap and the chain refuses a settlement above it.
 */
export const OUTPUT_MAX_GRN = 'grn:insitu:output-max::';
export const OUTPUT_RATIO_GRN = 'grn:insitu:output-ratio::';
const isModuleGrn = (r: string): boolean => r.startsWith(MODULE_GRN);
const isOutputGrn = (r: string): boolean => r.startsWith(OUTPUT_MAX_GRN) || r.startsWith(OUTPUT_RATIO_GRN);
const isExtensionGrn = (r: string): boolean => isModuleGrn(r) || isOutputGrn(r);

/**
 * The most output the allowing statements of an execute grant let one job return over an input
 * of `inputSize` bytes: the most generous statement wins (any allow grants), null = no cap.
 */
export function outputCapOf(allowing: StatementRecord[], inputSize: bigint): bigint | null {
  let best: bigint | null = -1n;
  for (const s of allowing) {
    let cap: bigint | null = null;
    for (const r of s.resources) {
      const v = r.startsWith(OUTPUT_MAX_GRN) ? BigInt(r.slice(OUTPUT_MAX_GRN.length))
        : r.startsWith(OUTPUT_RATIO_GRN) ? (inputSize * BigInt(r.slice(OUTPUT_RATIO_GRN.length))) / 1_000_000n : null;
      if (v !== null) cap = cap === null || v < cap ? v : cap;
    }
    if (cap === null) return null;
    if (best !== null && cap > best) best = cap;
  }
  return best === -1n ? null : best;
}

/** allow / deny / none for one policy, as Greenfield's Policy.Eval. */
function evalPolicy(p: PolicyRecord, action: number, now: number, objectName: string | null, moduleHash: string | undefined, allowing?: StatementRecord[]): number {
  if (p.expiresAt !== null && p.expiresAt <= now) return Effect.UNSPECIFIED;
  let allow = false;
  const matched: StatementRecord[] = [];
  for (const s of p.statements) {
    if (s.expiresAt !== null && s.expiresAt <= now) continue;
    if (!s.actions.includes(action) && !s.actions.includes(Action.ALL)) continue;
    const modules = s.resources.filter(isModuleGrn);
    if (modules.length > 0 && (moduleHash === undefined || !modules.includes(`${MODULE_GRN}${moduleHash.toLowerCase()}`))) continue;
    const resources = s.resources.filter((r) => !isExtensionGrn(r));
    if (resources.length > 0 && objectName !== null && p.object === null) {
      const hit = resources.some((r) => {
        const m = /^grn:o::([^/]+)\/(.+)$/.exec(r);
        return m ? m[1] === p.bucket && wildcard(m[2]!, objectName) : r === `grn:b::${p.bucket}`;
      });
      if (!hit) continue;
    }
    if (s.effect === Effect.DENY) return Effect.DENY;
    if (s.effect === Effect.ALLOW) {
      allow = true;
      matched.push(s);
    }
  }
  allowing?.push(...matched);
  return allow ? Effect.ALLOW : Effect.UNSPECIFIED;
}

const READ_ACTIONS: number[] = [Action.GET_OBJECT, Action.COPY_OBJECT, Action.EXECUTE_OBJECT, Action.LIST_OBJECT];

/**
 * Greenfield's VerifyPolicy for one resource: the operator's own policy decides when it says
 * anything; otherwise the policies of groups the operator is an unexpired member of — a deny from
 * any of them wins, an allow from any allows.
 */
async function policyEffect(kv: KV, now: number, bucket: string, object: string | null, operator: string, action: number, objectName: string | null, moduleHash: string | undefined, allowing?: StatementRecord[]): Promise<number> {
  const own = await kv.get<PolicyRecord>(policyKey(bucket, object, { type: PrincipalType.ACCOUNT, value: operator }));
  if (own) {
    const e = evalPolicy(own, action, now, objectName, moduleHash, allowing);
    if (e !== Effect.UNSPECIFIED) return e;
  }
  let allowed = false;
  for (const [, p] of await kv.list<PolicyRecord>(`policy/${resourceKey(bucket, object)}/${PrincipalType.GROUP}:`)) {
    if (!(await isGroupMember(kv, BigInt(p.principal.value), operator, now))) continue;
    const e = evalPolicy(p, action, now, objectName, moduleHash, allowing);
    if (e === Effect.UNSPECIFIED) continue;
    if (e === Effect.DENY) return Effect.DENY;
    allowed = true;
  }
  return allowed ? Effect.ALLOW : Effect.UNSPECIFIED;
}

export async function verifyPermission(
  kv: KV, now: number, operator: string | null, bucket: BucketRecord, object: ObjectRecord | null, action: number,
  opts: { moduleHash?: string; allowing?: StatementRecord[] } = {},
): Promise<number> {
  const visibility = object ? effectiveVisibility(object, bucket) : bucket.visibility;
  if (visibility === Visibility.PUBLIC_READ && READ_ACTIONS.includes(action)) return Effect.ALLOW;
  if (!operator) return Effect.DENY;
  if (lower(operator) === lower(bucket.owner)) return Effect.ALLOW;
  let allowed = false;
  const onBucket = await policyEffect(kv, now, bucket.name, null, operator, action, object?.name ?? null, opts.moduleHash, opts.allowing);
  if (onBucket === Effect.DENY) return Effect.DENY;
  if (onBucket === Effect.ALLOW) allowed = true;
  if (object) {
    const onObject = await policyEffect(kv, now, bucket.name, object.name, operator, action, object.name, opts.moduleHash, opts.allowing);
    if (onObject === Effect.DENY) return Effect.DENY;
    if (onObject === Effect.ALLOW) allowed = true;
  }
  return allowed ? Effect.ALLOW : Effect.DENY;
}

export async function requirePermission(ctx: MsgContext, bucket: BucketRecord, object: ObjectRecord | null, action: number): Promise<void> {
  const effect = await verifyPermission(ctx.kv, ctx.now, ctx.signer, bucket, object, action);
  if (effect !== Effect.ALLOW) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not do action ${action} on ${bucket.name}${object ? `/${object.name}` : ''}`);
  }
}

const tsSeconds = (t: unknown): number | null => {
  if (!t || typeof t !== 'object') return null;
  const s = Number((t as { seconds?: { toString(): string } }).seconds?.toString() ?? 0);
  return s > 0 ? s * 1000 : null;
};

const msgPutPolicy: MsgHandler = async (ctx, msg) => {
  const { bucket: bucketName, object: objectName } = parseGrn(String(msg.resource));
  const bucket = await getBucket(ctx.kv, bucketName);
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${bucketName} not found`);
  let object: ObjectRecord | null = null;
  if (objectName !== null) {
    object = (await getObject(ctx.kv, bucketName, objectName)) ?? null;
    if (!object) fail('ERR_OBJECT_NOT_FOUND', `object ${bucketName}/${objectName} not found`);
  }
  if (lower(ctx.signer) !== lower(bucket.owner)) fail('ERR_PERMISSION_DENIED', 'only the owner may change policies');
  const principal = msg.principal as { type: number; value: string } | undefined;
  if (!principal || (principal.type !== PrincipalType.ACCOUNT && principal.type !== PrincipalType.GROUP)) fail('ERR_INVALID_ARGUMENT', 'a policy principal is an account or a group');
  if (principal!.type === PrincipalType.ACCOUNT && !isAddress(principal!.value)) fail('ERR_INVALID_ARGUMENT', `not an account address: ${principal!.value}`);
  if (principal!.type === PrincipalType.GROUP) {
    if (!/^\d+$/.test(String(principal!.value)) || !(await getGroupById(ctx.kv, BigInt(principal!.value)))) fail('ERR_NOT_FOUND', `no group ${String(principal!.value)}`);
  }
  const statements = ((msg.statements as Record<string, unknown>[]) ?? []).map((s): StatementRecord => ({
    effect: Number(s.effect),
    actions: ((s.actions as number[]) ?? []).map(Number),
    resources: ((s.resources as string[]) ?? []).map(String),
    expiresAt: tsSeconds(s.expirationTime),
  }));
  if (statements.length === 0) fail('ERR_INVALID_ARGUMENT', 'a policy needs at least one statement');
  for (const s of statements) {
    if (s.effect !== Effect.ALLOW && s.effect !== Effect.DENY) fail('ERR_INVALID_ARGUMENT', 'statement effect must be allow or deny');
    if (s.resources.length > 5) fail('ERR_INVALID_ARGUMENT', 'at most 5 resources per statement');
    for (const r of s.resources.filter(isModuleGrn)) {
      if (!/^[0-9a-f]{64}$/.test(r.slice(MODULE_GRN.length))) fail('ERR_INVALID_ARGUMENT', `module resource "${r}" must be ${MODULE_GRN}<sha256 hex>`);
    }
    for (const r of s.resources.filter(isOutputGrn)) {
      const v = r.startsWith(OUTPUT_MAX_GRN) ? r.slice(OUTPUT_MAX_GRN.length) : r.slice(OUTPUT_RATIO_GRN.length);
      if (!/^\d{1,18}$/.test(v)) fail('ERR_INVALID_ARGUMENT', `output policy resource "${r}" must end in a whole number`);
    }
  }
  const key = policyKey(bucketName, objectName, principal!);
  const existing = await ctx.kv.get<PolicyRecord>(key);
  const id = existing?.id ?? (await nextId(ctx.kv, 'policy'));
  const rec: PolicyRecord = {
    id,
    principal: { type: principal!.type, value: principal!.value },
    resourceType: objectName === null ? 'bucket' : 'object',
    bucket: bucketName,
    object: objectName,
    resourceId: objectName === null ? bucket.id : object!.id,
    statements,
    expiresAt: tsSeconds(msg.expirationTime),
  };
  ctx.kv.put(key, rec);
  ctx.kv.put(`policy-id/${id}`, key);
  if (principal!.type === PrincipalType.GROUP) ctx.kv.put(`group-policy/${BigInt(principal!.value).toString().padStart(20, '0')}/${id}`, key);
  emit(ctx, 'policy-put', { policy_id: id, bucket_name: bucketName, object_name: objectName ?? '', principal: principal!.value });
  return { policyId: id.toString() };
};

const msgDeletePolicy: MsgHandler = async (ctx, msg) => {
  const { bucket: bucketName, object: objectName } = parseGrn(String(msg.resource));
  const bucket = await getBucket(ctx.kv, bucketName);
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${bucketName} not found`);
  if (lower(ctx.signer) !== lower(bucket.owner)) fail('ERR_PERMISSION_DENIED', 'only the owner may change policies');
  const principal = msg.principal as { type: number; value: string };
  const key = policyKey(bucketName, objectName, principal);
  const existing = await ctx.kv.get<PolicyRecord>(key);
  if (!existing) fail('ERR_NOT_FOUND', 'no such policy');
  ctx.kv.del(key);
  ctx.kv.del(`policy-id/${existing!.id}`);
  emit(ctx, 'policy-deleted', { policy_id: existing!.id, bucket_name: bucketName, object_name: objectName ?? '' });
  return { policyId: existing!.id.toString() };
};

/** Policies attached to a bucket or object (used when the resource is deleted). */
export async function policiesOf(kv: KV, bucket: string, object: string | null): Promise<[string, PolicyRecord][]> {
  return kv.list<PolicyRecord>(`policy/${resourceKey(bucket, object)}/`);
}

/** Removes the policies of a deleted bucket or object, with their id index. */
export async function deletePoliciesOf(kv: KV, bucket: string, object: string | null): Promise<void> {
  for (const [k, p] of await policiesOf(kv, bucket, object)) {
    kv.del(k);
    kv.del(`policy-id/${p.id}`);
  }
}

export function policyResponse(p: PolicyRecord): Record<string, unknown> {
  return {
    id: p.id.toString(),
    principal: p.principal,
    resourceType: p.resourceType === 'bucket' ? 1 : 2,
    resourceId: p.resourceId.toString(),
    statements: p.statements.map((s) => ({
      effect: s.effect,
      actions: s.actions,
      resources: s.resources,
      ...(s.expiresAt ? { expirationTime: { seconds: toLong(Math.floor(s.expiresAt / 1000)), nanos: 0 } } : {}),
    })),
    ...(p.expiresAt ? { expirationTime: { seconds: toLong(Math.floor(p.expiresAt / 1000)), nanos: 0 } } : {}),
  };
}

export const permissionMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.storage.MsgPutPolicy': { handler: msgPutPolicy, signer: (m) => String(m.operator) },
  '/greenfield.storage.MsgDeletePolicy': { handler: msgDeletePolicy, signer: (m) => String(m.operator) },
};

export const permissionQueries: QueryTable = {
  '/greenfield.storage.Query/VerifyPermission': async (ctx, req) => {
    const bucket = await getBucket(ctx.kv, String(req.bucketName));
    if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(req.bucketName)} not found`);
    let object: ObjectRecord | null = null;
    if (req.objectName) {
      object = (await getObject(ctx.kv, bucket.name, String(req.objectName))) ?? null;
      if (!object) fail('ERR_OBJECT_NOT_FOUND', `object ${bucket.name}/${String(req.objectName)} not found`);
    }
    const operator = req.operator && isAddress(String(req.operator)) ? String(req.operator) : null;
    return { effect: await verifyPermission(ctx.kv, ctx.now, operator, bucket, object, Number(req.actionType)) };
  },
  '/greenfield.storage.Query/QueryPolicyForAccount': async (ctx, req) => {
    const { bucket, object } = parseGrn(String(req.resource));
    const p = await ctx.kv.get<PolicyRecord>(policyKey(bucket, object, { type: PrincipalType.ACCOUNT, value: String(req.principalAddress) }));
    if (!p) fail('ERR_NOT_FOUND', 'no policy for that account on that resource');
    return { policy: policyResponse(p!) };
  },
  '/greenfield.storage.Query/QueryPolicyById': async (ctx, req) => {
    const key = await ctx.kv.get<string>(`policy-id/${String(req.policyId)}`);
    const p = key ? await ctx.kv.get<PolicyRecord>(key) : undefined;
    if (!p) return fail('ERR_NOT_FOUND', `no policy ${String(req.policyId)}`);
    return { policy: policyResponse(p) };
  },
  /** Project extension (JSON): every policy on a bucket or object. */
  '/insitu.permission.Query/ListPolicies': async (ctx, req) => {
    const list = await policiesOf(ctx.kv, String(req.bucket), req.object ? String(req.object) : null);
    return { policies: list.map(([, p]) => p) };
  },
};

export type { Hex };
