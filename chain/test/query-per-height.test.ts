// Heads answered once per height: asked again at the same height they answer the same, and a new
// block's changes are seen at once (a name not found becomes found, a created object sealed).

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient } from '@insitu/sdk/chain';
import { computeChecksums, blsAggregate, blsSign } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('a head asked again at one height answers the same, and the next block\'s changes at once', async (t) => {
  const g = testGenesis({ accounts: 1 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const rpc = { rpcUrl: chain.rpcUrl, chainId: chain.chainId };
  const owner = await createChainClient({ ...rpc, privateKey: g.accounts[0]!.privateKey });
  const sp = await createChainClient({ ...rpc, privateKey: g.providers[0]!.privateKey });
  await owner.createBucket({ name: 'heads', primarySp: sp.address });
  for (let i = 0; i < 2; i++) t.is((await t.throwsAsync(owner.headObject('heads', 'o')))!.constructor.name, 'InsituError');
  const bytes = randomBytes(2000);
  const { checksums } = await computeChecksums(bytes);
  const { object } = await owner.createObject({ bucket: 'heads', name: 'o', payloadSize: BigInt(bytes.length), checksums });
  const heads = await Promise.all([owner.headObject('heads', 'o'), sp.headObject('heads', 'o'), owner.headObjectById(object.id)]);
  for (const h of heads) t.like(h, { status: 'created', id: object.id });
  const gvg = await owner.getGlobalVirtualGroup(object.gvgId);
  const doc = sealSignDoc({ chainId: rpc.chainId, gvgId: gvg.id, objectId: object.id, checksums });
  await sp.sealObject({ bucket: 'heads', name: 'o', gvgId: gvg.id, blsSignature: blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, g.providers[id - 1]!.blsSecret))) });
  t.is((await owner.headObject('heads', 'o')).status, 'sealed');
  t.is((await owner.headObjectById(object.id)).status, 'sealed');
});
