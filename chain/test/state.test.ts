import test from 'ava';
import { randomBytes } from 'node:crypto';
import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { computeChecksums } from '@insitu/protocol';
import { createChainApp, FEE_COLLECTOR } from '../src/state/index.ts';
import { testGenesis, tempDir, tx, newKey, GAS, PRICE } from './helpers.ts';

const Long = { s: (v: bigint | number) => v.toString() };

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const g = testGenesis();
  let clock = 1_700_000_000_000;
  const app = createChainApp({ dataDir: dir, genesis: g.genesis, now: () => (clock += 1000) });
  await app.init();
  t.teardown(() => app.close());
  const seq = new Map<string, bigint>();
  const send = async (signer: { address: `0x${string}` }, typeUrl: string, value: Record<string, unknown>, fee = {}) => {
    const s = seq.get(signer.address) ?? 0n;
    const rec = await app.deliverTx(tx(signer.address, s, [{ typeUrl, value }], fee));
    if (rec.index >= 0) seq.set(signer.address, s + 1n);
    return rec;
  };
  return { dir, app, ...g, send };
}

const sumBalances = async (app: ReturnType<typeof createChainApp>): Promise<bigint> => {
  let total = 0n;
  for (const [, a] of await app.kv().list<{ balance: bigint }>('acct/')) total += a.balance;
  return total;
};

async function createObject(s: Awaited<ReturnType<typeof setup>>, owner: { address: `0x${string}` }, bucket: string, name: string, data: Uint8Array) {
  const { checksums } = await computeChecksums(data);
  return s.send(owner, '/greenfield.storage.MsgCreateObject', {
    creator: owner.address, bucketName: bucket, objectName: name, payloadSize: Long.s(data.length), visibility: 0,
    contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0,
  });
}

function sealSignature(s: Awaited<ReturnType<typeof setup>>, gvgSecondaries: number[], objectId: bigint, checksums: Uint8Array[], gvgId: number) {
  const doc = sealSignDoc({ chainId: s.genesis.chainId, gvgId, objectId, checksums });
  return blsAggregate(gvgSecondaries.map((id) => blsSign(doc, s.providers[id - 1]!.blsSecret)));
}

test('a bucket and an object go through create and seal, with events in order', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  const primary = s.providers[0]!;
  let r = await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'photos', visibility: 2, paymentAddress: '', primarySpAddress: primary.address, chargedReadQuota: '0' });
  t.is(r.result.code, 0, r.result.log);
  const data = randomBytes(5000);
  r = await createObject(s, alice!, 'photos', 'a/b.jpg', data);
  t.is(r.result.code, 0, r.result.log);
  const head = await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'photos', objectName: 'a/b.jpg' });
  const info = head.objectInfo as { id: string; objectStatus: number; checksums: Uint8Array[] };
  t.is(info.objectStatus, 0);
  const gvg = head.globalVirtualGroup as { id: number; secondarySpIds: number[]; primarySpId: number };
  t.is(gvg.primarySpId, 1);
  t.deepEqual(gvg.secondarySpIds, [2, 3, 4, 5, 6, 7]);
  const sig = sealSignature(s, gvg.secondarySpIds, BigInt(info.id), info.checksums, gvg.id);
  // Anyone but the primary's seal address is refused.
  r = await s.send(alice!, '/greenfield.storage.MsgSealObject', { operator: alice!.address, bucketName: 'photos', objectName: 'a/b.jpg', globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig });
  t.is(r.result.errorCode, 'ERR_PERMISSION_DENIED');
  // A signature missing one secondary is refused.
  const partial = blsAggregate(gvg.secondarySpIds.slice(1).map((id) => blsSign(sealSignDoc({ chainId: s.genesis.chainId, gvgId: gvg.id, objectId: BigInt(info.id), checksums: info.checksums }), s.providers[id - 1]!.blsSecret)));
  r = await s.send(primary, '/greenfield.storage.MsgSealObject', { operator: primary.address, bucketName: 'photos', objectName: 'a/b.jpg', globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: partial });
  t.is(r.result.errorCode, 'ERR_SIGNATURE_INVALID');
  r = await s.send(primary, '/greenfield.storage.MsgSealObject', { operator: primary.address, bucketName: 'photos', objectName: 'a/b.jpg', globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig });
  t.is(r.result.code, 0, r.result.log);
  const sealed = await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'photos', objectName: 'a/b.jpg' });
  t.is((sealed.objectInfo as { objectStatus: number }).objectStatus, 1);
  const events = await s.app.events(0n, 100);
  t.deepEqual(events.map((e) => e.type), ['bucket-created', 'object-created', 'object-sealed']);
  t.deepEqual(events.map((e) => e.seq), [1n, 2n, 3n]);
  t.is(events[2]!.attributes.object_id, info.id);
  t.deepEqual((await s.app.events(2n, 100)).map((e) => e.seq), [3n]);
});

