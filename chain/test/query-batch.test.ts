// Queries a process makes of one chain endpoint in the same turn go as one JSON-RPC batch: each
// call gets its own answer (found, or its own not-found error) as it would alone, in fewer
// HTTP requests.

import test from 'ava';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { createChainClient } from '@insitu/sdk/chain';
import { computeChecksums } from '@insitu/protocol';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('queries asked together go in fewer requests and each hears its own answer', async (t) => {
  const g = testGenesis({ accounts: 1 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const owner = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await owner.createBucket({ name: 'together', primarySp: g.providers[0]!.address });
  const names = Array.from({ length: 24 }, (_, i) => `o-${i}`);
  await Promise.all(names.map(async (name) => {
    const bytes = randomBytes(500);
    await owner.createObject({ bucket: 'together', name, payloadSize: BigInt(bytes.length), checksums: (await computeChecksums(bytes)).checksums });
  }));
  const alone = [];
  for (const name of names) alone.push(await owner.headObject('together', name));

  let requests = 0;
  const count = (): void => void requests++;
  subscribe('undici:request:create', count);
  t.teardown(() => unsubscribe('undici:request:create', count));
  const asked = [...names, 'missing', 'missing-too'];
  const together = await Promise.allSettled(asked.map((name) => owner.headObject('together', name)));
  t.true(requests <= 4, `${asked.length} queries took ${requests} requests`);
  t.deepEqual(together.slice(0, names.length).map((r) => (r as PromiseFulfilledResult<unknown>).value), alone);
  for (const r of together.slice(names.length)) {
    t.is(r.status, 'rejected');
    t.is(((r as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_OBJECT_NOT_FOUND');
  }
});
