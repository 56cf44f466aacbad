// What the compute module keeps: job records, their keys and indexes, and the module's chain
// parameters (read from the genesis file's optional `compute` section, else the defaults below).

import type { Hex } from '@insitu/protocol';
import type { JobInfo } from '@insitu/protocol/chain';
import type { Genesis } from '../../../genesis.ts';
import type { KV } from '../../store.ts';
import type { ComputeParams } from '@insitu/protocol/chain';
export type { ComputeParams };

/** Escrowed job fees, fees held for the dispute window and dispute bonds are held here; counted in every conservation sum. */
export const COMPUTE_ESCROW = '0x00000000000000000000000000000000000e5c00' as Hex;

/** A job as the chain keeps it (the SDK's JobInfo). */
export type JobRecord = JobInfo;

export const DEFAULT_COMPUTE_PARAMS: ComputeParams = {
  disputeWindowMs: 60 * 60_000,
  verifyWindowMs: 10 * 60_000,
  verifiers: 3,
  disputeBond: String(10n ** 15n),
  slashMin: String(10n ** 16n),
  slashFeeMultiple: 10,
  rejectFuel: '1000000',
  cancelUnackedAfterMs: 2 * 60_000,
  cancelAckedAfterMs: 30 * 60_000,
  defaultOutputBytes: 64 * 1024 * 1024,
};

export const computeParams = (g: Genesis): ComputeParams => ({ ...DEFAULT_COMPUTE_PARAMS, ...(g as Genesis & { compute?: Partial<ComputeParams> }).compute });

const pad = (n: bigint | number, w = 20): string => n.toString().padStart(w, '0');
export const jobKey = (id: bigint): string => `job/${pad(id)}`;
/** Settled fees waiting for their dispute window to close, by release time. */
export const releaseKey = (at: number, id: bigint): string => `job-release/${pad(at, 16)}/${pad(id)}`;
/** Open disputes by the deadline of their verifiers. */
export const disputeDueKey = (at: number, id: bigint): string => `job-dispute-due/${pad(at, 16)}/${pad(id)}`;

export const getJob = (kv: KV, id: bigint): Promise<JobRecord | undefined> => kv.get<JobRecord>(jobKey(id));

/** A submitter's jobs by id (walked in reverse: newest first). */
export const creatorJobKey = (creator: string, id: bigint): string => `job-creator/${creator.toLowerCase()}/${pad(id)}`;
export const creatorJobPrefix = (creator: string): string => `job-creator/${creator.toLowerCase()}/`;
/** An executor's jobs by id (a reassigned job moves to its new executor). */
export const executorJobKey = (spId: number, id: bigint): string => `job-executor/${pad(spId, 10)}/${pad(id)}`;
export const executorJobPrefix = (spId: number): string => `job-executor/${pad(spId, 10)}/`;
/** Per provider: its job counters (JobStats). */
export const jobStatsKey = (spId: number): string => `job-stats/${pad(spId, 10)}`;

export interface JobStats {
  /** Jobs waiting for it or running on it. */
  load: number;
  /** Jobs it settled or refused. */
  done: number;
  /** Jobs it settled (refusals left out) and the fees they claimed. */
  settled: number;
  earned: bigint;
}

/** What one job adds to its executor's counters in its present state. */
function countsOf(job: JobRecord): JobStats {
  const running = job.status === 'submitted' || job.status === 'running';
  const settled = job.status === 'settled';
  return { load: running ? 1 : 0, done: settled || job.status === 'rejected' ? 1 : 0, settled: settled ? 1 : 0, earned: settled ? job.fee : 0n };
}

async function addCounts(kv: KV, spId: number, c: JobStats, sign: 1 | -1): Promise<void> {
  const s = { load: 0, done: 0, settled: 0, earned: 0n, ...(await kv.get<Partial<JobStats>>(jobStatsKey(spId))) };
  s.load += sign * c.load;
  s.done += sign * c.done;
  s.settled += sign * c.settled;
  s.earned += BigInt(sign) * c.earned;
  kv.put(jobStatsKey(spId), s);
}

/**
 * Stores a job and keeps its indexes in the same write set: by submitter, by executor, and the
 * executor's counters (load, done, settled and earned), so listings and provider stats read a page or a counter,
 * never every job. Every write of a job record goes through here.
 */
export async function saveJob(kv: KV, job: JobRecord): Promise<void> {
  const before = await getJob(kv, job.id);
  if (!before) kv.put(creatorJobKey(job.creator, job.id), job.id);
  if (before?.executorSpId !== job.executorSpId) {
    if (before) kv.del(executorJobKey(before.executorSpId, job.id));
    kv.put(executorJobKey(job.executorSpId, job.id), job.id);
  }
  const was = before ? countsOf(before) : null;
  const is = countsOf(job);
  const same = (a: JobStats, b: JobStats): boolean => a.load === b.load && a.done === b.done && a.settled === b.settled && a.earned === b.earned;
  if (!was || before!.executorSpId !== job.executorSpId || !same(was, is)) {
    if (before) await addCounts(kv, before.executorSpId, was!, -1);
    await addCounts(kv, job.executorSpId, is, 1);
  }
  kv.put(jobKey(job.id), job);
}
