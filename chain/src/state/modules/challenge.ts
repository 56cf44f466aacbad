// Storage challenges, as Greenfield's challenge module: the chain picks, from block randomness, a
// provider, one of its objects, the piece index it holds and a segment, once per interval (and on
// anyone's request, for a fee). Challengers — admitted providers the chain chooses, standing in
// for Greenfield's validators — fetch the piece and its hash list from the challenged node, check
// them against the object's checksum on chain and attest; a majority decides. A failed or missing
// answer slashes the provider's deposit (Greenfield's size-based amount, clamped, capped per
// window), pays the challengers (and the requester), and marks the piece for repair. A passed
// challenge may also complete a swap-in waiting for proof that the successor holds the data.

import { createHash } from 'node:crypto';
import type { Hex } from '@insitu/protocol';
import { move } from './bank.ts';
import { fail, emit, nextId, type MsgContext, type MsgHandler, type QueryTable } from '../context.ts';
import type { KV } from '../store.ts';
import { pageLimit } from '../paging.ts';
import { accountabilityOf } from '../../genesis.ts';
import { getGvg, getProvider, listProviders, providerByOperator, isActive, STATUS_IN_SERVICE, type ProviderRecord } from './providers.ts';
import { getBucket, getObject, getObjectById, type ObjectRecord } from './storage-records.ts';
import { slash } from './stake.ts';
import { challengeInfo, type ChallengeStatus, type ChallengeRecord } from '@insitu/protocol/chain';
export type { ChallengeStatus, ChallengeRecord };

/** Fees of requested challenges wait here until the challenge is decided. */
export const CHALLENGE_ESCROW = '0x00000000000000000000000000000000c4a11e00' as Hex;

const pad = (n: number): string => String(n).padStart(12, '0');
const key = (id: number): string => `challenge/${pad(id)}`;
/** Open challenges by expiry (what the per-block work lapses) and by challenger (what each must check). */
const expiryKey = (c: ChallengeRecord): string => `challenge-expiry/${String(c.expiresAt).padStart(16, '0')}/${pad(c.id)}`;
const checkerKey = (spId: number, id: number): string => `challenge-for/${String(spId).padStart(10, '0')}/${pad(id)}`;
const checkerPrefix = (spId: number): string => `challenge-for/${String(spId).padStart(10, '0')}/`;

/** A challenge is no longer open: out of the open indexes. */
function closeIndexes(kv: KV, c: ChallengeRecord): void {
  kv.del(`challenge-open/${pad(c.id)}`);
  kv.del(expiryKey(c));
  for (const sp of c.challengers) kv.del(checkerKey(sp, c.id));
}

/** Deterministic draws from a block seed: the n-th value below `below`. */
export function drawer(seed: Uint8Array, label: string): (below: number) => number {
  let n = 0;
  return (below: number): number => {
    if (below <= 0) return 0;
    const h = createHash('sha256').update(seed).update(label).update(String(n++)).digest();
    return Number(h.readBigUInt64BE(0) % BigInt(below));
  };
}

/** The block's seed: previous block hash and height (set by the app; derived from height otherwise). */
export const seedOf = (ctx: MsgContext): Uint8Array =>
  (ctx as MsgContext & { seed?: Uint8Array }).seed ?? createHash('sha256').update(`insitu-seed/${ctx.height}`).digest();

export const getChallenge = (kv: KV, id: number): Promise<ChallengeRecord | undefined> => kv.get<ChallengeRecord>(key(id));

/** Greenfield's slash: ceil(size / GiB) × slashPerGiB, clamped to [slashMin, slashMax]. */
export function slashAmount(size: bigint, p: ReturnType<typeof accountabilityOf>): bigint {
  const gib = (size + 1024n ** 3n - 1n) / 1024n ** 3n;
  let amount = (gib === 0n ? 1n : gib) * BigInt(p.slashPerGiB);
  if (amount < BigInt(p.slashMin)) amount = BigInt(p.slashMin);
  if (amount > BigInt(p.slashMax)) amount = BigInt(p.slashMax);
  return amount;
}

const segmentsOf = (ctx: MsgContext, size: bigint): number => Number((size + BigInt(ctx.genesis.params.maxSegmentSize) - 1n) / BigInt(ctx.genesis.params.maxSegmentSize));

/** The provider holding index `idx` of a sealed object (the group's primary for -1). */
export async function holderOf(kv: KV, obj: ObjectRecord, idx: number): Promise<number | undefined> {
  const g = await getGvg(kv, obj.gvgId);
  if (!g) return undefined;
  return idx === -1 ? g.primarySpId : g.secondarySpIds[idx];
}

/**
 * Issues one challenge. Challengers are admitted in-service providers other than the challenged
 * one (and those in `exclude`), drawn from the block seed.
 */
