// Lifecycle hygiene: data a node keeps for objects that never became readable. An upload that
// dies after the primary replicated the pieces leaves them committed on every node of the group
// (and the primary's copy) while the object stays unsealed on chain. The chain has no timeout
// for that (as Greenfield), so nodes drop such data once the object has been unsealed for
// unsealedTimeoutMs of chain time, and data of objects the chain no longer knows at all (the
// event feed normally drops those first). A later retry of the same upload sends it again.

import { Counter } from 'prom-client';
import type { InsituError } from '@insitu/protocol';
import type { RecoveryDeps } from './shared.ts';

export interface GcReport {
  /** Objects whose data was removed. */
  removed: number;
  /** Objects looked at. */
  checked: number;
}

export interface UnsealedGc {
  gcOnce(): Promise<GcReport>;
  status(): { removed: number; lastRun: (GcReport & { at: number }) | null };
}

export function createUnsealedGc(deps: RecoveryDeps): UnsealedGc {
  const { ctx, opts, signal } = deps;
  let removedTotal = 0;
  let lastRun: (GcReport & { at: number }) | null = null;
  const removedCount = new Counter({ name: 'insitu_gc_objects_total', help: 'Objects whose data was removed because they stayed unsealed past the timeout or left the chain.', labelNames: ['reason'], registers: [ctx.metrics.registry] });

  return {
    async gcOnce() {
      const report: GcReport = { removed: 0, checked: 0 };
      const ids = [...new Set((await ctx.store.list()).map((k) => k.objectId))];
      const now = (await ctx.chain.status()).time;
      for (const id of ids) {
        if (signal.aborted) break;
        if (ctx.uploads.has(id)) continue;
        report.checked++;
        let reason: 'unsealed' | 'gone' | null = null;
        try {
          const obj = await ctx.chain.headObjectById(id);
          if (obj.status !== 'sealed' && opts.unsealedTimeoutMs > 0 && now - obj.createdAt > opts.unsealedTimeoutMs) reason = 'unsealed';
        } catch (e) {
          // Only the chain's word that the object does not exist removes data; an unreachable chain removes nothing.
          // (the chain's own answer names the object not found; a garbled reply does not).
          if ((e as InsituError).code === 'ERR_OBJECT_NOT_FOUND' && /not found/i.test((e as Error).message)) reason = 'gone';
          else throw e;
        }
        // An upload may have begun since the list was taken.
        if (!reason || ctx.uploads.has(id)) continue;
        await ctx.store.delete(id);
        report.removed++;
        removedTotal++;
        removedCount.inc({ reason });
        ctx.logger.info('data of an object that is not readable removed', { objectId: id.toString(), reason });
      }
      lastRun = { ...report, at: Date.now() };
      return report;
    },
    status: () => ({ removed: removedTotal, lastRun }),
  };
}

