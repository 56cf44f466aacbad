// Job modules on the owner's side. `insitu job run` checks a module here, as a node's runtime
// would, before anything is escrowed; the SDK stores a module once per content hash as
// `.insitu/modules/<sha256>.wasm` in a bucket of the submitter's, a name the CLI keeps out of the
// owner's listings and removes with the bucket (the chain, like Greenfield's, deletes only empty
// buckets).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InsituError } from '@insitu/protocol';
import type { JobInfo, ObjectInfo } from '@insitu/protocol/chain';
import type { InsituClient } from '@insitu/sdk';
import { checkModule } from '@insitu/executor';

const MODULE_NAME = /^\.insitu\/modules\/[0-9a-f]{64}\.wasm$/;

/** Whether an object is a job module the SDK stored (content-addressed under .insitu/modules/). */
export const isJobModule = (name: string): boolean => MODULE_NAME.test(name);

/**
 * The module at `path`, refused with the code a node would give (ERR_JOB_INVALID_MODULE,
 * ERR_JOB_FORBIDDEN_IMPORT, ERR_JOB_NO_ENTRYPOINT, ERR_PAYLOAD_TOO_LARGE, and ERR_JOB_MEMORY_LIMIT
 * when its instances need more than the job's `memoryMiB`) when it could not run.
 */
export async function checkedModule(cwd: string, path: string, opts: { memoryMiB?: number } = {}): Promise<{ bytes: Uint8Array; kind: 'core' | 'component'; hash: string }> {
  const bytes = new Uint8Array(await readFile(resolve(cwd, path)));
  try {
    const { kind, hash } = await checkModule(bytes, opts);
    return { bytes, kind, hash };
  } catch (e) {
    if (e instanceof InsituError) throw new InsituError(e.code, `${path}: ${e.message}; nothing was escrowed`, { cause: e });
    throw e;
  }
}

/**
 * A job of the caller's that may still be run from its module in `bucket`: running, within its
 * dispute window or disputed (verifiers re-run it), over an input that outlives the bucket. A job
 * over the bucket's own objects cannot run again once they are gone.
 */
const mayNeedModule = (j: JobInfo, bucket: string): boolean =>
  j.moduleBucket === bucket && j.bucket !== bucket && (j.status === 'submitted' || j.status === 'running' || j.releaseAt > 0 || j.dispute?.outcome === 'open');

/**
 * Removes the job modules from a bucket about to be removed, once nothing else is left in it and
 * no job of the caller's may still need one of them.
 */
export async function clearJobModules(c: InsituClient, bucket: string): Promise<ObjectInfo[]> {
  const objects = await c.objects.list(bucket);
  const modules = objects.filter((o) => isJobModule(o.objectName));
  if (modules.length === 0 || modules.length < objects.length) return [];
  const inUse = (await c.jobs.list()).find((j) => mayNeedModule(j, bucket));
  if (inUse) {
    throw new InsituError('ERR_JOB_RUNNING', `job ${inUse.id} over ${inUse.bucket}/${inUse.object} (${inUse.status}) may still be re-run from its module in ${bucket}: remove the bucket once its dispute window has passed`);
  }
  for (const m of modules) await c.objects.delete(bucket, m.objectName);
  return modules;
}
