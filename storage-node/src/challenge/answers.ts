// A challenge has one answer. A node that could not serve a challenged piece (lost or corrupt)
// gives every challenger of that challenge the same failure, even if it repaired the piece
// between their requests: otherwise the challengers' verdicts would split on timing and the
// challenge would lapse undecided.

import type { NodeContext } from '../context.ts';

const MAX_REMEMBERED = 1000;
const failures = new WeakMap<NodeContext, Map<string, unknown>>();

/** Runs `serve` for a challenger's request; a failure is remembered for that challenge and repeated. */
export async function answerChallenge<T>(ctx: NodeContext, challengeId: string, serve: () => Promise<T>): Promise<T> {
  let m = failures.get(ctx);
  if (!m) failures.set(ctx, (m = new Map()));
  if (m.has(challengeId)) throw m.get(challengeId);
  try {
    return await serve();
  } catch (e) {
    m.set(challengeId, e);
    if (m.size > MAX_REMEMBERED) m.delete(m.keys().next().value!);
    throw e;
  }
}
