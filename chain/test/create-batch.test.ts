// The SDK's object creations of one account, batched: creations asked for together go out as one
// transaction of many MsgCreateObject; one whose name is taken fails alone (the batch is refused
// on chain and the others are sent again one by one), and the account's sequence survives it.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient } from '@insitu/sdk/chain';
import { computeChecksums } from '@insitu/protocol';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('creations asked for together go out as one transaction; a taken name fails alone and the rest are created', async (t) => {
  const g = testGenesis({ accounts: 1 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const owner = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await owner.createBucket({ name: 'batched', primarySp: g.providers[0]!.address });
  const input = async (name: string) => {
    const bytes = randomBytes(1000);
    return { bucket: 'batched', name, payloadSize: BigInt(bytes.length), checksums: (await computeChecksums(bytes)).checksums };
  };
  const first = await Promise.all(['a', 'b', 'c', 'd'].map(input));
  const together = await Promise.all(first.map((x) => owner.createObject(x)));
  t.is(new Set(together.map((r) => r.txHash)).size, 1);
  t.deepEqual(together.map((r) => [r.object.objectName, r.object.status]), [['a', 'created'], ['b', 'created'], ['c', 'created'], ['d', 'created']]);
  t.is(new Set(together.map((r) => r.object.id)).size, 4);

  // 'b' is taken: the batch is refused on chain, 'e' and 'f' are then created one by one.
  const second = await Promise.all(['e', 'b', 'f'].map(input));
  const results = await Promise.allSettled(second.map((x) => owner.createObject(x)));
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.is(((results[1] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_OBJECT_EXISTS');
  t.deepEqual((await owner.headObject('batched', 'b')).checksums, first[1]!.checksums);
  for (const name of ['e', 'f']) t.is((await owner.headObject('batched', name)).status, 'created');
  // The client still sends: its counted sequence survived the refusal.
  const last = await owner.createObject(await input('g'));
  t.is(last.object.status, 'created');
});
