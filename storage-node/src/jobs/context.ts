// What a node's job runs share: the runtime, where outputs and receipts are kept, and the node's
// own ceilings over what the chain lets a job ask for.

import type { JobRuntime, JobResult } from '@insitu/executor';

export interface JobsContext {
  runtime: JobRuntime;
  /** Outputs ({id}.out), receipts ({id}.receipt.json) and inputs read from the network (inputs/). */
  dir: string;
  maxMemoryMiB: number;
  maxTimeoutMs: number;
  maxOutputBytes: number;
}

/** What one run (or a map/reduce of several) ends with, before it becomes a receipt. */
export type Outcome = Omit<JobResult, 'outputHash' | 'durationMs' | 'message'> & { message?: string };

/** What every run of one job shares: its module, arguments, side inputs, limits and account. */
export interface RunBase {
  moduleHash: string;
  args: string[];
  env: Record<string, string>;
  sideInputs: Record<string, Uint8Array>;
  limits: { fuel: bigint; memoryMiB: number; timeoutMs: number; outputBytes: number };
  account: string;
}

export const EMPTY = new Uint8Array(0);
