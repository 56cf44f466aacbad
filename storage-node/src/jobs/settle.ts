// The executor's side of a job: run it once on this node, acknowledge and settle it on chain, and
// keep its output and receipt. A second request while it runs waits for that run; a later one
// gets the kept receipt.

import { InsituError } from '@insitu/protocol';
import type { JobInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';
import type { JobsContext } from './context.ts';
import { executeJob } from './execute.ts';
import { keepOutput, keepReceipt, storedReceipt, type SignedReceipt } from './outputs.ts';

async function runAndSettle(ctx: NodeContext, jobs: JobsContext, job: JobInfo, timeoutMs: number): Promise<SignedReceipt> {
  const startedAt = Date.now();
  const id = job.id;
  const done = await executeJob(ctx, jobs, job, {
    timeoutMs,
    beforeRun: async () => {
      if (job.status === 'submitted') await ctx.chain.ackJob(id);
    },
  });
  const { receipt, signature } = done;
  await keepOutput(jobs, id, done.output);
  await ctx.chain.settleJob({ jobId: id, receipt: JSON.stringify(receipt), receiptSignature: signature });
  await keepReceipt(jobs, id, { receipt, signature });
  const outcome = receipt.state === 'rejected' ? 'rejected' : (receipt.code ?? 'succeeded');
  ctx.metrics.jobs.inc({ mode: job.mode || 'whole', outcome });
  ctx.metrics.jobFuel.inc(Number(receipt.fuelUsed));
  ctx.metrics.jobSeconds.observe({ mode: job.mode || 'whole' }, (Date.now() - startedAt) / 1000);
  ctx.logger.info('job settled', { jobId: id.toString(), mode: job.mode || 'whole', state: receipt.state, fuel: receipt.fuelUsed });
  return { receipt, signature };
}

/** Jobs this node is running now, by id, per jobs context. */
const inFlight = new WeakMap<JobsContext, Map<string, Promise<SignedReceipt>>>();

/** Job `job` run and settled here at most once: the receipt of the run under way, or of the one already settled. */
export function runOnce(ctx: NodeContext, jobs: JobsContext, job: JobInfo, timeoutMs: number): Promise<SignedReceipt> {
  let running = inFlight.get(jobs);
  if (!running) inFlight.set(jobs, (running = new Map()));
  const key = job.id.toString();
  let run = running.get(key);
  if (!run) {
    // Registered before anything is awaited, so concurrent requests cannot both start it.
    run = (async () => {
      const kept = await storedReceipt(jobs, job.id);
      if (kept) return kept;
      if (job.status !== 'submitted' && job.status !== 'running') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${job.id} is ${job.status}`);
      return runAndSettle(ctx, jobs, job, timeoutMs);
    })().finally(() => running!.delete(key));
    running.set(key, run);
  }
  return run;
}
