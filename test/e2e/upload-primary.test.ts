// A client remembers its buckets' primaries across uploads instead of asking the chain on every
// upload. When the remembered primary is out of date (here: the bucket was deleted and made anew on
// another provider through another client of the same key), the old primary refuses, the chain is
// asked again, and the upload goes to the new primary; nothing is sealed by the wrong one.

import test from 'ava';
import { createClient } from '@insitu/sdk';
import { createTestnet } from '../src/testnet.ts';
import { rng, testSeed } from '../src/random.ts';

test('an upload through an out-of-date remembered primary is sent again to the bucket\'s primary on chain', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const r = rng(seed);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => r(256)));
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const options = { chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } };
  const uploader = await createClient(options);
  const other = await createClient(options);
  const [first, second] = [net.plan.nodes[0]!, net.plan.nodes[1]!];
  await uploader.buckets.create('moving', { primarySp: first.operatorAddress });
  await uploader.objects.put('moving', 'a', bytes(3000));
  // Another client of the same key gives the name to a bucket on another provider.
  await other.objects.delete('moving', 'a');
  await other.buckets.delete('moving');
  const made = await other.buckets.create('moving', { primarySp: second.operatorAddress });
  t.not(made.primarySpId, (await uploader.chain.getStorageProvider(first.operatorAddress)).id);
  const data = bytes(5000);
  const info = await uploader.objects.put('moving', 'b', data);
  t.is(info.status, 'sealed');
  const parts: Uint8Array[] = [];
  for await (const c of uploader.objects.get('moving', 'b')) parts.push(c);
  t.true(Buffer.concat(parts).equals(data));
  t.is((await uploader.objects.head('moving', 'b')).placement[0]!.spId, made.primarySpId, 'held by the new primary');
});
