import test from 'ava';
import { randomBytes } from 'node:crypto';
import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { setup, createBucket, createObject, headObject, seal, sealSignature } from './state/fixtures.ts';

const SEAL = '/greenfield.storage.MsgSealObject';

test('a seal is refused unless every secondary of the group signed this exact object', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  const primary = s.providers[0]!;
  t.is((await createBucket(s, alice!, 'seals')).result.code, 0);
  t.is((await createObject(s, alice!, 'seals', 'obj', randomBytes(3000))).result.code, 0);
  const head = await headObject(s, 'seals', 'obj');
  const gvg = head.globalVirtualGroup!;
  const objectId = BigInt(head.objectInfo.id);
  const good = { gvgId: gvg.id, objectId, checksums: head.objectInfo.checksums };
  const attempt = (sig: Uint8Array, gvgId = gvg.id) =>
    s.send(primary, SEAL, { operator: primary.address, bucketName: 'seals', objectName: 'obj', globalVirtualGroupId: gvgId, secondarySpBlsAggSignatures: sig });

  // Signed over other checksums, another object id, another chain, by the wrong providers, or garbage.
  const otherChecksums = head.objectInfo.checksums.map((c, i) => (i === 3 ? new Uint8Array(32).fill(7) : c));
  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, { ...good, checksums: otherChecksums }))).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, { ...good, objectId: objectId + 1n }))).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, { ...good, chainId: 'other_1-1' }))).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await attempt(sealSignature(s, [1, 2, 3, 4, 5, 6], good))).result.errorCode, 'ERR_SIGNATURE_INVALID', 'the primary cannot stand in for a secondary');
  t.is((await attempt(randomBytes(96))).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await attempt(new Uint8Array(0))).result.errorCode, 'ERR_SIGNATURE_INVALID');
  // A group of another family (provider 2's) is not the bucket's.
  t.is((await attempt(sealSignature(s, [3, 4, 5, 6, 7, 1], { ...good, gvgId: 2 }), 2)).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, good), 999)).result.errorCode, 'ERR_INVALID_ARGUMENT');
  // Another provider's seal address may not seal it, even with a valid approval.
  t.is((await seal(s, 'seals', 'obj', { sealer: s.providers[1]! })).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await headObject(s, 'seals', 'obj')).objectInfo.objectStatus, 0, 'still waiting for its seal');

  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, good))).result.code, 0);
  t.is((await headObject(s, 'seals', 'obj')).objectInfo.objectStatus, 1);
  t.is((await attempt(sealSignature(s, gvg.secondarySpIds, good))).result.errorCode, 'ERR_OBJECT_ALREADY_SEALED');
});

test('the seal document signed by one key per secondary aggregates in any order', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  await createBucket(s, alice!, 'order', { primary: 4 });
  await createObject(s, alice!, 'order', 'x', randomBytes(10));
  const head = await headObject(s, 'order', 'x');
  const gvg = head.globalVirtualGroup!;
  t.is(gvg.primarySpId, 4);
  t.deepEqual(gvg.secondarySpIds, [5, 6, 7, 1, 2, 3]);
  const doc = sealSignDoc({ chainId: s.genesis.chainId, gvgId: gvg.id, objectId: BigInt(head.objectInfo.id), checksums: head.objectInfo.checksums });
  const sig = blsAggregate([...gvg.secondarySpIds].reverse().map((id) => blsSign(doc, s.providers[id - 1]!.blsSecret)));
  const primary = s.providers[3]!;
  const r = await s.send(primary, SEAL, { operator: primary.address, bucketName: 'order', objectName: 'x', globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig });
  t.is(r.result.code, 0, r.result.log);
});

