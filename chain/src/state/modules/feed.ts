// The ordered event feed as a query, so storage nodes follow it through any validator's
// CometBFT RPC (abci_query) from their cursor, as they do through the embedded chain.

import type { QueryTable } from '../context.ts';
import type { FeedEvent } from '../types.ts';
import { pad } from '../block.ts';

export const FEED_QUERY = '/insitu.events.Query/Feed';

export const feedQueries: QueryTable = {
  /** Project extension (JSON): feed events with seq > after (at most `limit`, 1..1000). */
  [FEED_QUERY]: async (ctx, req) => {
    const after = BigInt(String(req.after ?? '0'));
    const limit = Math.min(Math.max(Number(req.limit ?? 100) || 100, 1), 1000);
    const rows = await ctx.kv.list<FeedEvent>('event/', { after: `event/${pad(after)}`, limit });
    return { events: rows.map(([, v]) => v), height: ctx.height };
  },
};
