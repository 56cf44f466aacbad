// Job modules as objects. The SDK stores a job's module once per content hash as
// `.insitu/modules/<sha256>.wasm` in a bucket of the submitter's: the client's bookkeeping, not
// the owner's data. Listings leave these objects out unless asked, and a bucket being removed
// takes them with it (the chain, like Greenfield's, deletes only empty buckets) once no job may
// still be re-run from one of them.

import type { JobInfo } from '@insitu/protocol/chain';

/** Where the SDK stores job modules in a bucket. */
export const JOB_MODULES_PREFIX = '.insitu/modules/';

const MODULE_NAME = /^\.insitu\/modules\/[0-9a-f]{64}\.wasm$/;

/** Whether an object name is a job module the SDK stored (content-addressed under .insitu/modules/). */
export const isJobModule = (name: string): boolean => MODULE_NAME.test(name);

/** The object a module with this SHA-256 (hex) is stored as. */
export const jobModuleName = (sha256: string): string => `${JOB_MODULES_PREFIX}${sha256}.wasm`;

/**
 * Whether job `j` may still be run from its module in `bucket`: running, within its dispute
 * window or disputed (verifiers re-run it), over an input that outlives the bucket. A job over the
 * bucket's own objects cannot run again once they are gone, and they are gone when only modules
 * are left.
 */
export const mayNeedModule = (j: JobInfo, bucket: string): boolean =>
  j.moduleBucket === bucket && j.bucket !== bucket &&
  (j.status === 'submitted' || j.status === 'running' || j.releaseAt > 0 || j.dispute?.outcome === 'open');
