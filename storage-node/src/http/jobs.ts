// Near-data jobs on the node (project extension). POST /insitu/v1/jobs/{id} — signed by the job's
// submitter — runs a job the chain has escrowed on the object this node holds: the module (an
// object too) is fetched and checked against the hash the job names, the input streams from this
// node's own verified copy, and the result is a receipt signed by the operator key, settled on
// chain. GET /insitu/v1/jobs/{id}/output returns the output to the submitter.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readObject } from '@insitu/sdk/client/read.ts';
import { join } from 'node:path';
import { InsituError } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { signDigest, sameAddress, toHex } from '@insitu/protocol';
import { receiptDigest, type JobReceipt } from '@insitu/protocol';
import type { JobInfo, ObjectInfo } from '@insitu/protocol/chain';
import type { JobRuntime, JobInput, JobResult } from '@insitu/executor/runtime.ts';
import { pieceRanges, splitRange, encodeFrames, decodeFrames, stitch, type MapFrame, type PieceRange } from '@insitu/protocol/parallel';
import { signRequest } from '@insitu/protocol/auth';
import { spDispatcher, errorFrom } from '@insitu/sdk/sp/index.ts';
import { request } from 'undici';
import { unitOffset } from '../store/types.ts';
import { readContextOf, type NodeContext } from '../context.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';

export interface JobsContext {
  runtime: JobRuntime;
  dir: string;
  maxMemoryMiB: number;
  maxTimeoutMs: number;
  maxOutputBytes: number;
}

async function loadModule(ctx: NodeContext, job: JobInfo, maxModuleBytes: number): Promise<Uint8Array> {
  const obj = await ctx.chain.headObject(job.moduleBucket, job.moduleObject);
  // Refused before a byte is fetched: a module larger than the runtime runs ends as a refusal.
  if (obj.payloadSize > BigInt(maxModuleBytes)) {
    throw new InsituError('ERR_PAYLOAD_TOO_LARGE', `the module is ${obj.payloadSize} bytes; this node runs modules of at most ${maxModuleBytes} bytes`);
  }
  const bucket = await ctx.chain.headBucket(job.moduleBucket);
  const parts: Uint8Array[] = [];
  if (bucket.primarySpId === ctx.spId) {
    const key = { objectId: obj.id, index: -1 };
    const meta = await ctx.store.meta(key);
    if (meta) parts.push(await ctx.store.read(key, 0, meta.size));
  } else {
    // From the module bucket's primary, checked against the chain — or, when that node is down (a
    // verifier re-running a job whose executor went away), rebuilt from the secondaries' pieces.
    const endpoint = (await ctx.provider(bucket.primarySpId)).endpoint;
    for await (const chunk of readObject({ ...readContextOf(ctx), role: { jobId: job.id } }, obj, endpoint)) parts.push(chunk);
  }
  const bytes = Buffer.concat(parts);
  if (bytes.length !== Number(obj.payloadSize)) throw new InsituError('ERR_PIECE_NOT_FOUND', `module ${job.moduleBucket}/${job.moduleObject} is not available`);
  if (createHash('sha256').update(bytes).digest('hex') !== job.moduleHash) {
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `module ${job.moduleBucket}/${job.moduleObject} does not hash to ${job.moduleHash}`);
  }
  return bytes;
}

const num = (v: unknown, fallback: number, max: number): number => {
  const n = Number(v ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `bad limit ${String(v)}`);
  return Math.min(n, max);
};

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new InsituError('ERR_PAYLOAD_TOO_LARGE', 'job request bodies are at most 1 MiB');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new InsituError('ERR_BAD_REQUEST', 'the job request body must be JSON');
  }
}

/**
 * The input as a file this node holds: its own verified primary copy, or — when it runs a job
 * over an object it does not hold whole (a verification re-run) — a copy read, verified, from
 * the network (primary or any 4 secondaries) into a temporary file.
 */
