// The event feed as the chain answers it from memory near its head: for every cursor, the same
// events, in the same form, as the stored feed, before and after a restart.

import test from 'ava';
import { createChainClient } from '@insitu/sdk/chain';
import { createChain } from '../src/index.ts';
import type { FeedEvent } from '../src/state/types.ts';
import type { StateApp } from '../src/state/app.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('feed reads from any cursor answer what the stored feed holds, before and after a restart', async (t) => {
  const g = testGenesis({ accounts: 1 });
  const dataDir = await tempDir(t);
  let chain = createChain({ dataDir, genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const owner = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await Promise.all(Array.from({ length: 6 }, (_, i) => owner.createBucket({ name: `feed-${i}`, primarySp: g.providers[0]!.address })));
  const stored = async (after: bigint, limit: number): Promise<FeedEvent[]> =>
    (await (chain.app as StateApp).kv().list<FeedEvent>('event/', { after: `event/${after.toString().padStart(20, '0')}`, limit })).map(([, v]) => v);
  const check = async (): Promise<number> => {
    const all = await stored(0n, 1000);
    t.true(all.length >= 6);
    for (let after = 0n; after <= BigInt(all.length) + 1n; after++) {
      for (const limit of [1, 2, 100]) t.deepEqual(await chain.app.events(after, limit), await stored(after, limit));
    }
    return all.length;
  };
  const before = await check();
  await chain.stop();
  chain = createChain({ dataDir, genesis: g.genesis });
  await chain.start();
  t.is(await check(), before);
  const again = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await again.createBucket({ name: 'feed-after', primarySp: g.providers[0]!.address });
  t.true((await check()) > before);
});
