// Where a node keeps what its job runs produced: the output it serves to the submitter (or to the
// providers reducing a map) and the signed receipt it answers a repeated request with.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InsituError, type JobReceipt } from '@insitu/protocol';
import type { JobsContext } from './context.ts';

export interface SignedReceipt {
  receipt: JobReceipt;
  signature: string;
}

/** The output of job `id` run here, or ERR_NOT_FOUND. */
export async function readOutput(jobs: Pick<JobsContext, 'dir'>, id: bigint): Promise<Buffer> {
  try {
    return await readFile(join(jobs.dir, `${id}.out`));
  } catch {
    throw new InsituError('ERR_NOT_FOUND', `no output of job ${id} on this node`);
  }
}

export async function keepOutput(jobs: Pick<JobsContext, 'dir'>, id: bigint, output: Uint8Array): Promise<void> {
  await mkdir(jobs.dir, { recursive: true });
  await writeFile(join(jobs.dir, `${id}.out`), output);
}

/** Written once the receipt is settled on chain: its presence means the job needs no further run here. */
export async function keepReceipt(jobs: Pick<JobsContext, 'dir'>, id: bigint, signed: SignedReceipt): Promise<void> {
  await writeFile(join(jobs.dir, `${id}.receipt.json`), JSON.stringify(signed));
}

export async function storedReceipt(jobs: Pick<JobsContext, 'dir'>, id: bigint): Promise<SignedReceipt | undefined> {
  try {
    return JSON.parse(await readFile(join(jobs.dir, `${id}.receipt.json`), 'utf8')) as SignedReceipt;
  } catch {
    return undefined;
  }
}