test('the primary may reject a pending object, which frees its name; nobody else may', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  await createBucket(s, alice!, 'rej');
  await createObject(s, alice!, 'rej', 'bad', randomBytes(100));
  const reject = (who: { address: `0x${string}` }) => s.send(who, '/greenfield.storage.MsgRejectSealObject', { operator: who.address, bucketName: 'rej', objectName: 'bad' });
  t.is((await reject(alice!)).result.errorCode, 'ERR_PERMISSION_DENIED', 'the owner is not the primary');
  t.is((await reject(s.providers[2]!)).result.errorCode, 'ERR_PERMISSION_DENIED', 'a secondary is not the primary');
  const r = await reject(s.providers[0]!);
  t.is(r.result.code, 0, r.result.log);
  await t.throwsAsync(headObject(s, 'rej', 'bad'), { message: /not found/ });
  const ev = (await s.app.events(0n, 100)).at(-1)!;
  t.is(ev.type, 'object-rejected');
  t.is(ev.attributes.object_name, 'bad');
  t.is((await createObject(s, alice!, 'rej', 'bad', randomBytes(100))).result.code, 0);
  t.is((await seal(s, 'rej', 'bad')).result.code, 0);
  t.is((await reject(s.providers[0]!)).result.errorCode, 'ERR_OBJECT_ALREADY_SEALED', 'a sealed object cannot be rejected');
  const cancel = await s.send(alice!, '/greenfield.storage.MsgCancelCreateObject', { operator: alice!.address, bucketName: 'rej', objectName: 'bad' });
  t.is(cancel.result.errorCode, 'ERR_OBJECT_ALREADY_SEALED', 'nor cancelled');
});

test('sealed objects are bound to one local virtual group per global group of the bucket', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  await createBucket(s, alice!, 'lvg');
  const sizes = [5000, 2_000_000];
  for (const [i, size] of sizes.entries()) {
    await createObject(s, alice!, 'lvg', `o${i}`, randomBytes(size));
    t.is((await headObject(s, 'lvg', `o${i}`)).objectInfo.localVirtualGroupId, 0, 'no local group before the seal');
    t.is((await seal(s, 'lvg', `o${i}`)).result.code, 0);
    t.is((await headObject(s, 'lvg', `o${i}`)).objectInfo.localVirtualGroupId, 1);
  }
  type Extra = { extraInfo: { localVirtualGroups: { id: number; globalVirtualGroupId: number; storedSize: { toString(): string }; totalChargeSize: { toString(): string } }[]; nextLocalVirtualGroupId: number; totalChargeSize: { toString(): string } } };
  let extra = (await s.app.query('/greenfield.storage.Query/HeadBucketExtra', { bucketName: 'lvg' })) as unknown as Extra;
  t.is(extra.extraInfo.localVirtualGroups.length, 1);
  t.is(extra.extraInfo.localVirtualGroups[0]!.globalVirtualGroupId, 1);
  t.is(extra.extraInfo.localVirtualGroups[0]!.storedSize.toString(), String(5000 + 2_000_000));
  // Charged at least the minimum charge size (1 MiB) per object.
  t.is(extra.extraInfo.totalChargeSize.toString(), String(1024 * 1024 + 2_000_000));
  t.is(extra.extraInfo.nextLocalVirtualGroupId, 2);

  // A second group in the same family gets a second local group.
  const primary = s.providers[0]!;
  const created = await s.send(primary, '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', {
    storageProvider: primary.address, familyId: 1, secondarySpIds: [7, 6, 5, 4, 3, 2], deposit: { denom: 'BNB', amount: '0' },
  });
  t.is(created.result.code, 0, created.result.log);
  const family = (await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroupFamily', { familyId: 1 })).globalVirtualGroupFamily as { globalVirtualGroupIds: number[] };
  const newGvg = family.globalVirtualGroupIds.at(-1)!;
  t.deepEqual(family.globalVirtualGroupIds, [1, newGvg]);
  await createObject(s, alice!, 'lvg', 'o2', randomBytes(10));
  t.is((await seal(s, 'lvg', 'o2', { gvgId: newGvg })).result.code, 0);
  const head = await headObject(s, 'lvg', 'o2');
  t.is(head.objectInfo.localVirtualGroupId, 2);
  t.is(head.globalVirtualGroup!.id, newGvg);
  t.deepEqual(head.globalVirtualGroup!.secondarySpIds, [7, 6, 5, 4, 3, 2]);

  // Deleting a sealed object takes its size off its local group.
  await s.send(alice!, '/greenfield.storage.MsgDeleteObject', { operator: alice!.address, bucketName: 'lvg', objectName: 'o1' });
  extra = (await s.app.query('/greenfield.storage.Query/HeadBucketExtra', { bucketName: 'lvg' })) as unknown as Extra;
  t.deepEqual(extra.extraInfo.localVirtualGroups.map((l) => [l.id, l.globalVirtualGroupId, l.storedSize.toString()]), [[1, 1, '5000'], [2, newGvg, '10']]);
});

