// Compute: jobs over stored objects, paid through escrow. Submitting escrows the submitter's
// maximum fee and fixes what decides the result (module, input, arguments, fuel, memory, the
// output cap from the owner's output policy); the executor acknowledges the job when it starts it
// and settles it with its signed receipt (compute/settle.ts); the fee is held for a dispute
// window in which anyone may have the job re-run by other providers (compute/dispute.ts). The
// market around it: data offers (offers.ts) as a job's permission and price, the executor chosen
// among the input's holders (compute/executor.ts), reassignment and compute prices
// (compute/market.ts), datasets' reduces (compute/gather.ts) and one escrow for a whole dataset run
// (compute/runs.ts), recorded outputs (compute/provenance.ts).

import { isAddress, sameAddress } from '@insitu/protocol';
import { fail, emit, nextId, type MsgHandler, type QueryTable } from '../context.ts';
import { big } from '../../gnfd.ts';
import { move } from './bank.ts';
import { getBucket, getObject } from './storage-records.ts';
import { offerFor, dataFeeOf, offerMsgs, offerQueries } from './offers.ts';
import { candidatesOf, chooseExecutor } from './compute/executor.ts';
import { dataFeeHeld } from './compute/held.ts';
import { gatherCap } from './compute/gather.ts';
import { msgReassignJob, msgSetComputePrice, marketQueries } from './compute/market.ts';
import { msgRecordOutput, provenanceQueries } from './compute/provenance.ts';
import { Action, Effect, verifyPermission, outputCapOf, type StatementRecord } from './permission.ts';
import { requireNotFrozen } from './payment/index.ts';
import { COMPUTE_ESCROW, computeParams, jobKey, saveJob, creatorJobPrefix, creatorJobKey, executorJobPrefix, executorJobKey, type JobRecord } from './compute/records.ts';
import { pageLimit, idCursor } from '../paging.ts';
import { msgAckJob, msgSettleJob } from './compute/settle.ts';
import { msgDisputeJob, msgVerifyJob } from './compute/dispute.ts';
import { drawFromRun, recordRunJob, giveBack, runMsgs, runQueries } from './compute/runs.ts';

export { COMPUTE_ESCROW, type JobRecord };
export { computeEndBlock } from './compute/dispute.ts';

/** Side inputs are small objects: they are handed to the job whole. */
export const MAX_SIDE_INPUT = 16 * 1024 * 1024;

/** Memory cap of a job whose submitter names none (MiB). */
export const DEFAULT_JOB_MEMORY_MIB = 256;

