// Disputes over job receipts. Within a settled job's dispute window anyone may put up the bond
// and dispute it; the chain picks verifiers from block randomness among the other providers that
// hold the input (its group's primary and secondaries, not the executor), each re-runs the job
// (execution and fuel are deterministic) and posts its own signed receipt. A majority that
// disagrees on output hash, fuel or exit state overturns the receipt: the executor's deposit is
// slashed, the submitter gets the fee back, the verifiers that re-ran it and the disputer are paid
// from the slash and the bond returns. A majority that agrees upholds it: the bond goes to those
// verifiers and the executor. Per block, computeEndBlock pays out fees whose window has closed
// and decides disputes whose verifiers' deadline has passed.

import { createHash } from 'node:crypto';
import { sameAddress } from '@insitu/protocol';
import { parseReceipt, receiptsAgree, exitStateOf } from '@insitu/protocol';
import type { JobDispute } from '@insitu/protocol/chain';
import { fail, emit, type FeedEmit, type MsgContext, type MsgHandler } from '../../context.ts';
import type { KV } from '../../store.ts';
import { big } from '../../../gnfd.ts';
import { move } from '../bank.ts';
import { getProvider, getGvg, providerByOperator, isActive } from '../providers.ts';
import { getObjectById } from '../storage-records.ts';
import { COMPUTE_ESCROW, computeParams, disputeDueKey, getJob, releaseKey, saveJob, type JobRecord } from './records.ts';
import { checkReceipt } from './settle.ts';
import { payHeld, refundHeld, dataFeeHeld } from './held.ts';
import { slash } from '../stake.ts';

/** The block's randomness (its hash, the same on every validator), mixed with the job id. */
const seedFor = (blockSeed: Uint8Array, jobId: bigint): Buffer => createHash('sha256').update(blockSeed).update(`job-dispute/${jobId}`).digest();

