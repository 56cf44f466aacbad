// Near-data jobs on the node (project extension), the HTTP side. POST /insitu/v1/jobs/{id} —
// signed by the job's submitter — asks the executor the chain chose to run a job it escrowed
// (jobs/settle.ts runs and settles it once); GET /insitu/v1/jobs/{id}/output returns the output
// to the submitter, or a map's output to the providers reducing it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError, sameAddress } from '@insitu/protocol';
import type { NodeContext } from '../context.ts';
import { runOnce, readOutput, type JobsContext } from '../jobs/index.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';

export type { JobsContext };

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

export async function runJobRequest(ctx: NodeContext, jobs: JobsContext, req: IncomingMessage, res: ServerResponse, id: bigint): Promise<void> {
  const signer = signerOf(req, true)!;
  const body = await readBody(req);
  const job = await ctx.chain.getJob(id);
  if (!sameAddress(job.creator, signer)) throw new InsituError('ERR_PERMISSION_DENIED', `job ${id} was submitted by ${job.creator}`);
  if (job.executorSpId !== ctx.spId) throw new InsituError('ERR_BAD_REQUEST', `job ${id} runs on provider ${job.executorSpId}, not here`);
  sendJson(res, 200, await runOnce(ctx, jobs, job, num(body.timeoutMs, 60_000, jobs.maxTimeoutMs)));
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
  const data = await readOutput(jobs, id);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length), 'x-insitu-output-hash': createHash('sha256').update(data).digest('hex') });
  res.end(data);
}