test('nonces, fees and balances are checked and failed messages keep only the fee', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const before = await sumBalances(s.app);
  const bad = await s.app.checkTx(tx(alice!.address, 5n, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '1' }] } }]));
  t.is(bad.errorCode, 'ERR_TX_NONCE');
  const cheap = await s.app.checkTx(tx(alice!.address, 0n, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: alice!.address, toAddress: bob!.address, amount: [] } }], { amount: 1n }));
  t.is(cheap.errorCode, 'ERR_TX_FEE');
  const forged = await s.app.checkTx(tx(alice!.address, 0n, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: bob!.address, toAddress: alice!.address, amount: [{ denom: 'BNB', amount: '1' }] } }]));
  t.is(forged.errorCode, 'ERR_TX_SIGNATURE');
  const stranger = newKey();
  const unknown = await s.app.checkTx(tx(stranger.address, 0n, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: stranger.address, toAddress: alice!.address, amount: [] } }]));
  t.is(unknown.errorCode, 'ERR_ACCOUNT_NOT_FOUND');
  // A transfer of more than the balance fails but the fee is paid and the nonce used.
  const r = await s.send(alice!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: (10n ** 24n).toString() }] });
  t.is(r.result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  const ok = await s.send(alice!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '12345' }] });
  t.is(ok.result.code, 0, ok.result.log);
  const a = await s.app.query('/cosmos.bank.v1beta1.Query/Balance', { address: alice!.address, denom: 'BNB' });
  t.is((a.balance as { amount: string }).amount, (10n ** 21n - 2n * GAS * PRICE - 12345n).toString());
  const fees = await s.app.query('/cosmos.bank.v1beta1.Query/Balance', { address: FEE_COLLECTOR, denom: 'BNB' });
  t.is((fees.balance as { amount: string }).amount, (2n * GAS * PRICE).toString());
  t.is(await sumBalances(s.app), before);
});

test('permissions follow owner, visibility and policies, and deny wins', async (t) => {
  const s = await setup(t);
  const [alice, bob, carol] = s.accounts;
  await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'shared', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[2]!.address, chargedReadQuota: '0' });
  await createObject(s, alice!, 'shared', 'doc.txt', new Uint8Array(0));
  const verify = async (who: string | null, action: number, object = 'doc.txt') =>
    (await s.app.query('/greenfield.storage.Query/VerifyPermission', { operator: who ?? '', bucketName: 'shared', objectName: object, actionType: action })).effect;
  t.is(await verify(alice!.address, 6), 1, 'owner may get');
  t.is(await verify(bob!.address, 6), 2, 'stranger may not get a private object');
  t.is(await verify(null, 6), 2, 'anonymous may not get a private object');
  let r = await s.send(alice!, '/greenfield.storage.MsgPutPolicy', {
    operator: alice!.address, principal: { type: 1, value: bob!.address }, resource: 'grn:b::shared',
    statements: [{ effect: 1, actions: [6, 8], resources: [] }],
  });
  t.is(r.result.code, 0, r.result.log);
  t.is(await verify(bob!.address, 6), 1, 'bucket policy allows get');
  t.is(await verify(bob!.address, 4), 2, 'but not delete');
  r = await s.send(alice!, '/greenfield.storage.MsgPutPolicy', {
    operator: alice!.address, principal: { type: 1, value: bob!.address }, resource: 'grn:o::shared/doc.txt',
    statements: [{ effect: 2, actions: [6], resources: [] }],
  });
  t.is(r.result.code, 0, r.result.log);
  t.is(await verify(bob!.address, 6), 2, 'object deny wins over bucket allow');
  r = await s.send(bob!, '/greenfield.storage.MsgPutPolicy', {
    operator: bob!.address, principal: { type: 1, value: carol!.address }, resource: 'grn:b::shared',
    statements: [{ effect: 1, actions: [99], resources: [] }],
  });
  t.is(r.result.errorCode, 'ERR_PERMISSION_DENIED', 'only the owner writes policies');
  await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'shared', visibility: 1, paymentAddress: '' });
  t.is(await verify(null, 6), 1, 'public-read lets anyone get');
  t.is(await verify(null, 4), 2, 'but not delete');
});

