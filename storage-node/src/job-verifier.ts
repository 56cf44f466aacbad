// Re-runs disputed jobs this node was chosen to verify. It follows the chain's event feed (from a
// cursor of its own, so a restart resumes), and for every dispute naming this provider as a
// verifier runs the job with the limits the chain fixed and posts its own signed receipt. A
// re-run that hits the wall-clock limit proves nothing either way, so it posts none.

import type { NodeContext } from './context.ts';
import { executeJob, type JobsContext } from './http/jobs.ts';

const CURSOR = 'verify-cursor';

export function startJobVerifier(ctx: NodeContext, jobs: JobsContext, opts: { timeoutMs?: number } = {}): { stop(): Promise<void> } {
  const ac = new AbortController();
  const timeoutMs = opts.timeoutMs ?? Math.min(jobs.maxTimeoutMs, 5 * 60_000);

  async function verify(jobId: bigint): Promise<void> {
    const job = await ctx.chain.getJob(jobId, { signal: ac.signal });
    const d = job.dispute;
    if (!d || d.outcome !== 'open' || !d.verifiers.includes(ctx.spId) || d.votes.some((v) => v.spId === ctx.spId)) return;
    const { receipt, signature } = await executeJob(ctx, jobs, job, { timeoutMs });
    if (receipt.code === 'ERR_JOB_TIMEOUT') {
      ctx.logger.warn('disputed job timed out on re-run; no receipt posted', { jobId: jobId.toString() });
      return;
    }
    await ctx.chain.verifyJob({ jobId, receipt: JSON.stringify(receipt), receiptSignature: signature }, { signal: ac.signal });
    ctx.logger.info('disputed job re-run', { jobId: jobId.toString(), outputHash: receipt.outputHash, fuel: receipt.fuelUsed });
  }

  const loop = (async () => {
    let cursor = BigInt((await ctx.store.getState(CURSOR)) ?? '0');
    while (!ac.signal.aborted) {
      try {
        const events = await ctx.chain.events(cursor, { waitMs: 2000, limit: 200, signal: ac.signal });
        for (const e of events) {
          if ((e.type as string) === 'job-disputed' && String(e.attributes.verifiers ?? '').split(',').map(Number).includes(ctx.spId)) {
            try {
              await verify(BigInt(e.attributes.job_id!));
            } catch (err) {
              if (ac.signal.aborted) break;
              ctx.logger.warn('could not verify disputed job', { jobId: e.attributes.job_id, error: String(err) });
            }
          }
          cursor = e.seq;
        }
        if (events.length > 0) await ctx.store.setState(CURSOR, cursor.toString());
      } catch (e) {
        if (ac.signal.aborted) break;
        ctx.logger.warn('event feed unavailable to the job verifier; retrying', { error: String(e) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return {
    async stop() {
      ac.abort();
      await loop;
    },
  };
}
