// The embedded chain's JSON-RPC methods, one file each, joined in one dispatch table.

import type { Method, MethodContext } from './context.ts';
import { status } from './status.ts';
import { abciInfo } from './abci-info.ts';
import { abciQuery } from './abci-query.ts';
import { broadcast } from './broadcast.ts';
import { tx } from './tx.ts';
import { txWait } from './tx-wait.ts';
import { txSearch } from './tx-search.ts';
import { block } from './block.ts';
import { blockResults } from './block-results.ts';
import { events } from './events.ts';

export type { Method, MethodContext, Params } from './context.ts';

export function createMethods(ctx: MethodContext): Readonly<Record<string, Method>> {
  return Object.freeze({
    status: status(ctx),
    health: async () => ({}),
    abci_info: abciInfo(ctx),
    abci_query: abciQuery(ctx),
    broadcast_tx_sync: broadcast(ctx, false),
    broadcast_tx_async: broadcast(ctx, false),
    broadcast_tx_commit: broadcast(ctx, true),
    tx: tx(ctx),
    tx_search: txSearch(ctx),
    block: block(ctx),
    block_results: blockResults(ctx),
    insitu_events: events(ctx),
    insitu_tx: txWait(ctx),
  });
}
