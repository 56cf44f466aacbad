// Re-runs disputed jobs this node was chosen to verify. It follows the chain's event feed (from a
// cursor of its own, so a restart resumes), and for every dispute naming this provider as a
// verifier runs the job with the limits the chain fixed and posts its own signed receipt. A
// re-run that hits the wall-clock limit proves nothing either way, so it posts none.

import type { NodeContext } from './context.ts';
import { executeJob, type JobsContext } from './jobs/index.ts';
import type { FeedConsumer } from './follower.ts';

const CURSOR = 'verify-cursor';

/** The verifier's part of the node's feed follower (follower.ts). */
export function jobVerifier(ctx: NodeContext, jobs: JobsContext, opts: { timeoutMs?: number } = {}): FeedConsumer {
  const timeoutMs = opts.timeoutMs ?? Math.min(jobs.maxTimeoutMs, 5 * 60_000);

  async function verify(jobId: bigint, signal: AbortSignal): Promise<void> {
    const job = await ctx.chain.getJob(jobId, { signal });
    const d = job.dispute;
    if (!d || d.outcome !== 'open' || !d.verifiers.includes(ctx.spId) || d.votes.some((v) => v.spId === ctx.spId)) return;
    const { receipt, signature } = await executeJob(ctx, jobs, job, { timeoutMs });
    if (receipt.code === 'ERR_JOB_TIMEOUT') {
      ctx.logger.warn('disputed job timed out on re-run; no receipt posted', { jobId: jobId.toString() });
      return;
    }
    await ctx.chain.verifyJob({ jobId, receipt: JSON.stringify(receipt), receiptSignature: signature }, { signal });
    ctx.logger.info('disputed job re-run', { jobId: jobId.toString(), outputHash: receipt.outputHash, fuel: receipt.fuelUsed });
  }

  return {
    cursorKey: CURSOR,
    what: 'job verifier',
    async onEvent(e, signal) {
      if ((e.type as string) !== 'job-disputed' || !String(e.attributes.verifiers ?? '').split(',').map(Number).includes(ctx.spId)) return;
      try {
        await verify(BigInt(e.attributes.job_id!), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        ctx.logger.warn('could not verify disputed job', { jobId: e.attributes.job_id, error: String(err) });
      }
    },
  };
}
