// Follows the chain's event feed from a cursor kept in the node's store, so a restarted node
// resumes where it stopped. `followFeed` is the loop every follower of the feed shares;
// `startFollower` removes the data of cancelled, rejected and deleted objects.

import type { ChainEvent } from '@insitu/protocol/chain';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeContext } from './context.ts';

const DROPS = new Set(['object-cancelled', 'object-rejected', 'object-deleted']);

/**
 * After catching up with the feed, a follower waits this long before asking again. The long poll
 * answers at the next block, and under load the chain makes dozens of blocks a second: asking
 * after each one cost the chain and every node a request per block per follower, more than the
 * uploads themselves. What followers do (dropping cancelled data, checking jobs) can wait this long.
 */
export const FEED_GAP_MS = 500;

/**
 * Hands every event after the stored cursor `cursorKey` to `onEvent`, in order, and stores the
 * cursor of what was handled; when the feed or a handler fails, waits a moment and goes on.
 */
export function followFeed(ctx: NodeContext, opts: { cursorKey: string; what: string; onEvent(e: ChainEvent, signal: AbortSignal): Promise<void> }): { stop(): Promise<void> } {
  const ac = new AbortController();
  const loop = (async () => {
    let cursor = BigInt((await ctx.store.getState(opts.cursorKey)) ?? '0');
    let saved = cursor;
    while (!ac.signal.aborted) {
      try {
        const limit = 200;
        const events = await ctx.chain.events(cursor, { waitMs: 2000, limit, signal: ac.signal });
        try {
          for (const e of events) {
            await opts.onEvent(e, ac.signal);
            cursor = e.seq;
          }
        } finally {
          if (cursor !== saved) {
            await ctx.store.setState(opts.cursorKey, cursor.toString());
            saved = cursor;
          }
        }
        if (events.length < limit) await sleep(FEED_GAP_MS, undefined, { signal: ac.signal }).catch(() => undefined);
      } catch (e) {
        if (ac.signal.aborted) break;
        ctx.logger.warn(`event feed unavailable to the ${opts.what}; retrying`, { error: String(e) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return {
    async stop() {
      ac.abort();
      await loop;
    },
  };
}

export function startFollower(ctx: NodeContext): { stop(): Promise<void> } {
  return followFeed(ctx, {
    cursorKey: 'event-cursor',
    what: 'object follower',
    async onEvent(e) {
      // The only change to a global virtual group: a provider swapped in for another.
      if ((e.type as string) === 'swap-in-completed') ctx.groups.forget();
      if (DROPS.has(e.type) && e.objectId !== undefined) {
        if (!ctx.uploads.has(e.objectId)) await ctx.store.delete(e.objectId);
        ctx.logger.debug('object data dropped', { objectId: e.objectId.toString(), reason: e.type });
      }
    },
  });
}
