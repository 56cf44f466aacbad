// Continuous scrubbing: the node re-reads everything the chain says it holds, unit by unit, at a
// bounded byte rate, and checks each against the hashes its commit checked against the chain's
// checksums (an entry that fails is checked against the chain itself before it is reported); what
// is corrupt or missing goes to the repair queue. When a pass ends the next begins (no sooner than scrubIntervalMs
// after the previous one began), so rot is found within one pass time: (held bytes + ENTRY_BYTES
// per entry) / rate.
// Progress and the age of the oldest entry not checked since are in /metrics and /status.

import { Counter, Gauge } from 'prom-client';
import type { ObjectInfo } from '@insitu/protocol/chain';
import type { PieceKey } from '../store/types.ts';
import type { RepairQueue } from './queue.ts';
import { checkEntry, createRateLimiter, entryBytes, errorText, expectedEntries, sleep, type RecoveryDeps } from './shared.ts';

export interface ScrubReport {
  checked: number;
  ok: number;
  corrupt: number;
  missing: number;
  repaired: number;
  failed: number;
  bytes: number;
}

export interface ScrubStatus {
  bytesPerSecond: number;
  passes: number;
  /** The pass running now: entries checked of those listed, bytes read. */
  current: { startedAt: number; checked: number; total: number; bytes: number } | null;
  lastPass: (ScrubReport & { at: number; ms: number }) | null;
  /** How long ago the entry checked least recently was last checked (or written); null before anything is held. */
  oldestUncheckedMs: number | null;
}

export interface Scrubber {
  /** One whole pass now; waits for the repairs of what it found. */
  scrubOnce(): Promise<ScrubReport>;
  /** Scrubs continuously until the node stops (after `after` resolves). */
  start(after: Promise<unknown>): Promise<void>;
  status(): ScrubStatus;
}

const LAST_PASS_STATE = 'scrub-last-pass-start';

/**
 * What each entry costs of the byte rate besides its bytes. An entry's check has a cost of its own
 * (index reads, hashing, bookkeeping) that its bytes do not measure: paced by bytes alone, a node
 * holding many small pieces (a kilobyte each) checked them as fast as its index answered and
 * re-read everything it held every interval. At the default rate this is at most 64 entries a
 * second.
 */
export const ENTRY_BYTES = 512 * 1024;

