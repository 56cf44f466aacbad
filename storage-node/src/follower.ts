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

/** One party following the feed: what it does with each event, from a cursor kept under `cursorKey`. */
export interface FeedConsumer {
  cursorKey: string;
  what: string;
  onEvent(e: ChainEvent, signal: AbortSignal): Promise<void>;
}

/**
 * Hands every event after each consumer's stored cursor to its `onEvent`, in order, and stores the
 * cursor of what it handled; when the feed or a handler fails, waits a moment and goes on (a
 * consumer whose handler failed is handed the same events again later, the others go on). The
 * consumers of a node share one feed request per round: each asking on its own cost the chain and
 * the node a request, and the decoding of every event, per consumer. A consumer still busy with
 * its events after FEED_GAP_MS (a disputed job re-run) goes on alone and sits out the rounds until
 * it is done, so it holds up no other.
 */
export function followFeed(ctx: NodeContext, list: FeedConsumer[]): { stop(): Promise<void> } {
  const ac = new AbortController();
  const limit = 200;
  type State = { c: FeedConsumer; cursor: bigint; saved: bigint; busy?: Promise<void>; failed: boolean };
  /** Hands `events` to one consumer and stores its cursor. */
  const run = async (s: State, events: ChainEvent[]): Promise<void> => {
    try {
      for (const e of events) {
        if (e.seq <= s.cursor) continue;
        await s.c.onEvent(e, ac.signal);
        s.cursor = e.seq;
      }
    } catch (e) {
      if (!ac.signal.aborted) {
        ctx.logger.warn(`event handler of the ${s.c.what} failed; retrying`, { error: String(e) });
        s.failed = true;
      }
    } finally {
      if (s.cursor !== s.saved) {
        const cursor = s.cursor;
        await ctx.store.setState(s.c.cursorKey, cursor.toString()).then(() => (s.saved = cursor), () => undefined);
      }
    }
  };
  const loop = (async () => {
    const state: State[] = await Promise.all(list.map(async (c) => {
      const cursor = BigInt((await ctx.store.getState(c.cursorKey)) ?? '0');
      return { c, cursor, saved: cursor, failed: false };
    }));
    while (!ac.signal.aborted) {
      try {
        const ready = state.filter((s) => !s.busy);
        if (ready.length === 0) {
          await Promise.race([...state.map((s) => s.busy), sleep(FEED_GAP_MS, undefined, { signal: ac.signal }).catch(() => undefined)]);
          continue;
        }
        const from = ready.reduce((m, s) => (s.cursor < m ? s.cursor : m), ready[0]!.cursor);
        const events = await ctx.chain.events(from, { waitMs: 2000, limit, signal: ac.signal });
        for (const s of ready) {
          s.failed = false;
          const busy = run(s, events).finally(() => {
            if (s.busy === busy) delete s.busy;
          });
          s.busy = busy;
        }
        const gap = sleep(FEED_GAP_MS, undefined, { signal: ac.signal }).catch(() => undefined);
        await Promise.race([Promise.all(ready.map((s) => s.busy)), gap]);
        // Caught up (or a handler failed): a pause before the next round; more to read: straight on.
        if (events.length < limit || ready.some((s) => s.failed)) await gap;
      } catch (e) {
        if (ac.signal.aborted) break;
        ctx.logger.warn(`event feed unavailable to the ${list.map((c) => c.what).join(' and ')}; retrying`, { error: String(e) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await Promise.all(state.map((s) => s.busy));
  })();
  return {
    async stop() {
      ac.abort();
      await loop;
    },
  };
}

/** Removes the data of cancelled, rejected and deleted objects; hands every event to `also` too. */
export function objectFollower(ctx: NodeContext, also?: (e: ChainEvent) => void): FeedConsumer {
  return {
    cursorKey: 'event-cursor',
    what: 'object follower',
    async onEvent(e) {
      also?.(e);
      // The only change to a global virtual group: a provider swapped in for another.
      if ((e.type as string) === 'swap-in-completed') ctx.groups.forget();
      if (DROPS.has(e.type) && e.objectId !== undefined) {
        if (!ctx.uploads.has(e.objectId)) await ctx.store.delete(e.objectId);
        ctx.logger.debug('object data dropped', { objectId: e.objectId.toString(), reason: e.type });
      }
    },
  };
}

export function startFollower(ctx: NodeContext, others: FeedConsumer[] = [], also?: (e: ChainEvent) => void): { stop(): Promise<void> } {
  return followFeed(ctx, [objectFollower(ctx, also), ...others]);
}
