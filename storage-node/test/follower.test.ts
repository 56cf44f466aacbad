// The node's feed follower: its consumers share one feed request per round, each keeps its own
// cursor, one that fails is handed the same events again while the others go on, and one busy for
// long (a disputed job re-run) holds up no other.

import test from 'ava';
import type { ChainEvent } from '@insitu/protocol/chain';
import { waitFor } from '@insitu/test/wait';
import { followFeed, type FeedConsumer } from '../src/follower.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { silentLogger, type NodeContext } from '../src/context.ts';

function feed(): { ctx: NodeContext; push(n: number): void; asks: bigint[] } {
  const events: ChainEvent[] = [];
  const asks: bigint[] = [];
  const store = createMemoryPieceStore();
  const chain = {
    async events(after: bigint, o?: { limit?: number; signal?: AbortSignal }) {
      asks.push(after);
      // No long poll here: a short wait stands for the chain's next block.
      await new Promise((r) => setTimeout(r, 5));
      return events.filter((e) => e.seq > after).slice(0, o?.limit ?? 100);
    },
  };
  const ctx = { chain, store, logger: silentLogger } as unknown as NodeContext;
  return {
    ctx,
    asks,
    push(n) {
      for (let i = 0; i < n; i++) {
        const seq = BigInt(events.length + 1);
        events.push({ seq, height: seq, type: 'object-created', txHash: null, attributes: {} } as ChainEvent);
      }
    },
  };
}

const consumer = (key: string, onEvent: FeedConsumer['onEvent']): FeedConsumer => ({ cursorKey: key, what: key, onEvent });

test('consumers share the feed requests and each stores its own cursor; a failing one is handed its events again, the other goes on', async (t) => {
  const f = feed();
  f.push(5);
  const a: bigint[] = [];
  const b: bigint[] = [];
  let failOnce = true;
  const follower = followFeed(f.ctx, [
    consumer('a', async (e) => {
      a.push(e.seq);
    }),
    consumer('b', async (e) => {
      if (e.seq === 3n && failOnce) {
        failOnce = false;
        throw new Error('not now');
      }
      b.push(e.seq);
    }),
  ]);
  t.teardown(() => follower.stop());
  await waitFor('both consumers to handle the five events', async () => a.length === 5 && b.length === 5);
  t.deepEqual(a, [1n, 2n, 3n, 4n, 5n]);
  t.deepEqual(b, [1n, 2n, 3n, 4n, 5n], 'the failed event is handed again, nothing twice');
  const asked = f.asks.length;
  f.push(2);
  await waitFor('the new events', async () => a.length === 7 && b.length === 7);
  t.true(f.asks.length - asked <= 3, `one request per round for both consumers (${f.asks.length - asked})`);
  await waitFor('the cursors to be stored', async () => (await f.ctx.store.getState('a')) === '7' && (await f.ctx.store.getState('b')) === '7');
  await follower.stop();
  // A restart resumes from the stored cursors.
  const again: bigint[] = [];
  f.push(1);
  const next = followFeed(f.ctx, [consumer('a', async (e) => {
    again.push(e.seq);
  })]);
  t.teardown(() => next.stop());
  await waitFor('the event after the cursor', async () => again.length === 1);
  t.deepEqual(again, [8n]);
});

test('a consumer busy for long holds up no other, and catches up once done', async (t) => {
  const f = feed();
  f.push(1);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow: bigint[] = [];
  const fast: bigint[] = [];
  const follower = followFeed(f.ctx, [
    consumer('slow', async (e) => {
      if (e.seq === 1n) await held;
      slow.push(e.seq);
    }),
    consumer('fast', async (e) => {
      fast.push(e.seq);
    }),
  ]);
  t.teardown(() => follower.stop());
  await waitFor('the fast consumer to see the first event', async () => fast.length === 1);
  f.push(3);
  await waitFor('the fast consumer to go on while the slow one is busy', async () => fast.length === 4);
  t.deepEqual(slow, []);
  release();
  await waitFor('the slow consumer to catch up', async () => slow.length === 4);
  t.deepEqual(slow, [1n, 2n, 3n, 4n]);
  t.deepEqual(fast, [1n, 2n, 3n, 4n]);
});
