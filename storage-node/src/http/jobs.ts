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
import { InsituError } from '@insitu/sdk/errors.ts';
import { hashOfHashes } from '@insitu/sdk/integrity/index.ts';
import { getPiece, getPieceHashes } from '@insitu/sdk/sp/index.ts';
import { signDigest, sameAddress, toHex } from '@insitu/sdk/crypto/keys.ts';
import { receiptDigest, type JobReceipt } from '@insitu/sdk/receipt.ts';
import type { JobInfo, ObjectInfo } from '@insitu/sdk/chain/types.ts';
import type { JobRuntime } from '@insitu/executor/runtime.ts';
import type { NodeContext } from '../context.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';

export interface JobsContext {
  runtime: JobRuntime;
  dir: string;
  maxMemoryMiB: number;
  maxTimeoutMs: number;
  maxOutputBytes: number;
}

async function loadModule(ctx: NodeContext, job: JobInfo): Promise<Uint8Array> {
  const obj = await ctx.chain.headObject(job.moduleBucket, job.moduleObject);
  const bucket = await ctx.chain.headBucket(job.moduleBucket);
  const parts: Uint8Array[] = [];
  if (bucket.primarySpId === ctx.spId) {
    const key = { objectId: obj.id, index: -1 };
    const meta = await ctx.store.meta(key);
    if (meta) parts.push(await ctx.store.read(key, 0, meta.size));
  } else {
    const endpoint = (await ctx.provider(bucket.primarySpId)).endpoint;
    const hashes = await getPieceHashes({ endpoint, objectId: obj.id, index: -1, privateKey: ctx.operatorKey });
    if (!Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(obj.checksums[0]!))) throw new InsituError('ERR_CHECKSUM_MISMATCH', 'the module\'s segment hashes do not match the chain');
    for (let s = 0; s < hashes.length; s++) parts.push(await getPiece({ endpoint, objectId: obj.id, index: -1, segment: s, privateKey: ctx.operatorKey }));
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
  const readCtx = { chain: ctx.chain, codec: ctx.codec, params: ctx.params, privateKey: ctx.operatorKey, endpointOf: async (id: number) => (await ctx.provider(id)).endpoint };
  for await (const chunk of readObject(readCtx, input, primary)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path };
}

export async function runJobRequest(ctx: NodeContext, jobs: JobsContext, req: IncomingMessage, res: ServerResponse, id: bigint): Promise<void> {
  const signer = signerOf(req, true)!;
  const body = await readBody(req);
  const job = await ctx.chain.getJob(id);
  if (!sameAddress(job.creator, signer)) throw new InsituError('ERR_PERMISSION_DENIED', `job ${id} was submitted by ${job.creator}`);
  if (job.executorSpId !== ctx.spId) throw new InsituError('ERR_BAD_REQUEST', `job ${id} runs on provider ${job.executorSpId}, not here`);
  if (job.status !== 'submitted') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${id} has already run`);
  const input: ObjectInfo = await ctx.chain.headObject(job.bucket, job.object);
  const module = await loadModule(ctx, job);
  const prepared = await jobs.runtime.prepare(module);
  const located = await locateInput(ctx, jobs, input);
  const limits = {
    fuel: job.fuelLimit,
    memoryMiB: num(body.memoryMiB, 256, jobs.maxMemoryMiB),
    timeoutMs: num(body.timeoutMs, 60_000, jobs.maxTimeoutMs),
    outputBytes: num(body.outputBytes, 64 * 1024 * 1024, jobs.maxOutputBytes),
  };
  const env = (body.env && typeof body.env === 'object' ? body.env : {}) as Record<string, string>;
  const sideInputs: Record<string, Uint8Array> = {};
  for (const ref of job.sideInputs ?? []) {
    const at = ref.indexOf('/');
    const obj = await ctx.chain.headObject(ref.slice(0, at), ref.slice(at + 1));
    const parts: Uint8Array[] = [];
    const bucket = await ctx.chain.headBucket(obj.bucketName);
    const primary = bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
    const readCtx = { chain: ctx.chain, codec: ctx.codec, params: ctx.params, privateKey: ctx.operatorKey, endpointOf: async (id: number) => (await ctx.provider(id)).endpoint };
    if (bucket.primarySpId === ctx.spId && obj.payloadSize > 0n) {
      const meta = await ctx.store.meta({ objectId: obj.id, index: -1 });
      if (meta) parts.push(await ctx.store.read({ objectId: obj.id, index: -1 }, 0, meta.size));
    } else {
      for await (const chunk of readObject(readCtx, obj, primary)) parts.push(chunk);
    }
    sideInputs[obj.objectName] = Buffer.concat(parts);
  }
  const result = await jobs.runtime.run({
    moduleHash: prepared.hash,
    input: 'path' in located ? { path: located.path, length: Number(input.payloadSize) } : { bytes: located.bytes },
    args: job.args,
    env,
    sideInputs,
    limits,
    account: job.creator,
  });
  if ('path' in located && located.path.startsWith(join(jobs.dir, 'inputs'))) await rm(located.path, { force: true });
  await mkdir(jobs.dir, { recursive: true });
  await writeFile(join(jobs.dir, `${id}.out`), result.output);
  const receipt: JobReceipt = {
    jobId: id.toString(),
    executorSpId: ctx.spId,
    moduleHash: job.moduleHash,
    inputObjectId: input.id.toString(),
    inputChecksums: input.checksums.map((c) => Buffer.from(c).toString('hex')),
    args: job.args,
    state: result.state,
    code: result.code ?? null,
    exitCode: result.exitCode,
    fuelUsed: result.fuelUsed.toString(),
    outputHash: result.outputHash,
    outputBytes: result.output.length,
    stderrTail: result.stderrTail,
  };
  const signature = toHex(signDigest(receiptDigest(receipt), ctx.operatorKey));
  await writeFile(join(jobs.dir, `${id}.receipt.json`), JSON.stringify({ receipt, signature }));
  await ctx.chain.settleJob({ jobId: id, fuelUsed: result.fuelUsed, outputHash: result.outputHash, exitState: result.code ?? 'succeeded', receiptSignature: signature });
  ctx.logger.info('job settled', { jobId: id.toString(), state: result.state, fuel: result.fuelUsed.toString() });
  sendJson(res, 200, { receipt, signature });
}

export async function jobOutput(ctx: NodeContext, jobs: JobsContext, req: IncomingMessage, res: ServerResponse, id: bigint): Promise<void> {
  const signer = signerOf(req, true)!;
  const job = await ctx.chain.getJob(id);
  if (!sameAddress(job.creator, signer)) throw new InsituError('ERR_PERMISSION_DENIED', `job ${id} was submitted by ${job.creator}`);
  let data: Buffer;
  try {
    data = await readFile(join(jobs.dir, `${id}.out`));
  } catch {
    throw new InsituError('ERR_NOT_FOUND', `no output of job ${id} on this node`);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length), 'x-insitu-output-hash': createHash('sha256').update(data).digest('hex') });
  res.end(data);
}
