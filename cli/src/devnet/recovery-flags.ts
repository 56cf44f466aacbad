// The storage nodes' recovery settings as command-line flags: `insitu node start` takes them for
// its node, `insitu devnet up` passes them to every node it runs. Defaults are the node's own
// (DEFAULT_RECOVERY); a flag left out keeps it.

import type { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import { DEFAULT_RECOVERY, type RecoveryOptions, type RecoveryStatus } from '@insitu/storage-node';
import { formatBytes } from '../io.ts';

const mib = (n: number): string => `${n / 2 ** 20} MiB/s`;

/** Option name (as commander camel-cases it), flag, help. */
const FLAGS: [keyof RecoveryOptions, string, string][] = [
  ['scrubBytesPerSecond', '--scrub-bytes-per-second <n>', `scrub (re-read and re-hash) what the node holds continuously at this many bytes per second (default ${mib(DEFAULT_RECOVERY.scrubBytesPerSecond)}; 0: off)`],
  ['scrubIntervalMs', '--scrub-interval-ms <ms>', `least time between the starts of two scrub passes (default ${DEFAULT_RECOVERY.scrubIntervalMs}; 0: off)`],
  ['probeIntervalMs', '--probe-interval-ms <ms>', `time between health probes of the providers sharing a group (default ${DEFAULT_RECOVERY.probeIntervalMs}; 0: off)`],
  ['downAfterMs', '--down-after-ms <ms>', `report a provider unreachable for this long (default ${DEFAULT_RECOVERY.downAfterMs})`],
  ['repairConcurrency', '--repair-concurrency <n>', `rebuilds running at once (default ${DEFAULT_RECOVERY.repairConcurrency})`],
  ['repairBytesPerSecond', '--repair-bytes-per-second <n>', `bytes per second all rebuilds together may receive (default ${mib(DEFAULT_RECOVERY.repairBytesPerSecond)}; 0: unbounded)`],
  ['unsealedTimeoutMs', '--unsealed-timeout-ms <ms>', `remove the data of uploads still unsealed this long after their object was created, in chain time (default ${DEFAULT_RECOVERY.unsealedTimeoutMs}; 0: keep)`],
];

/** Adds the recovery flags to a command; returns it. */
export function recoveryFlags(cmd: Command): Command {
  for (const [, flag, help] of FLAGS) cmd.option(flag, help);
  return cmd;
}

/** The flags given, checked, as the node's options. */
export function recoveryOptions(o: Record<string, unknown>): RecoveryOptions {
  const out: RecoveryOptions = {};
  for (const [key, flag] of FLAGS) {
    const v = o[key];
    if (v === undefined) continue;
    const n = Number(v);
    const name = flag.split(' ')[0]!;
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InsituError('ERR_INVALID_ARGUMENT', `${name} must be a non-negative number, not "${String(v)}"`);
    if (key === 'repairConcurrency' && (!Number.isInteger(n) || n < 1)) throw new InsituError('ERR_INVALID_ARGUMENT', `${name} must be a whole number of at least 1, not "${v}"`);
    out[key] = n as never;
  }
  return out;
}

/** The flags given, checked, as arguments for a node process (storage-node/src/bin.ts). */
export function recoveryArgs(o: Record<string, unknown>): string[] {
  const opts = recoveryOptions(o);
  return FLAGS.flatMap(([key, flag]) => (opts[key] === undefined ? [] : [flag.split(' ')[0]!, String(opts[key])]));
}

const secs = (ms: number): string => (ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 7_200_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

/** `insitu node status`: what the node should hold against what it has, and the time to heal. */
export function holdingsLine(h: RecoveryStatus['holdings']): string {
  const head = 'holdings ';
  if (h.state === 'off') return `${head}not checked at start`;
  if (h.state === 'checking') return `${head}comparing with the chain (${h.expected.entries} entries so far, ${secs(h.healMs)})`;
  if (h.state === 'healing') {
    return `${head}MISSING ${formatBytes(BigInt(h.missing.bytes))} (${h.missing.entries} of ${h.expected.entries} entries), healing for ${secs(h.healMs)} (${formatBytes(BigInt(h.found.bytes - h.missing.bytes))} of ${formatBytes(BigInt(h.found.bytes))} rebuilt)`;
  }
  return `${head}all ${h.expected.entries} entries (${formatBytes(BigInt(h.expected.bytes))})${h.found.entries ? `; ${h.found.entries} rebuilt at start (${formatBytes(BigInt(h.found.bytes))}) in ${secs(h.healMs)}` : ''}`;
}

/** `insitu node status`: the continuous scrub's progress and the oldest unchecked entry. */
export function scrubLine(s: RecoveryStatus['scrub']): string {
  const rate = s.bytesPerSecond > 0 ? `${formatBytes(BigInt(s.bytesPerSecond))}/s` : 'off';
  const now = s.current ? `pass ${s.passes + 1} at ${s.current.checked} of ${s.current.total} entries` : `${s.passes} passes done`;
  const last = s.lastPass ? `; last pass ${s.lastPass.checked} entries, ${s.lastPass.corrupt} corrupt, ${s.lastPass.missing} missing, in ${secs(s.lastPass.ms)}` : '';
  return `scrub    ${rate}, ${now}; oldest unchecked ${s.oldestUncheckedMs === null ? '–' : secs(s.oldestUncheckedMs)} ago${last}`;
}