export async function issueChallenge(ctx: MsgContext, c: { spId: number; obj: ObjectRecord; redundancyIndex: number; segment?: number; submitter?: Hex; fee?: bigint; swapKey?: string; exclude?: number[] }): Promise<ChallengeRecord> {
  const p = accountabilityOf(ctx.genesis);
  const id = Number(await nextId(ctx.kv, 'challenge'));
  const draw = drawer(seedOf(ctx), `challenge/${id}`);
  const pool = (await listProviders(ctx.kv)).filter((sp) => isActive(sp) && sp.id !== c.spId && !(c.exclude ?? []).includes(sp.id)).map((sp) => sp.id);
  const challengers: number[] = [];
  while (challengers.length < p.challengersPerChallenge && pool.length > 0) challengers.push(pool.splice(draw(pool.length), 1)[0]!);
  if (challengers.length === 0) fail('ERR_INVALID_ARGUMENT', 'no admitted provider is available to check a challenge');
  const rec: ChallengeRecord = {
    id, spId: c.spId, objectId: c.obj.id, redundancyIndex: c.redundancyIndex,
    segment: c.segment ?? draw(segmentsOf(ctx, c.obj.payloadSize)),
    challengers: challengers.sort((a, b) => a - b), issuedAt: ctx.now, expiresAt: ctx.now + p.challengeExpiryMs,
    status: 'open', votes: {},
    ...(c.submitter ? { submitter: c.submitter, fee: c.fee ?? 0n } : {}),
    ...(c.swapKey ? { swapKey: c.swapKey } : {}),
  };
  ctx.kv.put(key(id), rec);
  ctx.kv.put(`challenge-open/${pad(id)}`, id);
  ctx.kv.put(expiryKey(rec), id);
  for (const sp of rec.challengers) ctx.kv.put(checkerKey(sp, id), id);
  ctx.kv.put(`challenge-sp/${c.spId}/${pad(id)}`, id);
  emit(ctx, 'challenge-issued', {
    challenge_id: id, sp_id: c.spId, object_id: c.obj.id, redundancy_index: c.redundancyIndex, segment: rec.segment,
    challengers: rec.challengers.join(','), ...(c.swapKey ? { swap: c.swapKey } : {}),
  });
  return rec;
}

/** Called when a challenge is decided; recovery.ts completes or drops the swap-in it gates. */
type SwapHook = (ctx: MsgContext, c: ChallengeRecord) => Promise<void>;
const swapHooks: SwapHook[] = [];
export const onSwapChallengeDecided = (hook: SwapHook): void => {
  swapHooks.push(hook);
};

async function decide(ctx: MsgContext, c: ChallengeRecord, passed: boolean): Promise<void> {
  const p = accountabilityOf(ctx.genesis);
  c.status = passed ? 'passed' : 'failed';
  closeIndexes(ctx.kv, c);
  const majority = Object.entries(c.votes).filter(([, v]) => v === passed).map(([id]) => Number(id)).sort((a, b) => a - b);
  const voters = (await Promise.all(majority.map((id) => getProvider(ctx.kv, id)))).filter((x): x is ProviderRecord => !!x).map((x) => x.fundingAddress);
  const fee = c.fee ?? 0n;
  if (passed) {
    // The requester pays for the checking; the challengers who checked are paid.
    if (fee > 0n) await payShares(ctx, fee, voters);
  } else {
    const sp = (await getProvider(ctx.kv, c.spId))!;
    const obj = await getObjectById(ctx.kv, c.objectId);
    let amount = slashAmount(obj?.payloadSize ?? 0n, p);
    // Greenfield's per-provider cap per window (the first slash in a window is not checked).
    const win = (await ctx.kv.get<{ start: number; total: bigint }>(`slash-window/${c.spId}`)) ?? { start: ctx.now, total: 0n };
    if (ctx.now - win.start >= p.slashWindowMs) Object.assign(win, { start: ctx.now, total: 0n });
    if (win.total > 0n && win.total + amount > BigInt(p.slashMaxPerWindow)) amount = 0n;
    // Requested: the requester gets its fee back and a tenth; the challengers the rest. Random: the challengers all.
    let toRequester = 0n;
    const held = BigInt(sp.deposit ?? '0');
    const taken = amount > held ? held : amount;
    if (c.submitter) toRequester = taken / 10n;
    let slashed = 0n;
    if (toRequester > 0n) slashed += await slash(ctx, sp, toRequester, c.submitter!, `challenge ${c.id}`);
    if (voters.length > 0) slashed += await slash(ctx, sp, taken - toRequester, voters, `challenge ${c.id}`);
    else if (c.submitter) slashed += await slash(ctx, sp, taken - toRequester, c.submitter, `challenge ${c.id}`);
    if (fee > 0n) await move(ctx.kv, CHALLENGE_ESCROW, c.submitter!, fee);
    win.total += slashed;
    ctx.kv.put(`slash-window/${c.spId}`, win);
    ctx.kv.put(`slash-cool/${c.spId}/${c.objectId}`, ctx.now + p.slashCoolingOffMs);
    c.slashed = slashed;
  }
  ctx.kv.put(key(c.id), c);
  emit(ctx, passed ? 'challenge-passed' : 'challenge-failed', {
    challenge_id: c.id, sp_id: c.spId, object_id: c.objectId, redundancy_index: c.redundancyIndex, slashed: c.slashed ?? 0n,
  });
  if (c.swapKey) for (const h of swapHooks) await h(ctx, c);
}

