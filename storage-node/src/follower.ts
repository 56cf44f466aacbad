// Follows the chain's event feed from a cursor kept in the node's store, so a restarted node
// resumes where it stopped: data of cancelled, rejected and deleted objects is removed.

import type { NodeContext } from './context.ts';

const DROPS = new Set(['object-cancelled', 'object-rejected', 'object-deleted']);

export function startFollower(ctx: NodeContext): { stop(): Promise<void> } {
  const ac = new AbortController();
  const loop = (async () => {
    let cursor = BigInt((await ctx.store.getState('event-cursor')) ?? '0');
    while (!ac.signal.aborted) {
      try {
        const events = await ctx.chain.events(cursor, { waitMs: 2000, limit: 200, signal: ac.signal });
        for (const e of events) {
          if (DROPS.has(e.type) && e.objectId !== undefined) {
            if (!ctx.uploads.has(e.objectId)) await ctx.store.delete(e.objectId);
            ctx.logger.debug('object data dropped', { objectId: e.objectId.toString(), reason: e.type });
          }
          cursor = e.seq;
        }
        if (events.length > 0) await ctx.store.setState('event-cursor', cursor.toString());
      } catch (e) {
        if (ac.signal.aborted) break;
        ctx.logger.warn('event feed unavailable; retrying', { error: String(e) });
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
