// Compute: jobs over stored objects, paid through escrow. Submitting escrows the submitter's
// maximum fee; the executing provider settles with the fuel its receipt reports, is paid
// fuel × its registered compute price (capped by the escrow) and the rest is refunded.

import { isAddress, sameAddress, type Hex } from '@insitu/sdk/crypto/keys.ts';
import type { JobInfo } from '@insitu/sdk/chain/types.ts';
import { fail, emit, nextId, type MsgHandler, type QueryHandler } from '../context.ts';
import { big } from '../../gnfd.ts';
import { move } from './bank.ts';
import { getProvider, providerByOperator } from './providers.ts';
import { getBucket, getObject } from './storage-records.ts';
import { Action, Effect, verifyPermission } from './permission.ts';
import { requireNotFrozen } from './payment.ts';

/** Escrowed job fees are held here; counted in every conservation sum. */
export const COMPUTE_ESCROW = '0x00000000000000000000000000000000000e5c00' as Hex;

/** A job as the chain keeps it (the SDK's JobInfo). */
export type JobRecord = JobInfo;

/** Side inputs are small objects: they are handed to the job whole. */
export const MAX_SIDE_INPUT = 16 * 1024 * 1024;

const jobKey = (id: bigint): string => `job/${id.toString().padStart(20, '0')}`;