const msgSubmitJob: MsgHandler = async (ctx, msg) => {
  const bucket = await getBucket(ctx.kv, String(msg.bucketName));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(msg.bucketName)} not found`);
  const input = await getObject(ctx.kv, bucket.name, String(msg.objectName));
  if (!input) return fail('ERR_OBJECT_NOT_FOUND', `object ${bucket.name}/${String(msg.objectName)} not found`);
  if (input.status !== 1) fail('ERR_OBJECT_NOT_SEALED', `${bucket.name}/${input.name} is not sealed`);
  await requireNotFrozen(ctx.kv, bucket.paymentAddress, `bucket ${bucket.name}`);
  const moduleHash = String(msg.moduleHash);
  if (!/^[0-9a-f]{64}$/.test(moduleHash)) fail('ERR_INVALID_ARGUMENT', 'moduleHash must be the SHA-256 of the module, 64 hex digits');
  const allowing: StatementRecord[] = [];
  // Under a data offer the offer is the permission (and its price and output cap the terms).
  const offerId = big(msg.offerId ?? 0);
  const offer = offerId !== 0n ? await offerFor(ctx.kv, ctx.now, offerId, ctx.signer, bucket.name, input.name, moduleHash) : null;
  if (offer && msg.mode) fail('ERR_INVALID_ARGUMENT', 'a job under a data offer runs over whole objects (no map or reduce)');
  // A dataset's reduce reads only its maps' outputs: the maps' permissions were checked (gather.ts).
  const gather = msg.mode === 'gather';
  if (!offer && !gather && (await verifyPermission(ctx.kv, ctx.now, ctx.signer, bucket, input, Action.EXECUTE_OBJECT, { moduleHash, allowing })) !== Effect.ALLOW) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not run module ${moduleHash.slice(0, 12)}… over ${bucket.name}/${input.name}`);
  }
  const moduleBucket = await getBucket(ctx.kv, String(msg.moduleBucket));
  const module = moduleBucket ? await getObject(ctx.kv, moduleBucket.name, String(msg.moduleObject)) : undefined;
  if (!moduleBucket || !module) return fail('ERR_OBJECT_NOT_FOUND', `module ${String(msg.moduleBucket)}/${String(msg.moduleObject)} not found`);
  if (module.status !== 1) fail('ERR_OBJECT_NOT_SEALED', 'the module object is not sealed');
  if ((await verifyPermission(ctx.kv, ctx.now, ctx.signer, moduleBucket, module, Action.GET_OBJECT)) !== Effect.ALLOW) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not read the module ${moduleBucket.name}/${module.name}`);
  }
  const feeText = String(msg.maxFee ?? '');
  if (!/^\d{1,40}$/.test(feeText)) fail('ERR_INVALID_ARGUMENT', `maxFee must be a whole number of base units, not "${feeText.slice(0, 40)}"`);
  const maxFee = BigInt(feeText);
  if (maxFee <= 0n) fail('ERR_INVALID_ARGUMENT', 'maxFee must be positive');
  const fuelLimit = big(msg.fuelLimit);
  if (fuelLimit <= 0n) fail('ERR_INVALID_ARGUMENT', 'fuelLimit must be positive');
  const maxPriceText = String(msg.maxComputePrice ?? '');
  if (maxPriceText !== '' && !/^\d{1,40}$/.test(maxPriceText)) fail('ERR_INVALID_ARGUMENT', `maxComputePrice must be a whole number of base units, not "${maxPriceText.slice(0, 40)}"`);
  const choice = String(msg.executorChoice ?? '');
  if (choice !== '' && choice !== 'cheapest') fail('ERR_INVALID_ARGUMENT', `executorChoice is "cheapest" or empty, not "${choice.slice(0, 20)}"`);
  const chosen = await chooseExecutor(ctx.kv, await candidatesOf(ctx.kv, bucket.primarySpId, input.gvgId), {
    named: Number(msg.executorSpId || 0), maxPrice: maxPriceText === '' ? null : BigInt(maxPriceText), cheapest: choice === 'cheapest', exclude: [],
  });
  const executorSpId = chosen.spId;
  const args = ((msg.args as string[]) ?? []).map(String);
  if (args.length > 64 || args.some((a) => a.length > 4096)) fail('ERR_INVALID_ARGUMENT', 'at most 64 arguments of at most 4096 characters');
  const params = computeParams(ctx.genesis);
  const requested = big(msg.maxOutputBytes ?? 0);
  // The owner's output policy (from the statements that allowed this run) bounds what the submitter asks for.
  const caps: bigint[] = [requested > 0n ? requested : BigInt(params.defaultOutputBytes)];
  // A map's output goes to the providers that reduce, never to the submitter: the reduce's cap bounds what leaves.
  const policyCap = msg.mode === 'map' || gather ? null : outputCapOf(allowing, input.payloadSize);
  if (policyCap !== null) caps.push(policyCap);
  if (offer) caps.push(offer.maxOutputBytes);
  const memoryMiB = Number(msg.memoryMib ?? 0) || DEFAULT_JOB_MEMORY_MIB;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > 32768) fail('ERR_INVALID_ARGUMENT', 'memoryMib must be 1..32768');
  const sideInputs = ((msg.sideInputs as string[]) ?? []).map(String);
  if (sideInputs.length > 8) fail('ERR_INVALID_ARGUMENT', 'at most 8 side inputs');
  for (const ref of sideInputs) {
    const at = ref.indexOf('/');
    const sb = at > 0 ? await getBucket(ctx.kv, ref.slice(0, at)) : undefined;
    const so = sb ? await getObject(ctx.kv, sb.name, ref.slice(at + 1)) : undefined;
    if (!sb || !so || so.status !== 1) return fail('ERR_OBJECT_NOT_FOUND', `side input ${ref} is not a sealed object`);
    if (so.payloadSize > BigInt(MAX_SIDE_INPUT)) fail('ERR_PAYLOAD_TOO_LARGE', `side input ${ref} is larger than ${MAX_SIDE_INPUT} bytes`);
    if ((await verifyPermission(ctx.kv, ctx.now, ctx.signer, sb, so, Action.GET_OBJECT)) === Effect.ALLOW) continue;
    // Execute without get: the side input's output policy bounds the job's output too.
    const sideAllowing: StatementRecord[] = [];
    if ((await verifyPermission(ctx.kv, ctx.now, ctx.signer, sb, so, Action.EXECUTE_OBJECT, { moduleHash, allowing: sideAllowing })) !== Effect.ALLOW) {
      fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not use ${ref} as a side input`);
    }
    const sideCap = outputCapOf(sideAllowing, so.payloadSize);
    if (sideCap !== null) caps.push(sideCap);
  }
  const env = ((msg.env as string[]) ?? []).map(String);
  if (env.length > 32) fail('ERR_INVALID_ARGUMENT', 'at most 32 environment variables');
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq <= 0 || e.length > 4096) fail('ERR_INVALID_ARGUMENT', `environment entry "${e.slice(0, 40)}" must be NAME=value, at most 4096 characters`);
    if (e.startsWith('INSITU_')) fail('ERR_INVALID_ARGUMENT', `environment names starting with INSITU_ are set by the runtime (${e.slice(0, eq)})`);
  }
  const mode = String(msg.mode ?? '');
  if (mode !== '' && mode !== 'map' && mode !== 'reduce' && mode !== 'gather') fail('ERR_INVALID_ARGUMENT', `job mode "${mode.slice(0, 20)}" is not one of map, reduce, gather or empty`);
  const dataChunks = ctx.genesis.params.redundantDataChunkNum;
  const pieceIndex = Number(msg.pieceIndex ?? 0);
  if (mode === 'map' && !(Number.isInteger(pieceIndex) && pieceIndex >= 0 && pieceIndex < dataChunks)) {
    fail('ERR_INVALID_ARGUMENT', `a map job runs over a data piece 0..${dataChunks - 1}, not ${pieceIndex}`);
  }
  const mapJobs = ((msg.mapJobs as string[]) ?? []).map((x) => BigInt(String(x)));
  if (mode === 'reduce') {
    if (mapJobs.length !== dataChunks) fail('ERR_INVALID_ARGUMENT', `a reduce job names one map job per data piece (${dataChunks})`);
    for (const [i, mid] of mapJobs.entries()) {
      const m = await ctx.kv.get<JobRecord>(jobKey(mid));
      if (!m || m.mode !== 'map' || m.pieceIndex !== i || m.objectId !== input.id || m.moduleHash !== moduleHash || !sameAddress(m.creator, ctx.signer)) {
        fail('ERR_INVALID_ARGUMENT', `job ${mid} is not this submitter's map of piece ${i} with the same module over the same object`);
      }
      if (m!.status !== 'settled' || m!.exitState !== 'succeeded') fail('ERR_INVALID_ARGUMENT', `map job ${mid} has not succeeded (${m!.status}${m!.exitState ? `, ${m!.exitState}` : ''})`);
    }
  } else if (gather) caps.push(await gatherCap(ctx.kv, ctx.signer, input.id, mapJobs));
  else if (mapJobs.length > 0) fail('ERR_INVALID_ARGUMENT', 'only reduce jobs name map jobs');
  const outputCap = caps.reduce((a, b) => (b < a ? b : a));
  // The owner's data fee is escrowed beside the compute fee: one escrow, paid or refunded together.
  const dataFee = offer ? dataFeeOf(offer, input.payloadSize) : 0n;
  // A job of a dataset run draws from the run's escrow; any other escrows its own.
  const runId = big(msg.runId ?? 0);
  const run = runId !== 0n ? await drawFromRun(ctx, runId, { mode: mode as JobRecord['mode'], objectId: input.id, moduleHash, offerId, mapJobs, cost: maxFee + dataFee }) : null;
  if (!run) await move(ctx.kv, ctx.signer, COMPUTE_ESCROW, maxFee + dataFee);
  const id = await nextId(ctx.kv, 'job');
  if (run) recordRunJob(ctx.kv, run, id);
  const job: JobRecord = {
    id, creator: ctx.signer, bucket: bucket.name, object: input.name, objectId: input.id, moduleBucket: moduleBucket.name,
    moduleObject: module.name, moduleHash, args, sideInputs, env, mode: mode as JobRecord['mode'], pieceIndex: mode === 'map' ? pieceIndex : 0, mapJobs, maxFee, fuelLimit, executorSpId, status: 'submitted',
    submittedAt: ctx.now, fuelUsed: 0n, fee: 0n, outputHash: '', exitState: '', receiptSignature: '', settledAt: 0,
    memoryMiB, outputCap, ackedAt: 0, receipt: '', outputBytes: 0, releaseAt: 0, dispute: null,
    computePrice: chosen.price, ...(offer ? { offerId: offer.id, dataFee, dataOwner: offer.owner } : {}), ...(run ? { runId: run.id } : {}),
  };
  await saveJob(ctx.kv, job);
  emit(ctx, 'job-submitted', { job_id: id, mode, sp_id: executorSpId, bucket_name: bucket.name, object_name: input.name, object_id: input.id, max_fee: maxFee, output_cap: outputCap, compute_price: chosen.price, data_fee: dataFee, run_id: run?.id ?? 0n });
  return { jobId: id.toString() };
};