async function locateInput(ctx: NodeContext, jobs: JobsContext, input: ObjectInfo): Promise<{ path: string } | { bytes: Uint8Array }> {
  if (input.payloadSize === 0n) return { bytes: new Uint8Array() };
  const key = { objectId: input.id, index: -1 };
  const meta = await ctx.store.meta(key);
  if (meta && Buffer.from(hashOfHashes(meta.hashes)).equals(Buffer.from(input.checksums[0]!))) return ctx.store.locate(key);
  const bucket = await ctx.chain.headBucket(input.bucketName);
  const primary = bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
  const dir = join(jobs.dir, 'inputs');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${input.id}.data`);
  const out = createWriteStream(path);
  const readCtx = readContextOf(ctx);
  for await (const chunk of readObject(readCtx, input, primary)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path };
}

type Outcome = Omit<JobResult, 'outputHash' | 'durationMs' | 'message'> & { message?: string };

interface RunBase {
  moduleHash: string;
  args: string[];
  env: Record<string, string>;
  sideInputs: Record<string, Uint8Array>;
  limits: { fuel: bigint; memoryMiB: number; timeoutMs: number; outputBytes: number };
  account: string;
}

const EMPTY = new Uint8Array(0);

/** One run of the module; `spent` fuel is already used by earlier runs of the same job. */
async function runPart(jobs: JobsContext, base: RunBase, input: JobInput, env: Record<string, string>, spent: bigint): Promise<Outcome> {
  const fuel = base.limits.fuel - spent;
  if (fuel <= 0n) return { state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job ran out of fuel', exitCode: -1, fuelUsed: 0n, output: EMPTY, stderrTail: '' };
  const r = await jobs.runtime.run({ moduleHash: base.moduleHash, input, args: base.args, env: { ...base.env, ...env }, sideInputs: base.sideInputs, limits: { ...base.limits, fuel }, account: base.account });
  return r;
}

/**
 * The bytes of data piece `index` for one segment's range: this node's own verified piece, or its
 * verified primary copy, or — when it holds neither (the piece's holder is down) — rebuilt from
 * the other pieces on the secondaries.
 */
async function pieceSource(ctx: NodeContext, input: ObjectInfo, index: number): Promise<(r: PieceRange) => Promise<Uint8Array>> {
  const pieceKey = { objectId: input.id, index };
  const own = await ctx.store.meta(pieceKey);
  if (own && Buffer.from(hashOfHashes(own.hashes)).equals(Buffer.from(input.checksums[1 + index]!))) {
    return async (r) => {
      const piece = await ctx.store.read(pieceKey, unitOffset(own, r.segment), own.sizes[r.segment]!);
      if (!createHash('sha256').update(piece).digest().equals(Buffer.from(own.hashes[r.segment]!))) {
        throw new InsituError('ERR_CHECKSUM_MISMATCH', `piece ${index} of segment ${r.segment} of object ${input.id} failed its hash on this node`);
      }
      return piece.subarray(0, r.end - r.start);
    };
  }
  const whole = { objectId: input.id, index: -1 };
  const copy = await ctx.store.meta(whole);
  if (copy && Buffer.from(hashOfHashes(copy.hashes)).equals(Buffer.from(input.checksums[0]!))) {
    return async (r) => {
      const segStart = r.segment * ctx.params.maxSegmentSize;
      const seg = await ctx.store.read(whole, segStart, copy.sizes[r.segment]!);
      if (!createHash('sha256').update(seg).digest().equals(Buffer.from(copy.hashes[r.segment]!))) {
        throw new InsituError('ERR_CHECKSUM_MISMATCH', `segment ${r.segment} of object ${input.id} failed its hash on this node`);
      }
      return seg.subarray(r.start - segStart, r.end - segStart);
    };
  }
  const readCtx = readContextOf(ctx);
  return async (r) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of readObject(readCtx, input, null, { range: { start: r.start, end: r.end - 1 } })) parts.push(chunk);
    return Buffer.concat(parts);
  };
}

/** A map: the job over the whole lines of each range of one data piece, framed with the partial lines. */
async function runMap(ctx: NodeContext, jobs: JobsContext, job: JobInfo, input: ObjectInfo, base: RunBase): Promise<Outcome> {
  const size = Number(input.payloadSize);
  const ranges = pieceRanges(size, ctx.params.maxSegmentSize, ctx.params.dataChunks, job.pieceIndex);
  const read = ranges.length ? await pieceSource(ctx, input, job.pieceIndex) : null;
  const frames: MapFrame[] = [];
  let fuel = 0n;
  let stderrTail = '';
  for (const r of ranges) {
    const bytes = await read!(r);
    const s = splitRange(bytes, r.start, size);
    let output: Uint8Array = EMPTY;
    if (!s.whole && s.body.length > 0) {
      const res = await runPart(jobs, base, { bytes: s.body }, { INSITU_PHASE: 'map', INSITU_OFFSET: String(s.bodyOffset) }, fuel);
      fuel += res.fuelUsed;
      stderrTail = res.stderrTail;
      if (res.state !== 'succeeded') return { ...res, fuelUsed: fuel };
      output = res.output;
    }
    frames.push({ offset: r.start, length: r.end - r.start, whole: s.whole, head: s.head, tail: s.tail, bodyOffset: s.bodyOffset, output });
  }
  const output = encodeFrames(frames);
  if (output.length > base.limits.outputBytes) {
    return { state: 'failed', code: 'ERR_JOB_OUTPUT_LIMIT', message: `map output exceeded ${base.limits.outputBytes} bytes`, exitCode: -1, fuelUsed: fuel, output: EMPTY, stderrTail };
  }
  return { state: 'succeeded', exitCode: 0, fuelUsed: fuel, output, stderrTail };
}

/**
 * A map job's output, from this node or the node that ran it, checked against the chain. For a
 * dataset's reduce (`forJob`), the request names that job so the map's node can check this node's role.
 */
async function mapOutput(ctx: NodeContext, jobs: JobsContext, m: JobInfo, forJob?: bigint): Promise<Uint8Array> {
  let data: Uint8Array;
  if (m.executorSpId === ctx.spId) data = await readFile(join(jobs.dir, `${m.id}.out`));
  else {
    const endpoint = (await ctx.provider(m.executorSpId)).endpoint;
    const url = new URL(`/insitu/v1/jobs/${m.id}/output`, endpoint);
    const role = forJob !== undefined ? { 'x-insitu-job-id': forJob.toString() } : {};
    const res = await request(url, { method: 'GET', headers: { ...signRequest({ method: 'GET', url, privateKey: ctx.operatorKey }), ...role }, dispatcher: spDispatcher });
    if (res.statusCode >= 300) throw await errorFrom(res, `output of map job ${m.id}`);
    data = new Uint8Array(await res.body.arrayBuffer());
  }
  if (createHash('sha256').update(data).digest('hex') !== m.outputHash) {
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `the output of map job ${m.id} does not match the hash settled on chain`);
  }
  return data;
}

/** A reduce: joins the lines across pieces, maps them, and runs the reduce step over every map output in object order. */
async function runReduce(ctx: NodeContext, jobs: JobsContext, job: JobInfo, input: ObjectInfo, base: RunBase): Promise<Outcome> {
  const size = Number(input.payloadSize);
  const frames: MapFrame[] = [];
  for (const [i, mid] of job.mapJobs.entries()) {
    const m = await ctx.chain.getJob(mid);
    if (m.status !== 'settled' || m.exitState !== 'succeeded') throw new InsituError('ERR_INVALID_ARGUMENT', `map job ${mid} has not succeeded (${m.status}${m.exitState ? `, ${m.exitState}` : ''})`);
    const expected = pieceRanges(size, ctx.params.maxSegmentSize, ctx.params.dataChunks, i);
    const got = decodeFrames(await mapOutput(ctx, jobs, m));
    if (got.length !== expected.length || got.some((f, j) => f.offset !== expected[j]!.start || f.length !== expected[j]!.end - expected[j]!.start)) {
      throw new InsituError('ERR_BAD_REQUEST', `map job ${mid} did not cover the ranges of data piece ${i}`);
    }
    frames.push(...got);
  }
  const feed: Uint8Array[] = [];
  let fuel = 0n;
  for (const part of stitch(frames, size)) {
    if ('output' in part) {
      feed.push(part.output);
      continue;
    }
    const res = await runPart(jobs, base, { bytes: part.line }, { INSITU_PHASE: 'map', INSITU_OFFSET: String(part.offset) }, fuel);
    fuel += res.fuelUsed;
    if (res.state !== 'succeeded') return { ...res, fuelUsed: fuel };
    feed.push(res.output);
  }
  const res = await runPart(jobs, base, { bytes: Buffer.concat(feed) }, { INSITU_PHASE: 'reduce' }, fuel);
  return { ...res, fuelUsed: fuel + res.fuelUsed };
}

/** A dataset's reduce: the reduce step over its maps' outputs (whole-object jobs), concatenated in the order the chain recorded. */
async function runGather(ctx: NodeContext, jobs: JobsContext, job: JobInfo, base: RunBase): Promise<Outcome> {
  const outputs: Uint8Array[] = [];
  for (const mid of job.mapJobs) {
    const m = await ctx.chain.getJob(mid);
    if (m.status !== 'settled' || m.exitState !== 'succeeded') throw new InsituError('ERR_INVALID_ARGUMENT', `map job ${mid} has not succeeded (${m.status}${m.exitState ? `, ${m.exitState}` : ''})`);
    outputs.push(await mapOutput(ctx, jobs, m, job.id));
  }
  return runPart(jobs, base, { bytes: Buffer.concat(outputs) }, { INSITU_PHASE: 'reduce' }, 0n);
}

async function loadSideInputs(ctx: NodeContext, job: JobInfo): Promise<Record<string, Uint8Array>> {
  const sideInputs: Record<string, Uint8Array> = {};
  for (const ref of job.sideInputs ?? []) {
    const at = ref.indexOf('/');
    const obj = await ctx.chain.headObject(ref.slice(0, at), ref.slice(at + 1));
    const parts: Uint8Array[] = [];
    const bucket = await ctx.chain.headBucket(obj.bucketName);
    const primary = bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
    // The executor reads a side input in another provider's bucket for this job (provider-role.ts).
    const readCtx = { ...readContextOf(ctx), role: { jobId: job.id } };
    if (bucket.primarySpId === ctx.spId && obj.payloadSize > 0n) {
      const meta = await ctx.store.meta({ objectId: obj.id, index: -1 });
      if (meta) parts.push(await ctx.store.read({ objectId: obj.id, index: -1 }, 0, meta.size));
    } else {
      for await (const chunk of readObject(readCtx, obj, primary)) parts.push(chunk);
    }
    sideInputs[obj.objectName] = Buffer.concat(parts);
  }
  return sideInputs;
}

/** Codes with which the runtime refuses a module before running it: the same on every node. */
const REFUSALS = new Set(['ERR_JOB_INVALID_MODULE', 'ERR_JOB_FORBIDDEN_IMPORT', 'ERR_JOB_NO_ENTRYPOINT', 'ERR_PAYLOAD_TOO_LARGE', 'ERR_JOB_MEMORY_LIMIT']);
const EMPTY_HASH = createHash('sha256').digest('hex');

export interface ExecutedJob {
  receipt: JobReceipt;
  signature: string;
  output: Uint8Array;
}

/**
 * Runs a job the chain recorded, with the limits the chain fixed (fuel, memory, output cap) so any
 * node's re-run gives the same receipt, and signs the receipt. A module the runtime refuses gives
 * a 'rejected' receipt. `beforeRun` is called once the module is accepted, just before it runs
 * (the executor acknowledges the job on chain there).
 */
export async function executeJob(ctx: NodeContext, jobs: JobsContext, job: JobInfo, opts: { timeoutMs: number; beforeRun?: () => Promise<void> }): Promise<ExecutedJob> {
  const input: ObjectInfo = await ctx.chain.headObject(job.bucket, job.object);
  // Under a data offer the node holds the job to the offer's terms itself, not only to the chain's record of them.
  const offer = job.offerId ? await ctx.chain.getOffer(BigInt(job.offerId)) : null;
  if (offer && offer.modules.length > 0 && !offer.modules.includes(job.moduleHash)) {
    throw new InsituError('ERR_PERMISSION_DENIED', `offer ${offer.id} does not allow module ${job.moduleHash.slice(0, 12)}…`);
  }
  let module: Uint8Array = EMPTY;
  let rejected: InsituError | undefined;
  try {
    module = await loadModule(ctx, job, jobs.runtime.maxModuleBytes);
  } catch (e) {
    if (!(e instanceof InsituError) || e.code !== 'ERR_PAYLOAD_TOO_LARGE') throw e;
    rejected = e;
  }
  const caps = [job.outputCap > 0n ? job.outputCap : BigInt(jobs.maxOutputBytes), BigInt(jobs.maxOutputBytes), ...(offer ? [BigInt(offer.maxOutputBytes)] : [])];
  const outputCap = Number(caps.reduce((a, b) => (b < a ? b : a)));
  let result: Outcome;
  try {
    if (!rejected) await jobs.runtime.prepare(module);
  } catch (e) {
    if (!(e instanceof InsituError) || !REFUSALS.has(e.code)) throw e;
    rejected = e;
  }
  if (rejected) {
    result = { state: 'failed', code: rejected.code, exitCode: -1, fuelUsed: 0n, output: EMPTY, stderrTail: rejected.message.slice(0, 1000) };
  } else {
    await opts.beforeRun?.();
    const base: RunBase = {
      moduleHash: job.moduleHash,
      args: job.args,
      env: Object.fromEntries((job.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      sideInputs: await loadSideInputs(ctx, job),
      limits: {
        fuel: job.fuelLimit,
        memoryMiB: Math.min(job.memoryMiB || 256, jobs.maxMemoryMiB),
        timeoutMs: Math.min(opts.timeoutMs, jobs.maxTimeoutMs),
        outputBytes: Math.max(1, outputCap),
      },
      account: job.creator,
    };
    if (job.mode === 'map') result = await runMap(ctx, jobs, job, input, base);
    else if (job.mode === 'reduce') result = await runReduce(ctx, jobs, job, input, base);
    else if (job.mode === 'gather') result = await runGather(ctx, jobs, job, base);
    else {
      const located = await locateInput(ctx, jobs, input);
      try {
        result = await runPart(jobs, base, 'path' in located ? { path: located.path, length: Number(input.payloadSize) } : { bytes: located.bytes }, {}, 0n);
      } finally {
        if ('path' in located && located.path.startsWith(join(jobs.dir, 'inputs'))) await rm(located.path, { force: true });
      }
    }
    // Whatever the runtime returns, nothing above the cap the chain fixed leaves the node.
    if (result.output.length > outputCap) {
      result = { state: 'failed', code: 'ERR_JOB_OUTPUT_LIMIT', message: `output exceeded ${outputCap} bytes`, exitCode: -1, fuelUsed: result.fuelUsed, output: EMPTY, stderrTail: result.stderrTail };
    }
  }
  const receipt: JobReceipt = {
    jobId: job.id.toString(),
    executorSpId: ctx.spId,
    moduleHash: job.moduleHash,
    inputObjectId: input.id.toString(),
    inputChecksums: input.checksums.map((c) => Buffer.from(c).toString('hex')),
    args: job.args,
    state: rejected ? 'rejected' : result.state,
    code: result.code ?? null,
    exitCode: result.exitCode,
    fuelUsed: result.fuelUsed.toString(),
    outputHash: rejected ? EMPTY_HASH : createHash('sha256').update(result.output).digest('hex'),
    outputBytes: result.output.length,
    stderrTail: result.stderrTail,
  };
  return { receipt, signature: toHex(signDigest(receiptDigest(receipt), ctx.operatorKey)), output: result.output };
}

/** Jobs this node is running now, by id: a second POST of the same job waits for the first run. */
const inFlight = new WeakMap<JobsContext, Map<string, Promise<{ receipt: JobReceipt; signature: string }>>>();

async function storedReceipt(jobs: JobsContext, id: bigint): Promise<{ receipt: JobReceipt; signature: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(jobs.dir, `${id}.receipt.json`), 'utf8')) as { receipt: JobReceipt; signature: string };
  } catch {
    return undefined;
  }
}

/** Runs the job once on this node, acknowledges and settles it on chain; its receipt is kept for later requests. */
async function runAndSettle(ctx: NodeContext, jobs: JobsContext, job: JobInfo, timeoutMs: number): Promise<{ receipt: JobReceipt; signature: string }> {
  const startedAt = Date.now();
  const id = job.id;
  const done = await executeJob(ctx, jobs, job, {
    timeoutMs,
    beforeRun: async () => {
      if (job.status === 'submitted') await ctx.chain.ackJob(id);
    },
  });
  const { receipt, signature } = done;
  await mkdir(jobs.dir, { recursive: true });
  await writeFile(join(jobs.dir, `${id}.out`), done.output);
  await ctx.chain.settleJob({ jobId: id, receipt: JSON.stringify(receipt), receiptSignature: signature });
  await writeFile(join(jobs.dir, `${id}.receipt.json`), JSON.stringify({ receipt, signature }));
  const outcome = receipt.state === 'rejected' ? 'rejected' : (receipt.code ?? 'succeeded');
  ctx.metrics.jobs.inc({ mode: job.mode || 'whole', outcome });
  ctx.metrics.jobFuel.inc(Number(receipt.fuelUsed));
  ctx.metrics.jobSeconds.observe({ mode: job.mode || 'whole' }, (Date.now() - startedAt) / 1000);
  ctx.logger.info('job settled', { jobId: id.toString(), mode: job.mode || 'whole', state: receipt.state, fuel: receipt.fuelUsed });
  return { receipt, signature };
}

export async function runJobRequest(ctx: NodeContext, jobs: JobsContext, req: IncomingMessage, res: ServerResponse, id: bigint): Promise<void> {
  const signer = signerOf(req, true)!;
  const body = await readBody(req);
  const job = await ctx.chain.getJob(id);
  if (!sameAddress(job.creator, signer)) throw new InsituError('ERR_PERMISSION_DENIED', `job ${id} was submitted by ${job.creator}`);
  if (job.executorSpId !== ctx.spId) throw new InsituError('ERR_BAD_REQUEST', `job ${id} runs on provider ${job.executorSpId}, not here`);
  // A job runs at most once here: a request while it runs waits for that run, and a later one gets its receipt.
  let running = inFlight.get(jobs);
  if (!running) inFlight.set(jobs, (running = new Map()));
  const key = id.toString();
  let run = running.get(key);
  if (!run) {
    // Registered before anything is awaited, so concurrent requests cannot both start it.
    run = (async () => {
      const kept = await storedReceipt(jobs, id);
      if (kept) return kept;
      if (job.status !== 'submitted' && job.status !== 'running') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${id} is ${job.status}`);
      return runAndSettle(ctx, jobs, job, num(body.timeoutMs, 60_000, jobs.maxTimeoutMs));
    })().finally(() => running!.delete(key));
    running.set(key, run);
  }
  sendJson(res, 200, await run);
}

