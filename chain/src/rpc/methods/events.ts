// insitu_events: the event feed after a cursor, long-polling up to wait_ms for the next block
// when there is nothing new (the abci query /insitu.events.Query/Feed is the same feed without
// the wait, the form every validator's CometBFT RPC answers).

import { hexUpper, uintParam } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const events = ({ app, nextCommit }: MethodContext): Method => async (params) => {
  const after = uintParam(params.after ?? '0', 'after');
  const asked = Number(params.limit ?? 100);
  const limit = Number.isInteger(asked) ? Math.min(Math.max(asked, 1), 1000) : 100;
  const waitMs = Math.min(Math.max(Number(params.wait_ms ?? 0), 0), 30_000);
  let list = await app.events(after, limit);
  if (list.length === 0 && waitMs > 0) {
    await nextCommit(waitMs);
    list = await app.events(after, limit);
  }
  return {
    events: list.map((e) => ({ seq: e.seq.toString(), height: e.height.toString(), tx_hash: e.txHash ? hexUpper(e.txHash) : null, type: e.type, attributes: e.attributes })),
    last_seq: list.length ? list.at(-1)!.seq.toString() : after.toString(),
  };
};