test('an unsealed object is cancelled by its creator or by whoever may delete it', async (t) => {
  const s = await setup(t);
  const [alice, bob, carol] = s.accounts;
  await createBucket(s, alice!, 'shared');
  await s.send(alice!, '/greenfield.storage.MsgPutPolicy', {
    operator: alice!.address, principal: { type: 1, value: bob!.address }, resource: 'grn:b::shared', statements: [{ effect: 1, actions: [3], resources: [] }],
  });
  t.is((await createObject(s, bob!, 'shared', 'by-bob', randomBytes(10))).result.code, 0);
  const cancel = (who: { address: `0x${string}` }, typeUrl = '/greenfield.storage.MsgCancelCreateObject') =>
    s.send(who, typeUrl, { operator: who.address, bucketName: 'shared', objectName: 'by-bob' });
  t.is((await cancel(carol!)).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await cancel(carol!, '/greenfield.storage.MsgDeleteObject')).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await cancel(bob!)).result.code, 0, 'the creator may');
  t.is((await createObject(s, bob!, 'shared', 'by-bob', randomBytes(10))).result.code, 0);
  t.is((await cancel(alice!, '/greenfield.storage.MsgDeleteObject')).result.code, 0, 'the owner may, by deleting it');
  t.deepEqual((await s.app.events(0n, 100)).map((e) => e.type).slice(-2), ['object-created', 'object-cancelled']);
  // Once sealed, the creator without delete permission may not remove it.
  await createObject(s, bob!, 'shared', 'by-bob', randomBytes(10));
  t.is((await seal(s, 'shared', 'by-bob')).result.code, 0);
  t.is((await cancel(bob!, '/greenfield.storage.MsgDeleteObject')).result.errorCode, 'ERR_PERMISSION_DENIED');
});

test('object creation checks the bucket, permission, name, size and checksums', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  await createBucket(s, alice!, 'checks');
  const data = randomBytes(64);
  t.is((await createObject(s, alice!, 'nope', 'a', data)).result.errorCode, 'ERR_BUCKET_NOT_FOUND');
  t.is((await createObject(s, bob!, 'checks', 'a', data)).result.errorCode, 'ERR_PERMISSION_DENIED');
  for (const name of ['', '/lead', 'a/../b', 'nul\u0000', 'ctl\u0007', 'x'.repeat(1025)]) {
    t.is((await createObject(s, alice!, 'checks', name, data)).result.errorCode, 'ERR_INVALID_NAME', JSON.stringify(name.slice(0, 10)));
  }
  const tooBig = (64n * 1024n ** 3n + 1n).toString();
  t.is((await createObject(s, alice!, 'checks', 'big', data, { payloadSize: tooBig })).result.errorCode, 'ERR_PAYLOAD_TOO_LARGE');
  t.is((await createObject(s, alice!, 'checks', 'six', data, { expectChecksums: Array.from({ length: 6 }, () => new Uint8Array(32)) })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await createObject(s, alice!, 'checks', 'short', data, { expectChecksums: Array.from({ length: 7 }, () => new Uint8Array(31)) })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await createObject(s, alice!, 'checks', 'empty', new Uint8Array(0), { expectChecksums: Array.from({ length: 7 }, () => new Uint8Array(32)) })).result.errorCode, 'ERR_CHECKSUM_MISMATCH');
  // A policy granting CreateObject lets another account create objects in the bucket.
  await s.send(alice!, '/greenfield.storage.MsgPutPolicy', {
    operator: alice!.address, principal: { type: 1, value: bob!.address }, resource: 'grn:b::checks', statements: [{ effect: 1, actions: [3], resources: [] }],
  });
  t.is((await createObject(s, bob!, 'checks', 'by-bob', data)).result.code, 0);
  const head = await headObject(s, 'checks', 'by-bob');
  t.is((head.objectInfo as unknown as { owner: string; creator: string }).owner, alice!.address, 'the bucket owner owns it');
  t.is((head.objectInfo as unknown as { owner: string; creator: string }).creator, bob!.address);
  // Nothing failed left a trace: one object in the bucket.
  const list = await s.app.query('/greenfield.storage.Query/ListObjects', { bucketName: 'checks' });
  t.deepEqual((list.objectInfos as { objectName: string }[]).map((o) => o.objectName), ['by-bob']);
});

