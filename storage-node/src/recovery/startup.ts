// The start-up check: as soon as a node runs, it compares what the chain says it should hold
// (every sealed object of every group it is in: the whole copy where it is primary, its piece
// where it is a secondary) with what its store has (indexed, matching the chain's checksum, data
// file present), and queues every missing or unreadable entry for rebuild at once, most at-risk
// objects first. Until it holds everything it reports not ready, with counts and the time to
// heal so far.

import { Gauge } from 'prom-client';
import type { ObjectInfo } from '@insitu/protocol/chain';
import type { PieceKey } from '../store/types.ts';
import { healthyPieces, type RepairQueue } from './queue.ts';
import { checkEntry, entryBytes, errorText, expectedEntries, keyId, sleep, type RecoveryDeps } from './shared.ts';

export interface HoldingsStatus {
  /** checking: comparing with the chain; healing: rebuilding what is missing; complete: holds everything; off: not checked. */
  state: 'checking' | 'healing' | 'complete' | 'off';
  startedAt: number;
  /** What the chain says this node holds. */
  expected: { entries: number; bytes: number };
  /** Missing or unreadable at start. */
  found: { entries: number; bytes: number };
  /** Of those, still to rebuild. */
  missing: { entries: number; bytes: number };
  healedAt: number | null;
  /** From the start to full holdings, or so far. */
  healMs: number;
}

export interface StartupCheck {
  /** Runs the comparison and queues the rebuilds; resolves once everything found is queued. */
  run(): Promise<void>;
  status(): HoldingsStatus;
  /** For /readyz: 'ok (…)' when the node holds everything, otherwise throws saying what is missing. */
  readiness(): Promise<string>;
}

/** Objects whose groups are asked at once, and the time the start-up check spends asking. */
const ASSESS_AT_ONCE = 4;
const ASSESS_BUDGET_MS = 15_000;

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

export function createStartupCheck(deps: RecoveryDeps, queue: RepairQueue): StartupCheck {
  const { ctx, opts, signal } = deps;
  const startedAt = Date.now();
  let state: HoldingsStatus['state'] = opts.startupCheck ? 'checking' : 'off';
  const expected = { entries: 0, bytes: 0 };
  const found = { entries: 0, bytes: 0 };
  const missing = new Map<string, number>();
  let healedAt: number | null = null;
  const registers = [ctx.metrics.registry];
  const missingBytes = (): number => [...missing.values()].reduce((s, b) => s + b, 0);
  new Gauge({
    name: 'insitu_missing_bytes', help: 'Bytes the chain says this node holds that it does not have yet (start-up check, rebuilding).', registers,
    collect() {
      this.set(missingBytes());
    },
  });
  new Gauge({
    name: 'insitu_missing_entries', help: 'Entries (copies and pieces) the chain says this node holds that it does not have yet.', registers,
    collect() {
      this.set(missing.size);
    },
  });

  const settle = (): void => {
    if (state === 'healing' && missing.size === 0) {
      state = 'complete';
      healedAt = Date.now();
      ctx.logger.info('holds everything the chain says it should', { entries: expected.entries, rebuilt: found.entries, bytes: found.bytes, ms: healedAt - startedAt });
    }
  };

  async function compare(): Promise<{ key: PieceKey; bytes: number; obj: ObjectInfo; gvg: Parameters<typeof healthyPieces>[2] }[]> {
    const out: { key: PieceKey; bytes: number; obj: ObjectInfo; gvg: Parameters<typeof healthyPieces>[2] }[] = [];
    for await (const e of expectedEntries(ctx, signal)) {
      const bytes = entryBytes(ctx, e.key.index, e.payloadSize);
      expected.entries++;
      expected.bytes += bytes;
      if (ctx.uploads.has(e.key.objectId)) continue;
      const obj = await ctx.chain.headObjectById(e.key.objectId);
      if (obj.status !== 'sealed') continue;
      if ((await checkEntry(ctx, e.key, obj, { quick: true })) !== 'ok') out.push({ key: e.key, bytes, obj, gvg: e.gvg });
    }
    return out;
  }

  return {
    async run() {
      if (!opts.startupCheck) return;
      let bad: Awaited<ReturnType<typeof compare>> = [];
      // The chain may not answer yet (a devnet starting together): try until it does.
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          expected.entries = 0;
          expected.bytes = 0;
          bad = await compare();
          break;
        } catch (e) {
          ctx.logger.warn('start-up check could not read the chain; retrying', { error: errorText(e) });
          await sleep(Math.min(5000, 250 * 2 ** attempt), signal);
        }
      }
      if (signal.aborted) return;
      for (const b of bad) missing.set(keyId(b.key), b.bytes);
      found.entries = bad.length;
      found.bytes = missingBytes();
      state = 'healing';
      ctx.logger.info('start-up check', { expected: expected.entries, expectedBytes: expected.bytes, missing: found.entries, missingBytes: found.bytes, ms: Date.now() - startedAt });
      // Risk first: ask each object's group how many healthy pieces are left, then queue them all
      // together so the queue orders the whole set. A few objects at a time, since every answer
      // costs the peer chain lookups (a burst from a node that lost thousands of entries would
      // stall its peers and the chain); past the budget the rest is queued as of unknown risk.
      const healthy = new Map<string, number>();
      const budget = Date.now() + ASSESS_BUDGET_MS;
      for (let i = 0; i < bad.length && !signal.aborted && Date.now() < budget; i += ASSESS_AT_ONCE) {
        await Promise.all(bad.slice(i, i + ASSESS_AT_ONCE).map(async (b) => healthy.set(keyId(b.key), await healthyPieces(ctx, b.obj, b.gvg, signal))));
      }
      for (const b of bad) {
        const id = keyId(b.key);
        queue.add(b.key, 'start-up check found it missing or unreadable', { healthy: healthy.get(id) ?? 6, retry: true, foundAt: startedAt }).then(() => {
          missing.delete(id);
          settle();
        }, () => undefined);
      }
      settle();
    },

    status: () => ({
      state, startedAt, expected: { ...expected }, found: { ...found }, missing: { entries: missing.size, bytes: missingBytes() },
      healedAt, healMs: (healedAt ?? Date.now()) - startedAt,
    }),

    async readiness() {
      const secs = ((Date.now() - startedAt) / 1000).toFixed(1);
      if (state === 'off') return 'ok (not checked at start)';
      if (state === 'checking') throw new Error(`comparing with the chain what this node should hold (${expected.entries} entries so far, ${secs} s)`);
      if (state === 'healing') throw new Error(`${missing.size} of ${expected.entries} entries missing (${mib(missingBytes())} of ${mib(expected.bytes)}), healing for ${secs} s`);
      return `ok (holds all ${expected.entries} entries${found.entries ? `; rebuilt ${found.entries} (${mib(found.bytes)}) in ${((healedAt! - startedAt) / 1000).toFixed(1)} s` : ''})`;
    },
  };
}
