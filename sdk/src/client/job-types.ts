// What a job is submitted with and what a run of it gives back: the types jobs.ts and dataset.ts
// share.

import type { JobReceipt } from '@insitu/protocol';
import type { ObjectInfo, StorageProvider, SubmitJobInput } from '@insitu/protocol/chain';

export interface JobLimitsInput {
  fuel?: bigint;
  memoryMiB?: number;
  timeoutMs?: number;
  outputBytes?: number;
}

export interface SubmitJobOptions {
  /** WASM bytes or a path to a .wasm file. */
  module: Uint8Array | string;
  /** "bucket/name" of the input object. */
  input: string;
  args?: string[];
  /** Small objects ("bucket/name") the job reads under /inputs/<name>. */
  sideInputs?: string[];
  env?: Record<string, string>;
  limits?: JobLimitsInput;
  maxFee: bigint;
  /** Bucket to store the module in (default: the input's bucket). */
  moduleBucket?: string;
  /** Provider to run on (default: the primary of the input's bucket, which holds it whole). */
  executorSpId?: number;
  /** Run under this data offer (the offer is the permission; its data fee is escrowed on top of maxFee). */
  offerId?: bigint;
  /** The chain picks a holder of the input charging at most this per unit of fuel. */
  maxComputePrice?: bigint;
  /** The chain picks the cheapest holder of the input in service. */
  cheapest?: boolean;
  /**
   * "bucket/name": store the output as an object of yours (an ordinary sealed upload) and record
   * on chain which job made it, so the next job of a pipeline can read it or you can offer it.
   */
  output?: string;
  /**
   * Map over the data pieces on the secondaries that hold them (a piece whose holder is down is
   * rebuilt from the other pieces elsewhere), then reduce on the primary. maxFee is split evenly
   * between the maps and the reduce; the fuel limit applies to each.
   */
  parallel?: boolean;
  signal?: AbortSignal;
}

export interface JobRun {
  id: bigint;
  receipt: JobReceipt;
  signature: string;
  executor: StorageProvider;
  /** For a parallel job: its maps, in data piece order. */
  maps?: JobRun[];
  /** Jobs submitted to providers that did not answer: their escrow comes back with jobs.cancel after the chain's short deadline. */
  abandoned?: bigint[];
  /** The stored output (with `output`). */
  stored?: ObjectInfo;
}

/** What a job is submitted with, but its fee and executor. */
export type JobSpec = Omit<SubmitJobInput, 'maxFee' | 'executorSpId'>;
