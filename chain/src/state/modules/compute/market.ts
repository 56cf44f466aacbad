// The compute market's own messages beside submission: a provider sets its compute price, a
// submitter moves a job its executor did not run in time to another holder of the input, and the
// per-provider view (price, load, jobs done) that buyers choose by.

import { sameAddress } from '@insitu/protocol';
import { fail, emit, type MsgHandler, type QueryTable } from '../../context.ts';
import { big } from '../../../gnfd.ts';
import { listProviders, providerByOperator } from '../providers.ts';
import { getBucket, getObjectById } from '../storage-records.ts';
import { computeParams, jobKey, jobStatsKey, saveJob, type JobRecord, type JobStats } from './records.ts';
import { candidatesOf, chooseExecutor } from './executor.ts';

/**
 * A job its executor did not acknowledge within the short deadline (or acknowledged and never
 * settled within the long one) moves to another provider holding the input, chosen like at
 * submission but never the one it leaves; the deadline starts again and the escrow stays.
 */
export const msgReassignJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await ctx.kv.get<JobRecord>(jobKey(id));
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  if (!sameAddress(job.creator, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the submitter of job ${id} may reassign it`);
  if (job.status !== 'submitted' && job.status !== 'running') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  const params = computeParams(ctx.genesis);
  const at = job.status === 'running' ? job.ackedAt + params.cancelAckedAfterMs : job.submittedAt + params.cancelUnackedAfterMs;
  if (ctx.now < at) fail(job.status === 'running' ? 'ERR_JOB_RUNNING' : 'ERR_INVALID_ARGUMENT', `provider ${job.executorSpId} has until ${new Date(at).toISOString()} to run job ${id}`);
  const maxPriceText = String(msg.maxComputePrice ?? '');
  if (maxPriceText !== '' && !/^\d{1,40}$/.test(maxPriceText)) fail('ERR_INVALID_ARGUMENT', `maxComputePrice must be a whole number of base units, not "${maxPriceText.slice(0, 40)}"`);
  const input = await getObjectById(ctx.kv, job.objectId);
  const bucket = await getBucket(ctx.kv, job.bucket);
  if (!input || !bucket) return fail('ERR_OBJECT_NOT_FOUND', `the input of job ${id} is gone`);
  const from = job.executorSpId;
  const exclude = [...new Set([...(job.reassignedFrom ?? []), from])];
  const chosen = await chooseExecutor(ctx.kv, (await candidatesOf(ctx.kv, bucket.primarySpId, input.gvgId)), {
    // Without a limit of its own, the job keeps the price it was submitted at as its limit.
    named: Number(msg.executorSpId || 0), maxPrice: maxPriceText === '' ? (job.computePrice ?? null) : BigInt(maxPriceText), cheapest: true, exclude,
  });
  Object.assign(job, { executorSpId: chosen.spId, computePrice: chosen.price, status: 'submitted', submittedAt: ctx.now, ackedAt: 0, reassignedFrom: [...(job.reassignedFrom ?? []), from] });
  await saveJob(ctx.kv, job);
  emit(ctx, 'job-reassigned', { job_id: id, from_sp_id: from, sp_id: chosen.spId, compute_price: chosen.price });
  return { executorSpId: chosen.spId, computePrice: chosen.price.toString() };
};

/**
 * A provider sets the price it asks per unit of fuel: what the executor choice compares. Jobs
 * already submitted keep the price they were submitted at.
 */
export const msgSetComputePrice: MsgHandler = async (ctx, msg) => {
  const sp = await providerByOperator(ctx.kv, ctx.signer);
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `${ctx.signer} is not a provider's operator`);
  const text = String(msg.computePrice ?? '');
  if (!/^\d{1,30}$/.test(text)) fail('ERR_INVALID_ARGUMENT', `computePrice must be a whole number of base units per unit of fuel, not "${text.slice(0, 40)}"`);
  sp.computePrice = BigInt(text).toString();
  ctx.kv.put(`sp/${sp.id}`, sp);
  emit(ctx, 'provider-compute-price', { sp_id: sp.id, compute_price: sp.computePrice });
  return {};
};

export const marketQueries: QueryTable = {
  /**
   * Project extension (JSON): per provider, its compute price, jobs waiting or running on it
   * (load), jobs it settled or refused (done), and the jobs it settled with the fees they claimed.
   */
  '/insitu.compute.Query/ProviderStats': async (ctx) => {
    const stats = new Map<number, { spId: number; computePrice: string } & JobStats>();
    for (const p of await listProviders(ctx.kv)) stats.set(p.id, { spId: p.id, computePrice: p.computePrice, load: 0, done: 0, settled: 0, earned: 0n });
    // Counters kept with every job write (records.ts saveJob): one read per provider, not per job.
    for (const s of stats.values()) Object.assign(s, (await ctx.kv.get<JobStats>(jobStatsKey(s.spId))) ?? {});
    return { providers: [...stats.values()] };
  },
};
