// One run of a job's module over one input, drawing on the fuel the job has left.

import type { JobInput } from '@insitu/executor';
import { EMPTY, type JobsContext, type Outcome, type RunBase } from './context.ts';

/** One run of the module; `spent` fuel is already used by earlier runs of the same job. */
export async function runPart(jobs: JobsContext, base: RunBase, input: JobInput, env: Record<string, string>, spent: bigint): Promise<Outcome> {
  const fuel = base.limits.fuel - spent;
  if (fuel <= 0n) return { state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job ran out of fuel', exitCode: -1, fuelUsed: 0n, output: EMPTY, stderrTail: '' };
  return jobs.runtime.run({ moduleHash: base.moduleHash, input, args: base.args, env: { ...base.env, ...env }, sideInputs: base.sideInputs, limits: { ...base.limits, fuel }, account: base.account });
}
