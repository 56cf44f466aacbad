// Queries a process makes of one chain endpoint in the same turn go as one JSON-RPC batch: each
// call gets its own answer (found, or its own not-found error) as it would alone, in fewer
// HTTP requests.

import test from 'ava';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { createChainClient, jsonRpc } from '@insitu/sdk/chain';
import { encodeJson, decodeJson, MANY_QUERY_PATH } from '@insitu/protocol/chain';
import { silentLogger } from '@insitu/protocol';
import { answerQuery } from '../src/rpc/query.ts';
import { computeChecksums } from '@insitu/protocol';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

// Serial: each counts the requests the process makes.
test.serial('queries asked together go in fewer requests and each hears its own answer', async (t) => {
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
  // One query of many (chain/src/rpc/query.ts), up to 64 heads in it.
  t.is(requests, 1, `${asked.length} queries took ${requests} requests`);
  t.deepEqual(together.slice(0, names.length).map((r) => (r as PromiseFulfilledResult<unknown>).value), alone);
  for (const r of together.slice(names.length)) {
    t.is(r.status, 'rejected');
    t.is(((r as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_OBJECT_NOT_FOUND');
  }
});

test.serial('heads of different kinds asked together are answered in one query, each as alone; the query of many takes only heads, at most 64', async (t) => {
  const g = testGenesis({ accounts: 1 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const owner = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await owner.createBucket({ name: 'kinds', primarySp: g.providers[0]!.address });
  const bytes = randomBytes(300);
  const { object } = await owner.createObject({ bucket: 'kinds', name: 'o', payloadSize: BigInt(bytes.length), checksums: (await computeChecksums(bytes)).checksums });
  const alone = [await owner.headObject('kinds', 'o'), await owner.headObjectById(object.id), await owner.headBucket('kinds'), await owner.getGlobalVirtualGroup(object.gvgId)];
  let requests = 0;
  const count = (): void => void requests++;
  subscribe('undici:request:create', count);
  t.teardown(() => unsubscribe('undici:request:create', count));
  const together = await Promise.allSettled([
    owner.headObject('kinds', 'o'), owner.headObjectById(object.id), owner.headBucket('kinds'), owner.getGlobalVirtualGroup(object.gvgId),
    owner.headObjectById(object.id + 1000n), owner.headBucket('no-such'),
  ]);
  t.deepEqual(together.slice(0, 4).map((r) => (r as PromiseFulfilledResult<unknown>).value), alone);
  t.is(((together[4] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_OBJECT_NOT_FOUND');
  t.is(((together[5] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_BUCKET_NOT_FOUND');
  // The heads in one request; headBucket's family (asked once its bucket is known) in a second.
  t.true(requests <= 2, `took ${requests} requests`);

  const many = (queries: unknown): Promise<{ response: { code: number; log: string } }> =>
    jsonRpc(chain.rpcUrl, 'abci_query', { path: '/insitu.abci.Query/Many', data: Buffer.from(encodeJson({ queries })).toString('hex') });
  const head = { path: '/greenfield.storage.Query/HeadBucket', data: new Uint8Array() };
  t.is((await many([head])).response.code, 0);
  // As CometBFT's ABCI Query asks it (every answer computed anew): each answer is the query's alone.
  const byId = { path: '/greenfield.storage.Query/HeadObjectById', data: new Uint8Array(Buffer.from('0a' + Buffer.from(object.id.toString()).length.toString(16).padStart(2, '0') + Buffer.from(object.id.toString()).toString('hex'), 'hex')) };
  const abci = await answerQuery(chain.app, silentLogger, MANY_QUERY_PATH, new Uint8Array(Buffer.from(encodeJson({ queries: [byId, head] }))));
  t.is(abci.code, 0);
  const { answers } = decodeJson<{ answers: { code: number; value: string; height: bigint }[] }>(Buffer.from(abci.value).toString('utf8'));
  for (const [i, q] of [byId, head].entries()) {
    const alone = await answerQuery(chain.app, silentLogger, q.path, q.data);
    t.like(answers[i], { code: alone.code, value: Buffer.from(alone.value).toString('base64'), height: alone.height });
  }
  t.is(answers[0]!.code, 0);
  for (const refused of [[], Array.from({ length: 65 }, () => head), [{ path: '/cosmos.tx.v1beta1.Service/Simulate', data: new Uint8Array() }], [{ path: head.path, data: 'x' }]]) {
    const r = await many(refused);
    t.not(r.response.code, 0);
    t.regex(r.response.log, /ERR_BAD_REQUEST/);
  }
});