const msgSubmitJob: MsgHandler = async (ctx, msg) => {
  const bucket = await getBucket(ctx.kv, String(msg.bucketName));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(msg.bucketName)} not found`);
  const input = await getObject(ctx.kv, bucket.name, String(msg.objectName));
  if (!input) return fail('ERR_OBJECT_NOT_FOUND', `object ${bucket.name}/${String(msg.objectName)} not found`);
  if (input.status !== 1) fail('ERR_OBJECT_NOT_SEALED', `${bucket.name}/${input.name} is not sealed`);
  await requireNotFrozen(ctx.kv, bucket.paymentAddress, `bucket ${bucket.name}`);
  const moduleHash = String(msg.moduleHash);
  if (!/^[0-9a-f]{64}$/.test(moduleHash)) fail('ERR_INVALID_ARGUMENT', 'moduleHash must be the SHA-256 of the module, 64 hex digits');
  if ((await verifyPermission(ctx.kv, ctx.now, ctx.signer, bucket, input, Action.EXECUTE_OBJECT, { moduleHash })) !== Effect.ALLOW) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not run module ${moduleHash.slice(0, 12)}… over ${bucket.name}/${input.name}`);
  }
  const moduleBucket = await getBucket(ctx.kv, String(msg.moduleBucket));
  const module = moduleBucket ? await getObject(ctx.kv, moduleBucket.name, String(msg.moduleObject)) : undefined;
  if (!moduleBucket || !module) return fail('ERR_OBJECT_NOT_FOUND', `module ${String(msg.moduleBucket)}/${String(msg.moduleObject)} not found`);
  if (module.status !== 1) fail('ERR_OBJECT_NOT_SEALED', 'the module object is not sealed');
  if ((await verifyPermission(ctx.kv, ctx.now, ctx.signer, moduleBucket, module, Action.GET_OBJECT)) !== Effect.ALLOW) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not read the module ${moduleBucket.name}/${module.name}`);
  }
  const maxFee = BigInt(String(msg.maxFee || '0'));
  if (maxFee <= 0n) fail('ERR_INVALID_ARGUMENT', 'maxFee must be positive');
  const fuelLimit = big(msg.fuelLimit);
  if (fuelLimit <= 0n) fail('ERR_INVALID_ARGUMENT', 'fuelLimit must be positive');
  const executorSpId = Number(msg.executorSpId || bucket.primarySpId);
  if (!(await getProvider(ctx.kv, executorSpId))) fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${executorSpId}`);
  const args = ((msg.args as string[]) ?? []).map(String);
  if (args.length > 64 || args.some((a) => a.length > 4096)) fail('ERR_INVALID_ARGUMENT', 'at most 64 arguments of at most 4096 characters');
  const sideInputs = ((msg.sideInputs as string[]) ?? []).map(String);
  if (sideInputs.length > 8) fail('ERR_INVALID_ARGUMENT', 'at most 8 side inputs');
  for (const ref of sideInputs) {
    const at = ref.indexOf('/');
    const sb = at > 0 ? await getBucket(ctx.kv, ref.slice(0, at)) : undefined;
    const so = sb ? await getObject(ctx.kv, sb.name, ref.slice(at + 1)) : undefined;
    if (!sb || !so || so.status !== 1) return fail('ERR_OBJECT_NOT_FOUND', `side input ${ref} is not a sealed object`);
    if (so.payloadSize > BigInt(MAX_SIDE_INPUT)) fail('ERR_PAYLOAD_TOO_LARGE', `side input ${ref} is larger than ${MAX_SIDE_INPUT} bytes`);
    const mayRead = (await verifyPermission(ctx.kv, ctx.now, ctx.signer, sb, so, Action.GET_OBJECT)) === Effect.ALLOW ||
      (await verifyPermission(ctx.kv, ctx.now, ctx.signer, sb, so, Action.EXECUTE_OBJECT, { moduleHash })) === Effect.ALLOW;
    if (!mayRead) fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not use ${ref} as a side input`);
  }
  const env = ((msg.env as string[]) ?? []).map(String);
  if (env.length > 32) fail('ERR_INVALID_ARGUMENT', 'at most 32 environment variables');
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq <= 0 || e.length > 4096) fail('ERR_INVALID_ARGUMENT', `environment entry "${e.slice(0, 40)}" must be NAME=value, at most 4096 characters`);
    if (e.startsWith('INSITU_')) fail('ERR_INVALID_ARGUMENT', `environment names starting with INSITU_ are set by the runtime (${e.slice(0, eq)})`);
  }
  const mode = String(msg.mode ?? '');
  if (mode !== '' && mode !== 'map' && mode !== 'reduce') fail('ERR_INVALID_ARGUMENT', `job mode "${mode}" is not one of map, reduce or empty`);
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
  } else if (mapJobs.length > 0) fail('ERR_INVALID_ARGUMENT', 'only reduce jobs name map jobs');
  await move(ctx.kv, ctx.signer, COMPUTE_ESCROW, maxFee);
  const id = await nextId(ctx.kv, 'job');
  const job: JobRecord = {
    id, creator: ctx.signer, bucket: bucket.name, object: input.name, objectId: input.id, moduleBucket: moduleBucket.name,
    moduleObject: module.name, moduleHash, args, sideInputs, env, mode: mode as JobRecord['mode'], pieceIndex: mode === 'map' ? pieceIndex : 0, mapJobs, maxFee, fuelLimit, executorSpId, status: 'submitted',
    submittedAt: ctx.now, fuelUsed: 0n, fee: 0n, outputHash: '', exitState: '', receiptSignature: '', settledAt: 0,
  };
  ctx.kv.put(jobKey(id), job);
  emit(ctx, 'job-submitted', { job_id: id, mode, sp_id: executorSpId, bucket_name: bucket.name, object_name: input.name, object_id: input.id, max_fee: maxFee });
  return { jobId: id.toString() };
};

const msgSettleJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await ctx.kv.get<JobRecord>(jobKey(id));
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  const sp = await providerByOperator(ctx.kv, ctx.signer);
  if (!sp || sp.id !== job.executorSpId) fail('ERR_PERMISSION_DENIED', `only the executing provider (${job.executorSpId}) may settle job ${id}`);
  if (job.status !== 'submitted') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  const fuelUsed = big(msg.fuelUsed);
  const price = BigInt(sp!.computePrice);
  const cost = fuelUsed * price;
  const fee = cost < job.maxFee ? cost : job.maxFee;
  await move(ctx.kv, COMPUTE_ESCROW, sp!.fundingAddress, fee);
  await move(ctx.kv, COMPUTE_ESCROW, job.creator, job.maxFee - fee);
  Object.assign(job, {
    status: 'settled', fuelUsed, fee, outputHash: String(msg.outputHash ?? ''), exitState: String(msg.exitState ?? ''),
    receiptSignature: String(msg.receiptSignature ?? ''), settledAt: ctx.now,
  });
  ctx.kv.put(jobKey(id), job);
  emit(ctx, 'job-settled', { job_id: id, sp_id: sp!.id, fee, refund: job.maxFee - fee, exit_state: job.exitState });
  return { fee: fee.toString(), refund: (job.maxFee - fee).toString() };
};

/**
 * A job no provider settled (its node went away) can be cancelled by its submitter once the
 * longest run a node allows has surely passed; the whole escrow comes back.
 */
export const JOB_CANCEL_AFTER_MS = 15 * 60_000;

const msgCancelJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await ctx.kv.get<JobRecord>(jobKey(id));
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  if (!sameAddress(job.creator, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the submitter of job ${id} may cancel it`);
  if (job.status !== 'submitted') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  const at = job.submittedAt + JOB_CANCEL_AFTER_MS;
  if (ctx.now < at) fail('ERR_INVALID_ARGUMENT', `job ${id} may still be running; it can be cancelled from ${new Date(at).toISOString()}`);
  await move(ctx.kv, COMPUTE_ESCROW, job.creator, job.maxFee);
  Object.assign(job, { status: 'cancelled', settledAt: ctx.now });
  ctx.kv.put(jobKey(id), job);
  emit(ctx, 'job-cancelled', { job_id: id, refund: job.maxFee });
  return { refund: job.maxFee.toString() };
};

export const computeMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.compute.MsgSubmitJob': { handler: msgSubmitJob, signer: (m) => String(m.creator) },
  '/insitu.compute.MsgSettleJob': { handler: msgSettleJob, signer: (m) => String(m.operator) },
  '/insitu.compute.MsgCancelJob': { handler: msgCancelJob, signer: (m) => String(m.creator) },
};

export const computeQueries: Record<string, QueryHandler> = {
  /** Project extension (JSON): one job. */
  '/insitu.compute.Query/Job': async (ctx, req) => {
    const job = await ctx.kv.get<JobRecord>(jobKey(BigInt(String(req.id))));
    if (!job) fail('ERR_NOT_FOUND', `no job ${String(req.id)}`);
    return { job };
  },
  /** Project extension (JSON): jobs of a submitter, newest first. */
  '/insitu.compute.Query/Jobs': async (ctx, req) => {
    const all = await ctx.kv.list<JobRecord>('job/');
    const who = req.creator ? String(req.creator) : null;
    return { jobs: all.map(([, j]) => j).filter((j) => !who || (isAddress(who) && sameAddress(j.creator, who))).reverse().slice(0, Number(req.limit ?? 100)) };
  },
};