test('an empty object is sealed at creation; cancel, delete and non-empty buckets behave', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'bkt', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[0]!.address, chargedReadQuota: '0' });
  const created = await createObject(s, alice!, 'bkt', 'empty', new Uint8Array(0));
  t.is(created.result.code, 0, created.result.log);
  const head = await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'bkt', objectName: 'empty' });
  t.is((head.objectInfo as { objectStatus: number }).objectStatus, 1);
  await createObject(s, alice!, 'bkt', 'pending', randomBytes(10));
  let r = await s.send(bob!, '/greenfield.storage.MsgCancelCreateObject', { operator: bob!.address, bucketName: 'bkt', objectName: 'pending' });
  t.is(r.result.errorCode, 'ERR_PERMISSION_DENIED');
  r = await s.send(alice!, '/greenfield.storage.MsgDeleteBucket', { operator: alice!.address, bucketName: 'bkt' });
  t.is(r.result.errorCode, 'ERR_BUCKET_NOT_EMPTY');
  r = await s.send(alice!, '/greenfield.storage.MsgCancelCreateObject', { operator: alice!.address, bucketName: 'bkt', objectName: 'pending' });
  t.is(r.result.code, 0, r.result.log);
  r = await createObject(s, alice!, 'bkt', 'pending', randomBytes(10));
  t.is(r.result.code, 0, 'the name is free again after a cancel');
  r = await createObject(s, alice!, 'bkt', 'pending', randomBytes(10));
  t.is(r.result.errorCode, 'ERR_OBJECT_EXISTS');
  r = await createObject(s, alice!, 'bkt', '../etc/passwd', randomBytes(10));
  t.is(r.result.errorCode, 'ERR_INVALID_NAME');
  for (const name of ['empty', 'pending']) {
    r = await s.send(alice!, '/greenfield.storage.MsgDeleteObject', { operator: alice!.address, bucketName: 'bkt', objectName: name });
    t.is(r.result.code, 0, r.result.log);
  }
  r = await s.send(alice!, '/greenfield.storage.MsgDeleteBucket', { operator: alice!.address, bucketName: 'bkt' });
  t.is(r.result.code, 0, r.result.log);
  await t.throwsAsync(s.app.query('/greenfield.storage.Query/HeadBucket', { bucketName: 'bkt' }), { message: /not found/ });
  const types = (await s.app.events(0n, 100)).map((e) => e.type);
  // Deleting the still unsealed 'pending' cancels its creation, as on Greenfield.
  t.deepEqual(types, ['bucket-created', 'object-created', 'object-sealed', 'object-created', 'object-cancelled', 'object-created', 'object-deleted', 'object-cancelled', 'bucket-deleted']);
});

test('state survives closing and reopening the data directory', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'keep', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[0]!.address, chargedReadQuota: '0' });
  const height = (await s.app.latestBlock()).height;
  await s.app.close();
  const again = createChainApp({ dataDir: s.dir, genesis: s.genesis });
  await again.init();
  t.teardown(() => again.close());
  t.is((await again.latestBlock()).height, height);
  const b = await again.query('/greenfield.storage.Query/HeadBucket', { bucketName: 'keep' });
  t.is((b.bucketInfo as { owner: string }).owner, alice!.address);
  t.is((await again.events(0n, 10)).length, 1);
  const acct = await again.query('/cosmos.bank.v1beta1.Query/Balance', { address: alice!.address });
  t.is((acct.balance as { amount: string }).amount, (10n ** 21n - GAS * PRICE).toString());
});