async function payShares(ctx: MsgContext, amount: bigint, to: Hex[]): Promise<void> {
  if (to.length === 0) return;
  const share = amount / BigInt(to.length);
  for (let i = 0; i < to.length; i++) await move(ctx.kv, CHALLENGE_ESCROW, to[i]!, share + (i === 0 ? amount - share * BigInt(to.length) : 0n));
}

/**
 * Greenfield's MsgAttest, one challenger at a time: each chosen challenger signs its own verdict
 * (the transaction's signature is its attestation); the first side to reach a majority of the
 * chosen challengers decides. voteResult follows Greenfield: 0 CHALLENGE_SUCCEED (the provider
 * failed), 1 CHALLENGE_FAILED (the provider answered correctly).
 */
const msgAttest: MsgHandler = async (ctx, msg) => {
  const sp = await providerByOperator(ctx.kv, String(msg.submitter));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.submitter)}`);
  const c = await getChallenge(ctx.kv, Number(String(msg.challengeId)));
  if (!c) return fail('ERR_NOT_FOUND', `no challenge ${String(msg.challengeId)}`);
  if (!c.challengers.includes(sp.id)) fail('ERR_PERMISSION_DENIED', `provider ${sp.id} is not a challenger of challenge ${c.id}`);
  if (c.status !== 'open' || ctx.now > c.expiresAt) fail('ERR_INVALID_ARGUMENT', `challenge ${c.id} is ${c.status === 'open' ? 'expired' : c.status}`);
  if (String(sp.id) in c.votes) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} has already attested challenge ${c.id}`);
  const vote = Number(msg.voteResult);
  if (vote !== 0 && vote !== 1) fail('ERR_INVALID_ARGUMENT', 'voteResult is 0 (the provider failed) or 1 (it answered correctly)');
  c.votes[String(sp.id)] = vote === 1;
  ctx.kv.put(key(c.id), c);
  emit(ctx, 'challenge-attested', { challenge_id: c.id, challenger_sp_id: sp.id, passed: String(vote === 1) });
  const need = Math.floor(c.challengers.length / 2) + 1;
  const yes = Object.values(c.votes).filter((v) => v).length;
  const no = Object.values(c.votes).length - yes;
  if (yes >= need) await decide(ctx, c, true);
  else if (no >= need) await decide(ctx, c, false);
  return { status: c.status };
};

/**
 * Greenfield's MsgSubmit: anyone asks for a challenge of a provider over an object it holds, paying
 * the challenge fee (returned, with a share of the slash, if the provider fails).
 */
const msgSubmit: MsgHandler = async (ctx, msg) => {
  const p = accountabilityOf(ctx.genesis);
  const sp = await providerByOperator(ctx.kv, String(msg.spOperatorAddress));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.spOperatorAddress)}`);
  const obj = await getObject(ctx.kv, String(msg.bucketName), String(msg.objectName));
  if (!obj) return fail('ERR_OBJECT_NOT_FOUND', `no object ${String(msg.bucketName)}/${String(msg.objectName)}`);
  if (obj.status !== 1 || obj.payloadSize === 0n) fail('ERR_OBJECT_NOT_SEALED', 'only sealed, non-empty objects are challenged');
  const g = await getGvg(ctx.kv, obj.gvgId);
  const idx = g?.primarySpId === sp.id ? -1 : (g?.secondarySpIds.indexOf(sp.id) ?? -1);
  if (!g || (idx === -1 && g.primarySpId !== sp.id)) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} does not hold ${obj.bucket}/${obj.name}`);
  const segments = segmentsOf(ctx, obj.payloadSize);
  const random = msg.randomIndex === true || String(msg.randomIndex) === 'true' || Number(msg.randomIndex) === 1;
  const segment = random ? undefined : Number(msg.segmentIndex ?? 0);
  if (segment !== undefined && (!Number.isInteger(segment) || segment < 0 || segment >= segments)) fail('ERR_INVALID_RANGE', `${obj.bucket}/${obj.name} has segments 0..${segments - 1}`);
  const fee = BigInt(p.challengeFee);
  await move(ctx.kv, ctx.signer, CHALLENGE_ESCROW, fee);
  const c = await issueChallenge(ctx, { spId: sp.id, obj, redundancyIndex: idx, ...(segment !== undefined ? { segment } : {}), submitter: ctx.signer, fee });
  return { challengeId: c.id };
};

