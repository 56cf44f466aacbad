// Deletes a bucket that holds none of the owner's objects. The job modules the SDK stored in it
// go with it (the chain deletes only empty buckets), unless a job of the caller's may still be
// re-run from one of them: then nothing is deleted (ERR_JOB_RUNNING).

import { InsituError } from '@insitu/protocol';
import type { JobInfo, TxResult } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import { isJobModule, mayNeedModule } from '../jobModules.ts';

export interface DeleteBucketResult extends TxResult {
  /** The stored job modules removed with the bucket. */
  removedJobModules: string[];
}

/** The chain answers at most this many objects, and this many jobs, per query. */
const PAGE = 1000;

export async function deleteBucket(ctx: ClientContext, name: string, opts: CallOptions = {}): Promise<DeleteBucketResult> {
  const modules = await onlyJobModules(ctx, name, opts);
  if (modules.length > 0) {
    const inUse = await jobNeedingModule(ctx, name, opts);
    if (inUse) {
      throw new InsituError('ERR_JOB_RUNNING', `job ${inUse.id} over ${inUse.bucket}/${inUse.object} (${inUse.status}) may still be re-run from its module in ${name}: remove the bucket once its dispute window has passed`);
    }
    for (const m of modules) await ctx.chain.deleteObject(name, m, sig(opts));
  }
  return { ...(await ctx.chain.deleteBucket(name, sig(opts))), removedJobModules: modules };
}

/**
 * The job modules in the caller's bucket when they are all it holds; none when anything else is
 * left, or the bucket is someone else's (the chain then refuses the bucket, ERR_BUCKET_NOT_EMPTY
 * or ERR_PERMISSION_DENIED, and the modules stay).
 */
async function onlyJobModules(ctx: ClientContext, bucket: string, opts: CallOptions): Promise<string[]> {
  const me = ctx.chain.address.toLowerCase();
  const modules: string[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await ctx.chain.listObjects(bucket, { ...sig(opts), limit: PAGE, ...(after !== undefined ? { startAfter: after } : {}) });
    for (const o of rows) {
      // An object's owner is its bucket's owner.
      if (!isJobModule(o.objectName) || o.owner.toLowerCase() !== me) return [];
      modules.push(o.objectName);
    }
    if (rows.length < PAGE) return modules;
    after = rows.at(-1)!.objectName;
  }
}

/** A job of the caller's that may still be re-run from its module in `bucket`, reading every page of its jobs. */
async function jobNeedingModule(ctx: ClientContext, bucket: string, opts: CallOptions): Promise<JobInfo | undefined> {
  let after: bigint | undefined;
  for (;;) {
    const jobs = await ctx.chain.listJobs(ctx.chain.address, { ...sig(opts), limit: PAGE, ...(after !== undefined ? { startAfter: after } : {}) });
    const found = jobs.find((j) => mayNeedModule(j, bucket));
    if (found || jobs.length < PAGE) return found;
    after = jobs.at(-1)!.id;
  }
}