export function createScrubber(deps: RecoveryDeps, queue: RepairQueue): Scrubber {
  const { ctx, opts, signal } = deps;
  const rate = createRateLimiter(opts.scrubBytesPerSecond);
  let passes = 0;
  const sealedObjects = new Map<bigint, ObjectInfo>();
  let current: ScrubStatus['current'] = null;
  let lastPass: ScrubStatus['lastPass'] = null;
  // Entries not reached in this pass were last checked no earlier than the previous pass began
  // (or, before any pass completed, when they were written).
  let checkedSince: number | null = null;
  const registers = [ctx.metrics.registry];
  const bytesRead = new Counter({ name: 'insitu_scrub_bytes_total', help: 'Bytes read and re-hashed by scrubbing.', registers });
  const passCount = new Counter({ name: 'insitu_scrub_passes_total', help: 'Scrub passes completed.', registers });
  new Gauge({
    name: 'insitu_scrub_pass_progress_ratio', help: 'Share of the entries the running scrub pass has checked.', registers,
    collect() {
      this.set(current && current.total > 0 ? current.checked / current.total : 0);
    },
  });
  new Gauge({
    name: 'insitu_scrub_oldest_unchecked_seconds', help: 'Age of the oldest check among the entries held (time since it was last scrubbed or written).', registers,
    collect() {
      this.set(checkedSince === null ? 0 : (Date.now() - checkedSince) / 1000);
    },
  });

  async function pass(paced: boolean, found: (key: PieceKey, state: 'corrupt' | 'missing') => void): Promise<ScrubReport> {
    const report: ScrubReport = { checked: 0, ok: 0, corrupt: 0, missing: 0, repaired: 0, failed: 0, bytes: 0 };
    const t0 = Date.now();
    const keys: PieceKey[] = [];
    const bytesOf = new Map<PieceKey, number>();
    for await (const e of expectedEntries(ctx, signal)) {
      keys.push(e.key);
      bytesOf.set(e.key, entryBytes(ctx, e.key.index, e.payloadSize));
    }
    if (checkedSince === null) {
      const prev = await ctx.store.getState(LAST_PASS_STATE);
      if (prev !== undefined) checkedSince = Number(prev);
      else for (const key of keys) checkedSince = Math.min(checkedSince ?? t0, (await ctx.store.meta(key))?.storedAt ?? t0);
    }
    current = { startedAt: t0, checked: 0, total: keys.length, bytes: 0 };
    const pace = paced ? (n: number): Promise<void> => rate.take(n, signal) : undefined;
    for (const key of keys) {
      if (signal.aborted) break;
      if (ctx.uploads.has(key.objectId)) continue;
      await pace?.(ENTRY_BYTES);
      const mode = {
        quick: false as const, ...(pace ? { pace } : {}),
        onBytes: (n: number) => {
          report.bytes += n;
          current!.bytes += n;
          bytesRead.inc(n);
        },
      };
      // Every commit checked the entry's hashes against the chain's checksum: an entry whose bytes
      // still match them (and whose size is what the chain lists) is good without asking the
      // chain for its object, a lookup per object that cost node and chain more than the check.
      let obj = sealedObjects.get(key.objectId);
      let state = obj ? undefined : await checkEntry(ctx, key, { bytes: bytesOf.get(key)! }, mode);
      if (state !== 'ok') {
        if (!obj) {
          try {
            obj = await ctx.chain.headObjectById(key.objectId);
          } catch {
            continue;
          }
          if (obj.status !== 'sealed') continue;
          // A sealed object's checksums never change: later passes need no lookup (the group listing says it is still there).
          if (sealedObjects.size >= 100_000) sealedObjects.clear();
          sealedObjects.set(key.objectId, obj);
        }
        state = await checkEntry(ctx, key, obj, mode);
      }
      report.checked++;
      current.checked++;
      report[state]++;
      ctx.metrics.scrubPieces.inc({ result: state });
      if (state !== 'ok') found(key, state);
    }
    if (!signal.aborted) {
      passes++;
      passCount.inc();
      lastPass = { ...report, at: Date.now(), ms: Date.now() - t0 };
      checkedSince = t0;
      await ctx.store.setState(LAST_PASS_STATE, String(t0));
      ctx.logger.info('scrub pass', { ...report, ms: Date.now() - t0 });
    }
    current = null;
    return report;
  }

  return {
    async scrubOnce() {
      const bad: { key: PieceKey; state: string }[] = [];
      const report = await pass(true, (key, state) => bad.push({ key, state }));
      for (const { key, state } of bad) {
        try {
          await queue.add(key, `scrub found it ${state}`);
          report.repaired++;
        } catch {
          report.failed++;
        }
      }
      return report;
    },

    async start(after) {
      if (opts.scrubIntervalMs <= 0 || opts.scrubBytesPerSecond <= 0) return;
      await after;
      while (!signal.aborted) {
        const t0 = Date.now();
        try {
          await pass(true, (key, state) => void queue.add(key, `scrub found it ${state}`, { retry: true }).catch(() => undefined));
        } catch (e) {
          if (!signal.aborted) ctx.logger.warn('scrub pass failed; will retry', { error: errorText(e) });
        }
        await sleep(Math.max(1000, t0 + opts.scrubIntervalMs - Date.now()), signal);
      }
    },

    status: () => ({
      bytesPerSecond: opts.scrubBytesPerSecond, passes, current: current ? { ...current } : null, lastPass,
      oldestUncheckedMs: checkedSince === null ? null : Date.now() - checkedSince,
    }),
  };
}
