// The challenger looks for challenges on its slow timer, or at once when woken (the node's feed
// follower wakes it at each challenge naming the node); an unchanged cursor is not written again.

import test from 'ava';
import { waitFor } from '@insitu/test/wait';
import { startChallenger } from '../src/challenge/challenger.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { silentLogger, type NodeContext } from '../src/context.ts';

test('a woken challenger looks at once, between the looks of its slow timer, and leaves an unchanged cursor alone', async (t) => {
  let looks = 0;
  let writes = 0;
  const store = createMemoryPieceStore();
  const setState = store.setState.bind(store);
  store.setState = async (name, value) => {
    writes++;
    return setState(name, value);
  };
  const chain = {
    async challenges(q: { challenger?: number }) {
      if (q.challenger !== undefined) looks++;
      return [];
    },
  };
  const ctx = { chain, store, logger: silentLogger, spId: 3 } as unknown as NodeContext;
  const challenger = startChallenger(ctx, { pollMs: 60_000 });
  t.teardown(() => challenger.stop());
  challenger.wake();
  await waitFor('a look after the wake', async () => looks === 1);
  challenger.wake();
  await waitFor('a second look after the second wake', async () => looks === 2);
  t.is(writes, 0, 'no challenge decided: the cursor is not written');
  await challenger.stop();
  t.is(looks, 2, 'nothing else looked: the slow timer has not run out');
});
