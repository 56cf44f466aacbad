// Job modules on the owner's side: `insitu job run` checks a module here, as a node's runtime
// would, before anything is escrowed. (Where the SDK stores modules, and how listings and bucket
// removal treat them, is the SDK's: see isJobModule.)

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InsituError } from '@insitu/protocol';
import { checkModule } from '@insitu/executor';

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
