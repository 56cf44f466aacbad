// Jobs split by data piece: a map runs over the whole lines of each range of one data piece and
// frames its output with the partial lines at the edges; a reduce stitches those lines across
// pieces, maps them and runs the reduce step over every map output in object order; a dataset's
// reduce (gather) runs the reduce step over its maps' whole-object outputs.

import { createHash } from 'node:crypto';
import { request } from 'undici';
import { InsituError } from '@insitu/protocol';
import type { JobInfo, ObjectInfo } from '@insitu/protocol/chain';
import { pieceRanges, splitRange, encodeFrames, decodeFrames, stitch, type MapFrame } from '@insitu/protocol/parallel';
import { signRequest } from '@insitu/protocol/auth';
import { spDispatcher, errorFrom } from '@insitu/sdk/sp';
import type { NodeContext } from '../context.ts';
import { pieceReader } from '../read-object.ts';
import { EMPTY, type JobsContext, type Outcome, type RunBase } from './context.ts';
import { runPart } from './run-part.ts';
import { readOutput } from './outputs.ts';

/** A map: the job over the whole lines of each range of one data piece, framed with the partial lines. */
export async function runMap(ctx: NodeContext, jobs: JobsContext, job: JobInfo, input: ObjectInfo, base: RunBase): Promise<Outcome> {
  const size = Number(input.payloadSize);
  const ranges = pieceRanges(size, ctx.params.maxSegmentSize, ctx.params.dataChunks, job.pieceIndex);
  const read = ranges.length ? await pieceReader(ctx, input, job.pieceIndex) : null;
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
export async function mapOutput(ctx: NodeContext, jobs: JobsContext, m: JobInfo, forJob?: bigint): Promise<Uint8Array> {
  let data: Uint8Array;
  if (m.executorSpId === ctx.spId) data = await readOutput(jobs, m.id);
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

async function succeededMap(ctx: NodeContext, mid: bigint): Promise<JobInfo> {
  const m = await ctx.chain.getJob(mid);
  if (m.status !== 'settled' || m.exitState !== 'succeeded') throw new InsituError('ERR_INVALID_ARGUMENT', `map job ${mid} has not succeeded (${m.status}${m.exitState ? `, ${m.exitState}` : ''})`);
  return m;
}

/** A reduce: joins the lines across pieces, maps them, and runs the reduce step over every map output in object order. */
export async function runReduce(ctx: NodeContext, jobs: JobsContext, job: JobInfo, input: ObjectInfo, base: RunBase): Promise<Outcome> {
  const size = Number(input.payloadSize);
  const frames: MapFrame[] = [];
  for (const [i, mid] of job.mapJobs.entries()) {
    const m = await succeededMap(ctx, mid);
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
export async function runGather(ctx: NodeContext, jobs: JobsContext, job: JobInfo, base: RunBase): Promise<Outcome> {
  const outputs: Uint8Array[] = [];
  for (const mid of job.mapJobs) outputs.push(await mapOutput(ctx, jobs, await succeededMap(ctx, mid), job.id));
  return runPart(jobs, base, { bytes: Buffer.concat(outputs) }, { INSITU_PHASE: 'reduce' }, 0n);
}
