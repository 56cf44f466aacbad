// Dataset runs: one escrow for a job over every object under a prefix. Opening a run lists the
// sealed objects under the prefix (one map each) and escrows, in one move from the submitter,
// each map's maximum fee, the fees of spare map attempts (retries elsewhere), the reduce's
// maximum fee and, under a data offer, the owner's data fee for every object (and spare); the
// submitter may add to it (retries past the spares). The run's maps and
// its reduce draw their fees from that escrow instead of the submitter's balance; what a job does
// not use (a settlement's change, a cancel, an overturned receipt) goes back to the run while it is
// open. The reduce — which must name one successful map of the run per object, in object order —
// is the run's result: its settlement ends the run and returns what is left to the submitter, as
// does the submitter closing it. Money held by a run sits in the compute escrow account, so the
// conservation sums see it. A run's object list is written once, beside the record that changes
// with every draw, and its jobs are an index, so a draw writes a few small keys however large the run.

import { sameAddress, type Hex } from '@insitu/protocol';
import type { DatasetRunInfo } from '@insitu/protocol/chain';
import { fail, emit, nextId, type MsgContext, type MsgHandler, type QueryTable } from '../../context.ts';
import type { KV } from '../../store.ts';
import { big } from '../../../gnfd.ts';
import { move } from '../bank.ts';
import { getBucket, objectKey, objectPrefix, type ObjectRecord } from '../storage-records.ts';
import { offerFor, dataFeeOf } from '../offers.ts';
import { COMPUTE_ESCROW, getJob, type JobRecord } from './records.ts';
import { MAX_GATHER_MAPS } from './gather.ts';

/** A run as the chain keeps it: its objects and jobs live under keys of their own (see the query). */
export type RunRecord = Omit<DatasetRunInfo, 'objects' | 'objectIds' | 'jobs'> & { objectCount: number; jobCount: number };

const pad = (n: bigint): string => n.toString().padStart(20, '0');
export const runKey = (id: bigint): string => `job-run/${pad(id)}`;
/** The run's objects in order, written once when it opens. */
const runObjectsKey = (id: bigint): string => `job-run-objects/${pad(id)}`;
/** Whether an object is one of the run's (its place in the order). */
const runObjectKey = (id: bigint, objectId: bigint): string => `job-run-object/${pad(id)}/${pad(objectId)}`;
/** The jobs that drew from the run, by id. */
const runJobKey = (id: bigint, jobId: bigint): string => `job-run-job/${pad(id)}/${pad(jobId)}`;
const runJobPrefix = (id: bigint): string => `job-run-job/${pad(id)}/`;
export const getRun = (kv: KV, id: bigint): Promise<RunRecord | undefined> => kv.get<RunRecord>(runKey(id));

const HASH = /^[0-9a-f]{64}$/;
const amount = (v: unknown, what: string): bigint => {
  const s = String(v ?? '0') || '0';
  if (!/^\d{1,40}$/.test(s)) fail('ERR_INVALID_ARGUMENT', `${what} must be a whole number of base units, not "${s.slice(0, 40)}"`);
  return BigInt(s);
};

/** The sealed objects under `prefix` (the SDK's own .insitu/ module objects left out), in name order. */
async function objectsUnder(kv: KV, bucket: string, prefix: string): Promise<ObjectRecord[]> {
  const out: ObjectRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await kv.list<ObjectRecord>(objectPrefix(bucket) + prefix, { limit: 256, ...(after ? { after } : {}) });
    for (const [, o] of page) {
      if (o.status !== 1 || o.name.startsWith('.insitu/')) continue;
      out.push(o);
      if (out.length > MAX_GATHER_MAPS) fail('ERR_INVALID_ARGUMENT', `a dataset run covers at most ${MAX_GATHER_MAPS} objects; ${bucket}/${prefix} has more`);
    }
    if (page.length < 256) return out;
    after = objectKey(bucket, page.at(-1)![1].name);
  }
}