/**
 * A job no provider has acknowledged can be cancelled by its submitter after a short deadline; an
 * acknowledged one only once the longest run a node allows has surely passed (its node went
 * away). The whole escrow comes back, and a late settlement is refused.
 */
const msgCancelJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await ctx.kv.get<JobRecord>(jobKey(id));
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  if (!sameAddress(job.creator, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the submitter of job ${id} may cancel it`);
  if (job.status !== 'submitted' && job.status !== 'running') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  const params = computeParams(ctx.genesis);
  const at = job.status === 'running' ? job.ackedAt + params.cancelAckedAfterMs : job.submittedAt + params.cancelUnackedAfterMs;
  if (ctx.now < at) {
    if (job.status === 'running') fail('ERR_JOB_RUNNING', `job ${id} is running on provider ${job.executorSpId}; it cannot be cancelled (unless never settled, from ${new Date(at).toISOString()})`);
    fail('ERR_INVALID_ARGUMENT', `job ${id} may still be starting; it can be cancelled from ${new Date(at).toISOString()} if no provider acknowledges it`);
  }
  const refund = job.maxFee + dataFeeHeld(job);
  await giveBack(ctx.kv, job, refund);
  Object.assign(job, { status: 'cancelled', settledAt: ctx.now, dataFee: 0n });
  await saveJob(ctx.kv, job);
  emit(ctx, 'job-cancelled', { job_id: id, refund });
  return { refund: refund.toString() };
};


export const computeMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.compute.MsgSubmitJob': { handler: msgSubmitJob, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgSettleJob': { handler: msgSettleJob, signer: (m) => String(m.operator) },
  '/insitu.compute.MsgCancelJob': { handler: msgCancelJob, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgAckJob': { handler: msgAckJob, signer: (m) => String(m.operator) },
  '/insitu.compute.MsgDisputeJob': { handler: msgDisputeJob, signer: (m) => String(m.disputer) },
  '/insitu.compute.MsgVerifyJob': { handler: msgVerifyJob, signer: (m) => String(m.operator) },
  '/insitu.compute.MsgReassignJob': { handler: msgReassignJob, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgRecordOutput': { handler: msgRecordOutput, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgSetComputePrice': { handler: msgSetComputePrice, signer: (m) => String(m.operator) },
  ...offerMsgs,
  ...runMsgs,
};

export const computeQueries: QueryTable = {
  /** Project extension (JSON): one job. */
  '/insitu.compute.Query/Job': async (ctx, req) => {
    if (!/^\d{1,20}$/.test(String(req.id ?? ''))) fail('ERR_INVALID_ARGUMENT', `a job id is a whole number, not "${String(req.id).slice(0, 40)}"`);
    const job = await ctx.kv.get<JobRecord>(jobKey(BigInt(String(req.id))));
    if (!job) return fail('ERR_NOT_FOUND', `no job ${String(req.id)}`);
    return { job };
  },
  /** Project extension (JSON): the compute module's parameters (dispute window and bond, slash, cancel deadlines). */
  '/insitu.compute.Query/Params': async (ctx) => ({ params: computeParams(ctx.genesis) }),
  ...offerQueries,
  ...provenanceQueries,
  ...marketQueries,
  ...runQueries,
  /**
   * Project extension (JSON): jobs newest first, one page at a time (`limit`, then the last id
   * as `startAfter`); of one submitter (`creator`) or one executor (`executorSpId`) through
   * their indexes, so a page costs the same however many jobs others have.
   */
  '/insitu.compute.Query/Jobs': async (ctx, req) => {
    const limit = pageLimit(req.limit, 100);
    const startAfter = idCursor(req.startAfter);
    const who = req.creator ? String(req.creator) : null;
    const executor = req.executorSpId ? Number(req.executorSpId) : null;
    if (executor !== null && !(Number.isInteger(executor) && executor > 0)) fail('ERR_INVALID_ARGUMENT', `executorSpId is a provider id, not "${String(req.executorSpId).slice(0, 40)}"`);
    let jobs: JobRecord[];
    // The cursor is the last id the page walked past (with both filters, some of a page's ids may not be the executor's).
    let last: bigint | null = null;
    if (who !== null || executor !== null) {
      if (who !== null && !isAddress(who)) return { jobs: [], nextStartAfter: null };
      const prefix = who !== null ? creatorJobPrefix(who) : executorJobPrefix(executor!);
      const key = (id: bigint): string => (who !== null ? creatorJobKey(who, id) : executorJobKey(executor!, id));
      const ids = await ctx.kv.list<bigint>(prefix, { reverse: true, limit, ...(startAfter !== null ? { after: key(startAfter) } : {}) });
      jobs = (await Promise.all(ids.map(([, id]) => ctx.kv.get<JobRecord>(jobKey(id))))).filter((j): j is JobRecord => !!j && (executor === null || j.executorSpId === executor));
      if (ids.length === limit) last = ids.at(-1)![1];
    } else {
      jobs = (await ctx.kv.list<JobRecord>('job/', { reverse: true, limit, ...(startAfter !== null ? { after: jobKey(startAfter) } : {}) })).map(([, j]) => j);
      if (jobs.length === limit) last = jobs.at(-1)!.id;
    }
    return { jobs, nextStartAfter: last };
  },
};
