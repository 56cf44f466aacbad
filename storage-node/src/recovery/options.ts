// The operator's recovery settings and their defaults. Repair starts at once (start-up check,
// reads, scrubbing); the settings bound how much of the node it may take, how fast scrubbing
// reads, how peers are watched and how long unsealed uploads are kept.

export interface RecoveryOptions {
  /** Scrubbing reads continuously at this rate (bytes per second); 0 turns background scrubbing off (scrubOnce still works). */
  scrubBytesPerSecond?: number;
  /** Least time from the start of one scrub pass to the start of the next (a small store is not re-read in a tight loop); 0 turns background scrubbing off. */
  scrubIntervalMs?: number;
  /** Time between health probes of the providers sharing a group; 0 turns probing off. */
  probeIntervalMs?: number;
  /** A provider unreachable this long is reported down. */
  downAfterMs?: number;
  /** Time between looks for exiting providers to take over from; 0 turns it off. */
  swapIntervalMs?: number;
  /** Rebuilds running at once. */
  repairConcurrency?: number;
  /** Bytes per second all rebuilds together may receive (0: unbounded). */
  repairBytesPerSecond?: number;
  /** At start, compare what the chain says this node holds with what it has and rebuild the difference. */
  startupCheck?: boolean;
  /** Data of objects still unsealed this long after their creation (chain time) is removed; 0 keeps it. */
  unsealedTimeoutMs?: number;
  /** Time between looks for such data; 0 turns it off. */
  gcIntervalMs?: number;
}

export type ResolvedRecoveryOptions = Required<RecoveryOptions>;

export const DEFAULT_RECOVERY: ResolvedRecoveryOptions = {
  scrubBytesPerSecond: 32 * 1024 * 1024,
  scrubIntervalMs: 60_000,
  probeIntervalMs: 30_000,
  downAfterMs: 10 * 60_000,
  swapIntervalMs: 30_000,
  repairConcurrency: 2,
  repairBytesPerSecond: 128 * 1024 * 1024,
  startupCheck: true,
  unsealedTimeoutMs: 24 * 3_600_000,
  gcIntervalMs: 10 * 60_000,
};

/** Checks the values (non-negative numbers) and fills in the defaults. */
export function resolveRecoveryOptions(options: RecoveryOptions = {}): ResolvedRecoveryOptions {
  const out = { ...DEFAULT_RECOVERY, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedRecoveryOptions;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) throw new TypeError(`recovery option ${k} must be a non-negative number, not ${v}`);
  }
  if (out.repairConcurrency < 1) throw new TypeError('recovery option repairConcurrency must be at least 1');
  return out;
}