const msgOpenRun: MsgHandler = async (ctx, msg) => {
  const bucketName = String(msg.bucketName ?? '');
  const bucket = await getBucket(ctx.kv, bucketName);
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${bucketName.slice(0, 64)} not found`);
  const prefix = String(msg.prefix ?? '');
  if (prefix.length > 1024) fail('ERR_INVALID_ARGUMENT', 'a run prefix is at most 1024 characters');
  const moduleHash = String(msg.moduleHash ?? '');
  if (!HASH.test(moduleHash)) fail('ERR_INVALID_ARGUMENT', 'moduleHash must be the SHA-256 of the map module, 64 hex digits');
  const reduceModuleHash = String(msg.reduceModuleHash ?? '');
  if (reduceModuleHash !== '' && !HASH.test(reduceModuleHash)) fail('ERR_INVALID_ARGUMENT', 'reduceModuleHash must be empty or the SHA-256 of the reduce module');
  const mapFee = amount(msg.mapFee, 'mapFee');
  if (mapFee <= 0n) fail('ERR_INVALID_ARGUMENT', 'mapFee must be positive');
  const reduceFee = amount(msg.reduceFee, 'reduceFee');
  if (reduceModuleHash !== '' && reduceFee <= 0n) fail('ERR_INVALID_ARGUMENT', 'a run with a reduce escrows a positive reduceFee');
  if (reduceModuleHash === '' && reduceFee !== 0n) fail('ERR_INVALID_ARGUMENT', 'a run without a reduce escrows no reduceFee');
  const spareMaps = Number(msg.spareMaps ?? 0);
  if (!Number.isInteger(spareMaps) || spareMaps < 0 || spareMaps > MAX_GATHER_MAPS) fail('ERR_INVALID_ARGUMENT', `spareMaps must be 0..${MAX_GATHER_MAPS}`);
  const objects = await objectsUnder(ctx.kv, bucket.name, prefix);
  if (objects.length === 0) fail('ERR_OBJECT_NOT_FOUND', `no sealed objects under ${bucket.name}/${prefix}`);
  const offerId = big(msg.offerId ?? 0);
  let dataFees = 0n;
  if (offerId !== 0n) {
    // Every object must be on offer to this buyer for this module; a retry reads its object again.
    let most = 0n;
    for (const o of objects) {
      const fee = dataFeeOf(await offerFor(ctx.kv, ctx.now, offerId, ctx.signer, bucket.name, o.name, moduleHash), o.payloadSize);
      dataFees += fee;
      if (fee > most) most = fee;
    }
    dataFees += most * BigInt(spareMaps);
  }
  const escrowed = mapFee * BigInt(objects.length + spareMaps) + reduceFee + dataFees;
  await move(ctx.kv, ctx.signer, COMPUTE_ESCROW, escrowed);
  const run: RunRecord = {
    id: await nextId(ctx.kv, 'run'), creator: ctx.signer as Hex, bucket: bucket.name, prefix, objectCount: objects.length,
    moduleHash, reduceModuleHash, mapFee, spareMaps, reduceFee, offerId, dataFees, escrowed, available: escrowed, jobCount: 0,
    resultJob: 0n, outputHash: '', exitState: '', status: 'open', refunded: 0n, openedAt: ctx.now, endedAt: 0,
  };
  ctx.kv.put(runKey(run.id), run);
  ctx.kv.put(runObjectsKey(run.id), { objects: objects.map((o) => o.name), objectIds: objects.map((o) => o.id) });
  for (const [i, o] of objects.entries()) ctx.kv.put(runObjectKey(run.id, o.id), i);
  emit(ctx, 'run-opened', { run_id: run.id, creator: run.creator, bucket_name: run.bucket, prefix, objects: objects.length, escrowed });
  return { runId: run.id.toString(), escrowed: escrowed.toString() };
};

/** The signer's open run `id`, or a refusal. */
async function ownOpenRun(ctx: MsgContext, id: bigint): Promise<RunRecord> {
  const run = await getRun(ctx.kv, id);
  if (!run) return fail('ERR_NOT_FOUND', `no dataset run ${id}`);
  if (!sameAddress(run.creator, ctx.signer)) fail('ERR_PERMISSION_DENIED', `dataset run ${id} belongs to ${run.creator}`);
  if (run.status !== 'open') fail('ERR_INVALID_ARGUMENT', `dataset run ${id} is ${run.status}`);
  return run;
}

const msgFundRun: MsgHandler = async (ctx, msg) => {
  const run = await ownOpenRun(ctx, big(msg.runId));
  const add = amount(msg.amount, 'amount');
  if (add <= 0n) fail('ERR_INVALID_ARGUMENT', 'amount must be positive');
  await move(ctx.kv, ctx.signer, COMPUTE_ESCROW, add);
  run.escrowed += add;
  run.available += add;
  ctx.kv.put(runKey(run.id), run);
  emit(ctx, 'run-funded', { run_id: run.id, amount: add, available: run.available });
  return {};
};

/** Ends `run`: what no job holds goes back to its submitter; jobs still holding fees refund to it directly from now on. */
async function endRun(ctx: MsgContext, run: RunRecord, status: 'done' | 'closed'): Promise<bigint> {
  const refund = run.available;
  await move(ctx.kv, COMPUTE_ESCROW, run.creator, refund);
  Object.assign(run, { status, available: 0n, refunded: run.refunded + refund, endedAt: ctx.now });
  ctx.kv.put(runKey(run.id), run);
  emit(ctx, 'run-ended', { run_id: run.id, status, refund, result_job: run.resultJob });
  return refund;
}

const msgCloseRun: MsgHandler = async (ctx, msg) => {
  const run = await ownOpenRun(ctx, big(msg.runId));
  return { refund: (await endRun(ctx, run, 'closed')).toString() };
};

export interface RunDraw {
  mode: JobRecord['mode'];
  objectId: bigint;
  moduleHash: string;
  offerId: bigint;
  mapJobs: bigint[];
  /** The job's maximum fee plus its data fee. */
  cost: bigint;
}

/**
 * Checks that a job belongs in the signer's open run `runId` and takes its fees from the run's
 * escrow: a map (or a parallel job's part) over one of the run's objects with the run's module
 * and offer, leaving the reduce's fee in place; or the reduce, naming one successful map of the
 * run per object in object order. Returns the run, for the caller to record the job in.
 */
export async function drawFromRun(ctx: MsgContext, runId: bigint, d: RunDraw): Promise<RunRecord> {
  const run = await ownOpenRun(ctx, runId);
  let reserve = 0n;
  if (d.mode === 'gather') {
    if (run.reduceModuleHash === '' || d.moduleHash !== run.reduceModuleHash) fail('ERR_INVALID_ARGUMENT', `dataset run ${runId} reduces with module ${run.reduceModuleHash ? `${run.reduceModuleHash.slice(0, 12)}…` : '(none)'}`);
    if (d.mapJobs.length !== run.objectCount) fail('ERR_INVALID_ARGUMENT', `the reduce of dataset run ${runId} names one map per object (${run.objectCount})`);
    const { objects, objectIds } = (await ctx.kv.get<{ objects: string[]; objectIds: bigint[] }>(runObjectsKey(run.id)))!;
    for (const [i, id] of d.mapJobs.entries()) {
      const m = await getJob(ctx.kv, id);
      if (!m || m.runId !== run.id || m.objectId !== objectIds[i]) fail('ERR_INVALID_ARGUMENT', `job ${id} is not a map of dataset run ${runId} over ${objects[i]}`);
    }
  } else {
    if (d.moduleHash !== run.moduleHash) fail('ERR_INVALID_ARGUMENT', `dataset run ${runId} maps with module ${run.moduleHash.slice(0, 12)}…`);
    if ((await ctx.kv.get<number>(runObjectKey(run.id, d.objectId))) === undefined) fail('ERR_INVALID_ARGUMENT', `the input is not one of the objects of dataset run ${runId}`);
    if (d.offerId !== run.offerId) fail('ERR_INVALID_ARGUMENT', `dataset run ${runId} runs ${run.offerId ? `under offer ${run.offerId}` : 'under no offer'}`);
    reserve = run.reduceFee;
  }
  if (run.available - d.cost < reserve) {
    fail('ERR_INSUFFICIENT_BALANCE', `dataset run ${runId} has ${run.available} left${reserve ? ` (${reserve} of it kept for the reduce)` : ''}; the job needs ${d.cost}: fund the run`);
  }
  run.available -= d.cost;
  return run;
}

/** Records job `id` as drawn from `run` (after drawFromRun). */
export function recordRunJob(kv: KV, run: RunRecord, id: bigint): void {
  run.jobCount++;
  kv.put(runKey(run.id), run);
  kv.put(runJobKey(run.id, id), true);
}

/**
 * Returns `amount` of `job`'s fees to whoever paid them: the job's run while it is open (back in
 * its pool for other jobs of the run), else the submitter. The money stays in or leaves the escrow
 * accordingly.
 */
export async function giveBack(kv: KV, job: JobRecord, value: bigint): Promise<void> {
  if (value <= 0n) return;
  const run = job.runId ? await getRun(kv, job.runId) : undefined;
  if (run && run.status === 'open') {
    run.available += value;
    kv.put(runKey(run.id), run);
    return;
  }
  await move(kv, COMPUTE_ESCROW, job.creator, value);
}

/** A settled reduce of a run is the run's result: the run ends and its unused escrow goes back. */
export async function finishRunWith(ctx: MsgContext, job: JobRecord): Promise<void> {
  if (!job.runId || job.mode !== 'gather') return;
  const run = await getRun(ctx.kv, job.runId);
  if (!run || run.status !== 'open') return;
  Object.assign(run, { resultJob: job.id, outputHash: job.outputHash, exitState: job.status === 'rejected' ? 'rejected' : job.exitState });
  await endRun(ctx, run, 'done');
}

export const runMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.compute.MsgOpenRun': { handler: msgOpenRun, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgFundRun': { handler: msgFundRun, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgCloseRun': { handler: msgCloseRun, signer: (m) => String(m.creator) },
};

export const runQueries: QueryTable = {
  /** Project extension (JSON): a dataset run with its jobs (maps, retries and reduce) and their receipts. */
  '/insitu.compute.Query/Run': async (ctx, req) => {
    if (!/^\d{1,20}$/.test(String(req.id ?? ''))) fail('ERR_INVALID_ARGUMENT', `a run id is a whole number, not "${String(req.id).slice(0, 40)}"`);
    const id = BigInt(String(req.id));
    const rec = await getRun(ctx.kv, id);
    if (!rec) return fail('ERR_NOT_FOUND', `no dataset run ${id}`);
    const { objects, objectIds } = (await ctx.kv.get<{ objects: string[]; objectIds: bigint[] }>(runObjectsKey(id)))!;
    const jobs: JobRecord[] = [];
    for (const [key] of await ctx.kv.list<boolean>(runJobPrefix(id))) {
      const j = await getJob(ctx.kv, BigInt(key.slice(runJobPrefix(id).length)));
      if (j) jobs.push(j);
    }
    const { objectCount: _o, jobCount: _j, ...rest } = rec;
    const run: DatasetRunInfo = { ...rest, objects, objectIds, jobs: jobs.map((j) => j.id) };
    return { run, jobs };
  },
};