test('an account owns at most maxBucketsPerAccount buckets', async (t) => {
  const s = await setup(t, { params: { maxBucketsPerAccount: 2 } });
  const [alice, bob] = s.accounts;
  t.is((await createBucket(s, alice!, 'one')).result.code, 0);
  t.is((await createBucket(s, alice!, 'two')).result.code, 0);
  t.is((await createBucket(s, alice!, 'three')).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await createBucket(s, bob!, 'three')).result.code, 0, 'the limit is per account');
  await s.send(alice!, '/greenfield.storage.MsgDeleteBucket', { operator: alice!.address, bucketName: 'one' });
  t.is((await createBucket(s, alice!, 'four')).result.code, 0);
});

test('bucket and object queries by name and id, lists, and info updates', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  t.is((await createBucket(s, alice!, 'b-one')).result.code, 0);
  t.is((await createBucket(s, bob!, 'b-two', { primary: 2, visibility: 1 })).result.code, 0);
  t.is((await createBucket(s, bob!, 'b-one')).result.errorCode, 'ERR_BUCKET_EXISTS');
  t.is((await createBucket(s, bob!, 'Bad_Name')).result.errorCode, 'ERR_INVALID_NAME');
  const byId = await s.app.query('/greenfield.storage.Query/HeadBucketById', { bucketId: '2' });
  t.is((byId.bucketInfo as { bucketName: string; globalVirtualGroupFamilyId: number }).bucketName, 'b-two');
  t.is((byId.bucketInfo as { globalVirtualGroupFamilyId: number }).globalVirtualGroupFamilyId, 2);
  const buckets = await s.app.query('/greenfield.storage.Query/ListBuckets', {});
  t.deepEqual((buckets.bucketInfos as { bucketName: string }[]).map((b) => b.bucketName), ['b-one', 'b-two']);
  await createObject(s, alice!, 'b-one', 'doc', randomBytes(20));
  const id = (await headObject(s, 'b-one', 'doc')).objectInfo.id;
  const byObjectId = await s.app.query('/greenfield.storage.Query/HeadObjectById', { objectId: id });
  t.is((byObjectId.objectInfo as { objectName: string }).objectName, 'doc');

  const update = (who: { address: `0x${string}` }, visibility: number) =>
    s.send(who, '/greenfield.storage.MsgUpdateObjectInfo', { operator: who.address, bucketName: 'b-one', objectName: 'doc', visibility });
  t.is((await update(bob!, 1)).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await update(alice!, 1)).result.code, 0);
  t.is((await headObject(s, 'b-one', 'doc')).objectInfo.visibility, 1);
  // A bucket pays from its owner or one of the owner's payment accounts, never from someone else.
  const other = await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'b-one', paymentAddress: bob!.address });
  t.is(other.result.errorCode, 'ERR_INVALID_ARGUMENT');
  const pa = await s.send(alice!, '/greenfield.payment.MsgCreatePaymentAccount', { creator: alice!.address });
  const payAddr = String(pa.result.responses[0]!.value.addr);
  const unfunded = await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'b-one', paymentAddress: payAddr });
  t.is(unfunded.result.errorCode, 'ERR_INSUFFICIENT_BALANCE', 'a payment account without deposits cannot take over the bucket\'s locked fees');
  t.is((await s.send(alice!, '/greenfield.payment.MsgDeposit', { creator: alice!.address, to: payAddr, amount: String(10n ** 18n) })).result.code, 0);
  const ub = await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'b-one', visibility: 1, paymentAddress: payAddr });
  t.is(ub.result.code, 0, ub.result.log);
  const b = (await s.app.query('/greenfield.storage.Query/HeadBucket', { bucketName: 'b-one' })).bucketInfo as { visibility: number; paymentAddress: string };
  t.is(b.visibility, 1);
  t.is(b.paymentAddress, payAddr);
  t.deepEqual((await s.app.events(0n, 100)).map((e) => e.type).slice(-3), ['payment-account-created', 'deposit', 'bucket-updated']);
  // Greenfield's typed events carry JSON values.
  const created = await createObject(s, alice!, 'b-one', 'typed', randomBytes(5));
  const typed = created.result.events.find((e) => e.type === 'greenfield.storage.EventCreateObject')!;
  const values = Object.fromEntries(typed.attributes.map((a) => [a.key, JSON.parse(a.value) as unknown]));
  t.is(values.bucket_name, 'b-one');
  t.is(values.object_name, 'typed');
  t.is(values.object_id, String(BigInt(id) + 1n));
});