/** Whether provider `spId` reads job `mapId`'s output as the executor or a verifier of the dataset reduce the request names. */
async function reducerOf(ctx: NodeContext, req: IncomingMessage, spId: number, mapId: bigint): Promise<boolean> {
  const named = req.headers['x-insitu-job-id'];
  if (typeof named !== 'string' || !/^\d{1,20}$/.test(named)) return false;
  const g = await ctx.chain.getJob(BigInt(named)).catch(() => undefined);
  if (!g || g.mode !== 'gather' || !g.mapJobs.some((m) => BigInt(m) === mapId)) return false;
  const live = g.status === 'submitted' || g.status === 'running';
  return (g.executorSpId === spId && live) || (g.dispute?.outcome === 'open' && g.dispute.verifiers.includes(spId));
}

export async function jobOutput(ctx: NodeContext, jobs: JobsContext, req: IncomingMessage, res: ServerResponse, id: bigint): Promise<void> {
  const signer = signerOf(req, true)!;
  const job = await ctx.chain.getJob(id);
  // A map's output holds the raw partial lines at its piece's edges: it goes to the providers
  // that reduce, never to the submitter (who may hold execute without get on the data).
  const provider = await ctx.providerByOperator(signer);
  // The executor (or a chosen verifier) of a dataset's reduce reads the outputs of its maps.
  const gatherer = provider ? await reducerOf(ctx, req, provider.id, id) : false;
  if (!gatherer && (job.mode === 'map' ? !provider : !sameAddress(job.creator, signer))) {
    throw new InsituError('ERR_PERMISSION_DENIED', job.mode === 'map' ? `the output of map job ${id} goes to storage providers only` : `job ${id} was submitted by ${job.creator}`);
  }
  // A cancelled job's output was never paid for; a running one's is not final.
  if (job.status !== 'settled' && job.status !== 'overturned') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${id} is ${job.status}: it has no output`);
  let data: Buffer;
  try {
    data = await readFile(join(jobs.dir, `${id}.out`));
  } catch {
    throw new InsituError('ERR_NOT_FOUND', `no output of job ${id} on this node`);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length), 'x-insitu-output-hash': createHash('sha256').update(data).digest('hex') });
  res.end(data);
}