/** Picks `n` of `candidates` (in id order) with a Fisher–Yates shuffle driven by `seed`. */
function pick(candidates: number[], n: number, seed: Buffer): number[] {
  const a = [...candidates].sort((x, y) => x - y);
  let h = seed;
  for (let i = a.length - 1; i > 0; i--) {
    h = createHash('sha256').update(h).digest();
    const j = Number(h.readBigUInt64BE(0) % BigInt(i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

export const msgDisputeJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await getJob(ctx.kv, id);
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  if (job.status !== 'settled' && job.status !== 'rejected') fail('ERR_INVALID_ARGUMENT', `job ${id} is ${job.status}: only settled jobs can be disputed`);
  const params = computeParams(ctx.genesis);
  const closes = job.settledAt + params.disputeWindowMs;
  if (ctx.now >= closes) fail('ERR_DISPUTE_CLOSED', `the dispute window of job ${id} closed at ${new Date(closes).toISOString()}`);
  if (job.dispute) fail('ERR_DISPUTE_CLOSED', `job ${id} is already disputed`);
  const executor = await getProvider(ctx.kv, job.executorSpId);
  if (executor && sameAddress(executor.operatorAddress, ctx.signer)) fail('ERR_INVALID_ARGUMENT', 'a provider does not dispute its own receipt');
  const input = await getObjectById(ctx.kv, job.objectId);
  const gvg = input ? await getGvg(ctx.kv, input.gvgId) : undefined;
  if (!gvg) return fail('ERR_OBJECT_NOT_FOUND', `the input of job ${id} is gone: nobody can re-run it`);
  const candidates: number[] = [];
  for (const spId of new Set([gvg.primarySpId, ...gvg.secondarySpIds])) {
    if (spId === job.executorSpId) continue;
    // Only admitted providers in service verify: a newly registered one takes no role.
    if (isActive(await getProvider(ctx.kv, spId))) candidates.push(spId);
  }
  if (candidates.length === 0) fail('ERR_PROVIDER_NOT_FOUND', `no other admitted provider in service holds the input of job ${id}`);
  const verifiers = pick(candidates, params.verifiers, seedFor(ctx.seed, id));
  const bond = BigInt(params.disputeBond);
  await move(ctx.kv, ctx.signer, COMPUTE_ESCROW, bond);
  const deadline = ctx.now + params.verifyWindowMs;
  const multiple = job.fee * BigInt(params.slashFeeMultiple);
  const slashWant = multiple > BigInt(params.slashMin) ? multiple : BigInt(params.slashMin);
  const dispute: JobDispute = { disputer: ctx.signer, bond, openedAt: ctx.now, deadline, verifiers, votes: [], outcome: 'open', slashWant, slashed: 0n };
  job.dispute = dispute;
  await saveJob(ctx.kv, job);
  ctx.kv.put(disputeDueKey(deadline, id), true);
  emit(ctx, 'job-disputed', { job_id: id, sp_id: job.executorSpId, disputer: ctx.signer, bond, verifiers: verifiers.join(','), deadline });
  return { bond: bond.toString(), verifiers: verifiers.map(String) };
};

export const msgVerifyJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await getJob(ctx.kv, id);
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  const d = job.dispute;
  if (!d || d.outcome !== 'open') return fail('ERR_DISPUTE_CLOSED', `job ${id} has no open dispute`);
  const sp = await providerByOperator(ctx.kv, ctx.signer);
  if (!sp || !d.verifiers.includes(sp.id)) return fail('ERR_PERMISSION_DENIED', `provider ${sp?.id ?? ctx.signer} is not a verifier of job ${id}`);
  if (d.votes.some((v) => v.spId === sp.id)) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} already posted its receipt of job ${id}`);
  if (ctx.now > d.deadline) fail('ERR_DISPUTE_CLOSED', `the verifiers' deadline of job ${id} has passed`);
  const r = await checkReceipt(ctx.kv, job, sp, msg.receipt, msg.receiptSignature);
  const agree = receiptsAgree(r, parseReceipt(job.receipt));
  d.votes.push({ spId: sp.id, agree, outputHash: r.outputHash, fuelUsed: BigInt(r.fuelUsed), exitState: exitStateOf(r), receipt: JSON.stringify(r), signature: String(msg.receiptSignature) });
  emit(ctx, 'job-verified', { job_id: id, sp_id: sp.id, agree: String(agree) });
  for (const e of await resolve(ctx.kv, job, ctx.now, false)) emit(ctx, e.type, e.attributes);
  await saveJob(ctx.kv, job);
  return { agree: String(agree), outcome: job.dispute!.outcome };
};

/** Pays out `total` equally to the funding addresses of `spIds`; returns what was paid. */
async function payProviders(kv: KV, spIds: number[], total: bigint): Promise<bigint> {
  if (spIds.length === 0 || total <= 0n) return 0n;
  const each = total / BigInt(spIds.length);
  for (const id of spIds) {
    const p = await getProvider(kv, id);
    if (p) await move(kv, COMPUTE_ESCROW, p.fundingAddress, each);
  }
  return each * BigInt(spIds.length);
}

/** Pays the held fee to the executor now, or schedules it for the end of the window. */
async function releaseOrSchedule(kv: KV, job: JobRecord, now: number): Promise<void> {
  if (job.releaseAt === 0) return;
  if (job.releaseAt > now) {
    kv.put(releaseKey(job.releaseAt, job.id), true);
    return;
  }
  await payHeld(kv, job);
  job.releaseAt = 0;
}

/**
 * Decides a dispute once a majority of its verifiers has spoken, or at its deadline on the
 * receipts posted by then; changes `job` (the caller saves it) and returns the feed events.
 */
async function resolve(kv: KV, job: JobRecord, now: number, atDeadline: boolean): Promise<FeedEmit[]> {
  const d = job.dispute!;
  const agree = d.votes.filter((v) => v.agree).map((v) => v.spId);
  const disagree = d.votes.filter((v) => !v.agree).map((v) => v.spId);
  const half = d.verifiers.length / 2;
  const wrong = disagree.length > half || (atDeadline && disagree.length > agree.length);
  const upheld = !wrong && (agree.length > half || (atDeadline && agree.length > disagree.length));
  if (!wrong && !upheld && !atDeadline) return [];
  kv.del(disputeDueKey(d.deadline, job.id));
  const executor = await getProvider(kv, job.executorSpId);
  const events: FeedEmit[] = [];
  if (wrong) {
    // The receipt was false: the submitter gets the fee back and the executor pays for the rest.
    if (job.releaseAt !== 0) {
      await refundHeld(kv, job);
      kv.del(releaseKey(job.releaseAt, job.id));
      job.releaseAt = 0;
    }
    // The providers' slash (it emits provider-slashed into `events`); the escrow then pays the wronged parties.
    const sink = { kv, signer: COMPUTE_ESCROW, height: 0n, now, txEvents: [], feed: events } as unknown as MsgContext;
    // A wall-clock stop is the one result re-execution cannot reproduce exactly: a receipt that
    // timed out is overturned (the fee goes back) but its provider is not slashed for it.
    const slashable = executor && job.exitState !== 'ERR_JOB_TIMEOUT';
    d.slashed = slashable ? await slash(sink, executor, d.slashWant, COMPUTE_ESCROW, `job ${job.id}: receipt overturned by a dispute`) : 0n;
    const toVerifiers = await payProviders(kv, disagree, d.slashed / 2n);
    await move(kv, COMPUTE_ESCROW, d.disputer, d.bond + d.slashed - toVerifiers);
    d.outcome = 'receipt-wrong';
    job.status = 'overturned';
  } else if (upheld) {
    const toVerifiers = await payProviders(kv, agree, d.bond / 2n);
    if (executor) await move(kv, COMPUTE_ESCROW, executor.fundingAddress, d.bond - toVerifiers);
    else await move(kv, COMPUTE_ESCROW, d.disputer, d.bond - toVerifiers);
    d.outcome = 'receipt-upheld';
    await releaseOrSchedule(kv, job, now);
  } else {
    await move(kv, COMPUTE_ESCROW, d.disputer, d.bond);
    d.outcome = 'inconclusive';
    await releaseOrSchedule(kv, job, now);
  }
  return [...events, { type: 'job-dispute-resolved', attributes: { job_id: String(job.id), sp_id: String(job.executorSpId), outcome: d.outcome, slashed: String(d.slashed), agree: String(agree.length), disagree: String(disagree.length) } }];
}

/**
 * Per-block work (run beside the payment module's settleDue): fees whose dispute window has
 * closed go to their providers, and disputes whose verifiers' deadline has passed are decided.
 */
export async function computeEndBlock({ kv, now }: { kv: KV; now: number }): Promise<FeedEmit[]> {
  const events: FeedEmit[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const [first] = await kv.list<boolean>('job-dispute-due/', { limit: 1 });
    if (!first || Number(first[0].split('/')[1]) > now) break;
    kv.del(first[0]);
    const job = await getJob(kv, BigInt(first[0].split('/')[2]!));
    if (!job?.dispute || job.dispute.outcome !== 'open') continue;
    events.push(...(await resolve(kv, job, now, true)));
    await saveJob(kv, job);
  }
  for (let guard = 0; guard < 1000; guard++) {
    const [first] = await kv.list<boolean>('job-release/', { limit: 1 });
    if (!first || Number(first[0].split('/')[1]) > now) break;
    kv.del(first[0]);
    const job = await getJob(kv, BigInt(first[0].split('/')[2]!));
    // An open dispute holds the fee; its resolution pays or returns it.
    if (!job || job.releaseAt === 0 || job.dispute?.outcome === 'open') continue;
    if (!(await payHeld(kv, job))) continue;
    job.releaseAt = 0;
    await saveJob(kv, job);
    events.push({ type: 'job-fee-released', attributes: { job_id: String(job.id), sp_id: String(job.executorSpId), fee: String(job.fee), data_fee: String(dataFeeHeld(job)) } });
  }
  return events;
}
