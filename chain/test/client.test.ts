// The SDK's chain client (greenfield-js-sdk underneath) against a real devnet chain.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient, createChainReader } from '@insitu/sdk/chain';
import { computeChecksums } from '@insitu/protocol';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('the chain client creates, lists, heads, shares and deletes, and follows events', async (t) => {
  const g = testGenesis();
  const dir = await tempDir(t);
  let chain = createChain({ dataDir: dir, genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const [alice, bob] = g.accounts;
  const client = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: alice!.privateKey });
  t.is(client.address, alice!.address);
  const acct = await client.getAccount(alice!.address);
  t.is(acct.balance, 10n ** 21n);
  const params = await client.params();
  t.deepEqual([params.maxSegmentSize, params.dataChunks, params.parityChunks], [16 * 1024 * 1024, 4, 2]);
  const sps = await client.listStorageProviders();
  t.is(sps.length, 7);
  t.is(sps[0]!.computePrice, 5n);

  const { bucket } = await client.createBucket({ name: 'client-test', primarySp: sps[2]!.operatorAddress });
  t.is(bucket.primarySpId, 3);
  t.is(bucket.visibility, 'private');
  await t.throwsAsync(client.createBucket({ name: 'client-test' }), { any: true, message: /already exists/ });
  const e = await t.throwsAsync(client.headBucket('no-such-bucket'));
  t.is((e as { code?: string }).code, 'ERR_BUCKET_NOT_FOUND');

  const data = randomBytes(3000);
  const { checksums } = await computeChecksums(data);
  const { object } = await client.createObject({ bucket: 'client-test', name: 'x/y.bin', payloadSize: 3000n, checksums });
  t.is(object.status, 'created');
  t.is(object.payloadSize, 3000n);
  const gvg = await client.getGlobalVirtualGroup(object.gvgId);
  t.is(gvg.primarySpId, 3);
  t.is(gvg.secondarySpIds.length, 6);
  t.deepEqual((await client.listObjects('client-test')).map((o) => o.objectName), ['x/y.bin']);
  t.deepEqual((await client.listBuckets(alice!.address)).map((b) => b.name), ['client-test']);

  t.is(await client.verifyPermission({ operator: bob!.address, bucket: 'client-test', object: 'x/y.bin', action: 'get-object' }), 'deny');
  const { policyId } = await client.putPolicy({ principal: { type: 'account', address: bob!.address }, bucket: 'client-test', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  t.true(policyId > 0n);
  t.is(await client.verifyPermission({ operator: bob!.address, bucket: 'client-test', object: 'x/y.bin', action: 'get-object' }), 'allow');
  t.is((await client.listPolicies('client-test'))[0]!.statements[0]!.actions[0], 'get-object');

  const reader = await createChainReader({ rpcUrl: chain.rpcUrl, chainId: chain.chainId });
  const events = await reader.events(0n);
  t.deepEqual(events.map((ev) => ev.type), ['bucket-created', 'object-created', 'policy-put']);
  t.is(events[1]!.objectId, object.id);
  // Waiting for an event that comes later.
  const waiting = reader.events(events.at(-1)!.seq, { waitMs: 5000 });
  await client.cancelCreateObject('client-test', 'x/y.bin');
  t.deepEqual((await waiting).map((ev) => ev.type), ['object-cancelled']);

  const bobClient = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: bob!.privateKey });
  const denied = await t.throwsAsync(bobClient.deleteBucket('client-test'));
  t.is((denied as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  await client.transfer(bob!.address, 777n);
  // Bob paid the fee of his refused delete.
  t.is((await reader.getAccount(bob!.address)).balance, 10n ** 21n - 120_000n * 5_000_000_000n + 777n);

  // A new provider registers itself and forms a group with six existing providers.
  const { generateBlsKey, blsPublicKey, blsProofOfPossession } = await import('@insitu/protocol');
  const { generatePrivateKey, privateKeyToAddress } = await import('@insitu/protocol');
  const spKey = generatePrivateKey();
  const spAddr = privateKeyToAddress(spKey);
  await client.transfer(spAddr, 10n ** 20n);
  const spClient = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: spKey });
  const bls = generateBlsKey();
  const { provider } = await spClient.registerProvider({
    fundingAddress: spAddr, sealAddress: spAddr, approvalAddress: spAddr, gcAddress: spAddr, blsKey: blsPublicKey(bls), blsProof: blsProofOfPossession(bls),
    endpoint: 'http://node-8.localhost:9999', moniker: 'newcomer', storePrice: 7n, readPrice: 3n, computePrice: 11n, deposit: 10n ** 19n,
  });
  t.is(provider.id, 8);
  t.is(provider.computePrice, 11n);
  t.is(provider.status, 'in-maintenance', 'it waits for the admin');
  await client.admitProvider(8);
  await spClient.createGlobalVirtualGroup({ secondarySpIds: [1, 2, 3, 4, 5, 6] });
  const groups = await reader.listGlobalVirtualGroups(8);
  t.true(groups.some((g) => g.primarySpId === 8 && g.secondarySpIds.join() === '1,2,3,4,5,6'));
  const badProof = await t.throwsAsync(spClient.registerProvider({
    fundingAddress: spAddr, sealAddress: spAddr, approvalAddress: spAddr, gcAddress: spAddr, blsKey: blsPublicKey(bls), blsProof: blsProofOfPossession(generateBlsKey()),
    endpoint: 'http://x.localhost:1', moniker: 'x', storePrice: 0n, readPrice: 0n, computePrice: 0n, deposit: 0n,
  }));
  t.is((badProof as { code?: string }).code, 'ERR_SIGNATURE_INVALID');

  // Restart the chain on the same directory: everything is still there.
  await chain.stop();
  chain = createChain({ dataDir: dir, genesis: g.genesis, port: Number(new URL(reader.rpcUrl).port) });
  await chain.start();
  t.is((await reader.headBucket('client-test')).owner, alice!.address);
  await client.deleteBucket('client-test');
  await t.throwsAsync(reader.headBucket('client-test'));
});