export const challengeMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.challenge.MsgSubmit': { handler: msgSubmit, signer: (m) => String(m.challenger) },
  '/greenfield.challenge.MsgAttest': { handler: msgAttest, signer: (m) => String(m.submitter) },
};

export const challengeQueries: QueryTable = {
  /** Project extension (JSON): one challenge. */
  '/insitu.challenge.Query/Challenge': async (ctx, req) => {
    const c = await getChallenge(ctx.kv, Number(req.id));
    if (!c) return fail('ERR_NOT_FOUND', `no challenge ${String(req.id)}`);
    return { challenge: challengeInfo(c) };
  },
  /**
   * Project extension (JSON): open challenges a provider must check (`challenger`), and the
   * challenges against a provider after an id (`spId`, `afterId`), for it to repair what failed.
   */
  '/insitu.challenge.Query/Challenges': async (ctx, req) => {
    const out: ChallengeRecord[] = [];
    const limit = pageLimit(req.limit, 100, 500);
    if (req.challenger !== undefined) {
      const me = Number(req.challenger);
      for (const [, id] of await ctx.kv.list<number>(checkerPrefix(me))) {
        const c = (await getChallenge(ctx.kv, id))!;
        if (c.challengers.includes(me) && !(String(me) in c.votes) && ctx.now <= c.expiresAt) out.push(c);
      }
    } else {
      const after = `challenge-sp/${Number(req.spId)}/${pad(Number(req.afterId ?? 0))}`;
      for (const [, id] of await ctx.kv.list<number>(`challenge-sp/${Number(req.spId)}/`, { after, limit })) out.push((await getChallenge(ctx.kv, id))!);
    }
    return { challenges: out.slice(0, limit).map(challengeInfo) };
  },
};

/**
 * Per-block work of the challenge module: open challenges past their expiry lapse, and once per
 * interval the chain issues random challenges from the block seed (Greenfield's EndBlocker).
 */
export async function challengeEndBlock(ctx: MsgContext): Promise<void> {
  const p = accountabilityOf(ctx.genesis);
  // In expiry order through the expiry index: the work is the challenges that lapse, not all open ones.
  for (;;) {
    const [first] = await ctx.kv.list<number>('challenge-expiry/', { limit: 1 });
    if (!first || Number(first[0].split('/')[1]) >= ctx.now) break;
    const c = (await getChallenge(ctx.kv, first[1]))!;
    closeIndexes(ctx.kv, c);
    c.status = 'expired';
    ctx.kv.put(key(c.id), c);
    // Nobody decided: the requester's fee goes back.
    if (c.submitter && (c.fee ?? 0n) > 0n) await move(ctx.kv, CHALLENGE_ESCROW, c.submitter, c.fee!);
    emit(ctx, 'challenge-expired', { challenge_id: c.id, sp_id: c.spId });
    if (c.swapKey) for (const h of swapHooks) await h(ctx, c);
  }
  if (p.challengeIntervalMs <= 0) return;
  const last = (await ctx.kv.get<number>('meta/challenge-at')) ?? 0;
  if (ctx.now - last < p.challengeIntervalMs) return;
  ctx.kv.put('meta/challenge-at', ctx.now);
  const maxId = Number((await ctx.kv.get<bigint>('meta/object')) ?? 0n);
  if (maxId === 0) return;
  const draw = drawer(seedOf(ctx), `random-challenges/${ctx.now}`);
  const slots = ctx.genesis.params.redundantDataChunkNum + ctx.genesis.params.redundantParityChunkNum + 1;
  for (let n = 0; n < p.challengesPerInterval; n++) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const obj = await getObjectById(ctx.kv, BigInt(1 + draw(maxId)));
      if (!obj || obj.status !== 1 || obj.payloadSize === 0n) continue;
      const idx = draw(slots) - 1;
      const spId = await holderOf(ctx.kv, obj, idx);
      const sp = spId === undefined ? undefined : await getProvider(ctx.kv, spId);
      if (!sp || sp.status !== STATUS_IN_SERVICE || sp.admitted === false) continue;
      if (((await ctx.kv.get<number>(`slash-cool/${sp.id}/${obj.id}`)) ?? 0) > ctx.now) continue;
      if (!(await getBucket(ctx.kv, obj.bucket))) continue;
      try {
        await issueChallenge(ctx, { spId: sp.id, obj, redundancyIndex: idx });
      } catch {
        // No challenger available: nothing to issue this interval.
      }
      break;
    }
  }
}
