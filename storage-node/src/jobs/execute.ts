// Running a job the chain recorded with its inputs: the module (checked against the hash the job
// names), the side inputs, and the input object — whole, or split by data piece (map-reduce.ts) —
// under the limits the chain fixed, so any node's re-run gives the same receipt, which it signs.

import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InsituError, signDigest, toHex, receiptDigest, type JobReceipt } from '@insitu/protocol';
import type { JobInfo, ObjectInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';
import { readAsNode, locateAsNode } from '../read-object.ts';
import { EMPTY, type JobsContext, type Outcome, type RunBase } from './context.ts';
import { runPart } from './run-part.ts';
import { runMap, runReduce, runGather } from './map-reduce.ts';

async function loadModule(ctx: NodeContext, job: JobInfo, maxModuleBytes: number): Promise<Uint8Array> {
  const obj = await ctx.chain.headObject(job.moduleBucket, job.moduleObject);
  // Refused before a byte is fetched: a module larger than the runtime runs ends as a refusal.
  if (obj.payloadSize > BigInt(maxModuleBytes)) {
    throw new InsituError('ERR_PAYLOAD_TOO_LARGE', `the module is ${obj.payloadSize} bytes; this node runs modules of at most ${maxModuleBytes} bytes`);
  }
  // From the module bucket's primary, checked against the chain — or, when that node is down (a
  // verifier re-running a job whose executor went away), rebuilt from the secondaries' pieces.
  const bytes = await readAsNode(ctx, obj, { jobId: job.id });
  if (bytes.length !== Number(obj.payloadSize)) throw new InsituError('ERR_PIECE_NOT_FOUND', `module ${job.moduleBucket}/${job.moduleObject} is not available`);
  if (createHash('sha256').update(bytes).digest('hex') !== job.moduleHash) {
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `module ${job.moduleBucket}/${job.moduleObject} does not hash to ${job.moduleHash}`);
  }
  return bytes;
}

async function loadSideInputs(ctx: NodeContext, job: JobInfo): Promise<Record<string, Uint8Array>> {
  const sideInputs: Record<string, Uint8Array> = {};
  for (const ref of job.sideInputs ?? []) {
    const at = ref.indexOf('/');
    const obj = await ctx.chain.headObject(ref.slice(0, at), ref.slice(at + 1));
    // The executor reads a side input in another provider's bucket for this job (provider-role.ts).
    sideInputs[obj.objectName] = await readAsNode(ctx, obj, { jobId: job.id });
  }
  return sideInputs;
}

/** The job over the whole input object, streamed from where this node has it. */
async function runWhole(ctx: NodeContext, jobs: JobsContext, input: ObjectInfo, base: RunBase): Promise<Outcome> {
  const { located, temporary } = await locateAsNode(ctx, input, join(jobs.dir, 'inputs'));
  try {
    return await runPart(jobs, base, 'path' in located ? { path: located.path, length: Number(input.payloadSize) } : { bytes: located.bytes }, {}, 0n);
  } finally {
    if (temporary && 'path' in located) await rm(located.path, { force: true });
  }
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
    else result = await runWhole(ctx, jobs, input, base);
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
