// insitu's MsgSealObjects: a round of small objects of one group sealed by one aggregate of its
// secondaries' BLS signatures over sealObjectsSignDoc.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { blsSign, blsAggregate } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { setup, createBucket, createObject, headObject, seal, sumBalances, type Setup } from './state/fixtures.ts';

const SEAL_OBJECTS = '/insitu.storage.MsgSealObjects';

interface Pending {
  id: bigint;
  hash: Uint8Array;
}

/** Creates objects in `bucket`; their ids and checksums hashes, and the bucket's group. */
async function pending(s: Setup, bucket: string, names: string[]): Promise<{ objects: Pending[]; gvg: { id: number; primarySpId: number; secondarySpIds: number[] } }> {
  const objects: Pending[] = [];
  let gvg;
  for (const name of names) {
    const r = await createObject(s, s.accounts[0]!, bucket, name, randomBytes(500 + objects.length));
    if (r.result.code !== 0) throw new Error(r.result.log);
    const head = await headObject(s, bucket, name);
    objects.push({ id: BigInt(head.objectInfo.id), hash: checksumsHash(head.objectInfo.checksums) });
    gvg = head.globalVirtualGroup!;
  }
  return { objects, gvg: gvg! };
}

/** The aggregate of `spIds`' signatures over the round's document. */
function roundSignature(s: Setup, spIds: number[], gvgId: number, objects: Pending[], chainId = s.genesis.chainId): Uint8Array {
  const doc = sealObjectsSignDoc({ chainId, gvgId, objects: objects.map((o) => ({ objectId: o.id, checksumsHash: o.hash })) });
  return blsAggregate(spIds.map((id) => blsSign(doc, s.providers[id - 1]!.blsSecret)));
}

const msgOf = (operator: Hex, gvgId: number, objects: Pending[], sig: Uint8Array): Record<string, unknown> => ({
  operator, globalVirtualGroupId: gvgId, objectIds: objects.map((o) => o.id.toString()),
  checksumsHashes: objects.map((o) => Buffer.from(o.hash).toString('hex')), secondarySpBlsAggSignatures: sig,
});

const status = async (s: Setup, bucket: string, name: string): Promise<number | 'gone'> => {
  try {
    return (await headObject(s, bucket, name)).objectInfo.objectStatus;
  } catch {
    return 'gone';
  }
};

test('a round of objects is sealed by one aggregate, each as MsgSealObject seals it', async (t) => {
  const s = await setup(t);
  t.is((await createBucket(s, s.accounts[0]!, 'round')).result.code, 0);
  t.is((await createBucket(s, s.accounts[0]!, 'single')).result.code, 0);
  const { objects, gvg } = await pending(s, 'round', ['a', 'b', 'c']);
  await pending(s, 'single', ['a']);
  const total = await sumBalances(s.app);
  const primary = s.providers[gvg.primarySpId - 1]!;
  const r = await s.send(primary, SEAL_OBJECTS, msgOf(primary.address, gvg.id, objects, roundSignature(s, gvg.secondarySpIds, gvg.id, objects)));
  t.is(r.result.code, 0, r.result.log);
  t.deepEqual(r.result.responses[0]!.value, { sealed: objects.map((o) => o.id.toString()), skipped: [] });
  t.is((await seal(s, 'single', 'a')).result.code, 0);
  const round = await headObject(s, 'round', 'a');
  const single = await headObject(s, 'single', 'a');
  for (const name of ['a', 'b', 'c']) t.is(await status(s, 'round', name), 1, `round/${name} sealed`);
  t.is(round.objectInfo.localVirtualGroupId, single.objectInfo.localVirtualGroupId, 'bound to a local group as a single seal binds it');
  const sealedEvents = (await s.app.events(0n, 1000)).filter((e) => e.type === 'object-sealed' && e.attributes.bucket_name === 'round');
  t.deepEqual(sealedEvents.map((e) => String(e.attributes.object_name)), ['a', 'b', 'c'], 'one object-sealed event per object, in order');
  t.is(await sumBalances(s.app), total, 'money moves, none is created or lost');
  // The same round again: nothing is waiting any more, so everything is skipped.
  const again = await s.send(primary, SEAL_OBJECTS, msgOf(primary.address, gvg.id, objects, roundSignature(s, gvg.secondarySpIds, gvg.id, objects)));
  t.is(again.result.code, 0, again.result.log);
  t.deepEqual(again.result.responses[0]!.value, { sealed: [], skipped: objects.map((o) => o.id.toString()) });
});

test('a round whose signature does not verify is refused as a whole', async (t) => {
  const s = await setup(t);
  await createBucket(s, s.accounts[0]!, 'bad');
  const { objects, gvg } = await pending(s, 'bad', ['a', 'b', 'c']);
  const primary = s.providers[gvg.primarySpId - 1]!;
  const attempt = (sig: Uint8Array, list = objects) => s.send(primary, SEAL_OBJECTS, msgOf(primary.address, gvg.id, list, sig));
  const cases: [string, Uint8Array, Pending[]?][] = [
    ['signed over two of the three', roundSignature(s, gvg.secondarySpIds, gvg.id, objects.slice(0, 2))],
    ['signed in another order', roundSignature(s, gvg.secondarySpIds, gvg.id, [...objects].reverse())],
    ['signed over other checksums', roundSignature(s, gvg.secondarySpIds, gvg.id, objects.map((o, i) => (i === 1 ? { ...o, hash: new Uint8Array(32).fill(9) } : o)))],
    ['signed for another chain', roundSignature(s, gvg.secondarySpIds, gvg.id, objects, 'other_1-1')],
    ['signed for another group', roundSignature(s, gvg.secondarySpIds, gvg.id + 1, objects)],
    ['five secondaries and the primary', roundSignature(s, [gvg.primarySpId, ...gvg.secondarySpIds.slice(1)], gvg.id, objects)],
    ['garbage', randomBytes(96)],
    ['nothing', new Uint8Array(0)],
    ['a checksums hash changed in the message', roundSignature(s, gvg.secondarySpIds, gvg.id, objects), objects.map((o, i) => (i === 2 ? { ...o, hash: new Uint8Array(32).fill(1) } : o))],
  ];
  for (const [what, sig, list] of cases) t.is((await attempt(sig, list)).result.errorCode, 'ERR_SIGNATURE_INVALID', what);
  for (const name of ['a', 'b', 'c']) t.is(await status(s, 'bad', name), 0, `bad/${name} still waiting`);
  t.is((await attempt(roundSignature(s, gvg.secondarySpIds, gvg.id, objects))).result.code, 0);
});

test('an object cancelled mid-round is skipped while the rest of the round is sealed', async (t) => {
  const s = await setup(t);
  const alice = s.accounts[0]!;
  await createBucket(s, alice, 'mid');
  const { objects, gvg } = await pending(s, 'mid', ['a', 'b', 'c', 'd']);
  const sig = roundSignature(s, gvg.secondarySpIds, gvg.id, objects);
  t.is((await s.send(alice, '/greenfield.storage.MsgCancelCreateObject', { operator: alice.address, bucketName: 'mid', objectName: 'b' })).result.code, 0);
  // d is deleted and created again under its name: a new object, which nobody approved.
  t.is((await s.send(alice, '/greenfield.storage.MsgDeleteObject', { operator: alice.address, bucketName: 'mid', objectName: 'd' })).result.code, 0);
  t.is((await createObject(s, alice, 'mid', 'd', randomBytes(77))).result.code, 0);
  const primary = s.providers[gvg.primarySpId - 1]!;
  const r = await s.send(primary, SEAL_OBJECTS, msgOf(primary.address, gvg.id, objects, sig));
  t.is(r.result.code, 0, r.result.log);
  t.deepEqual(r.result.responses[0]!.value, { sealed: [objects[0]!.id.toString(), objects[2]!.id.toString()], skipped: [objects[1]!.id.toString(), objects[3]!.id.toString()] });
  t.is(await status(s, 'mid', 'a'), 1);
  t.is(await status(s, 'mid', 'b'), 'gone');
  t.is(await status(s, 'mid', 'c'), 1);
  t.is(await status(s, 'mid', 'd'), 0, 'the new d still waits for its own seal');
});

test('an object of another group is skipped, not sealed into the round\'s group', async (t) => {
  const s = await setup(t);
  await createBucket(s, s.accounts[0]!, 'mine');
  await createBucket(s, s.accounts[0]!, 'theirs', { primary: 2 });
  const mine = await pending(s, 'mine', ['a', 'b']);
  const theirs = await pending(s, 'theirs', ['x']);
  t.not(theirs.gvg.id, mine.gvg.id);
  const list = [mine.objects[0]!, theirs.objects[0]!, mine.objects[1]!];
  const primary = s.providers[mine.gvg.primarySpId - 1]!;
  const r = await s.send(primary, SEAL_OBJECTS, msgOf(primary.address, mine.gvg.id, list, roundSignature(s, mine.gvg.secondarySpIds, mine.gvg.id, list)));
  t.is(r.result.code, 0, r.result.log);
  t.deepEqual((r.result.responses[0]!.value as { skipped: string[] }).skipped, [theirs.objects[0]!.id.toString()]);
  t.is(await status(s, 'theirs', 'x'), 0);
  t.is(await status(s, 'mine', 'a'), 1);
  t.is(await status(s, 'mine', 'b'), 1);
});

test('only the seal address of the group\'s primary may seal a round; a malformed round is refused', async (t) => {
  const s = await setup(t);
  await createBucket(s, s.accounts[0]!, 'who');
  const { objects, gvg } = await pending(s, 'who', ['a', 'b']);
  const sig = roundSignature(s, gvg.secondarySpIds, gvg.id, objects);
  const secondary = s.providers[gvg.secondarySpIds[0]! - 1]!;
  const outsider = s.providers.find((p, i) => i + 1 !== gvg.primarySpId && !gvg.secondarySpIds.includes(i + 1)) ?? s.providers[(gvg.primarySpId % s.providers.length)]!;
  for (const [what, who] of [['a secondary of the group', secondary], ['another provider', outsider], ['the objects\' owner', s.accounts[0]!]] as const) {
    t.is((await s.send(who, SEAL_OBJECTS, msgOf(who.address, gvg.id, objects, sig))).result.errorCode, 'ERR_PERMISSION_DENIED', what);
  }
  const primary = s.providers[gvg.primarySpId - 1]!;
  const send = (m: Record<string, unknown>) => s.send(primary, SEAL_OBJECTS, m);
  const good = msgOf(primary.address, gvg.id, objects, sig);
  t.is((await send({ ...good, objectIds: [] , checksumsHashes: [] })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'no objects');
  t.is((await send({ ...good, checksumsHashes: (good.checksumsHashes as string[]).slice(1) })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'lists of different lengths');
  t.is((await send(msgOf(primary.address, gvg.id, [objects[0]!, objects[0]!], roundSignature(s, gvg.secondarySpIds, gvg.id, [objects[0]!, objects[0]!])))).result.errorCode, 'ERR_INVALID_ARGUMENT', 'an object twice');
  t.is((await send({ ...good, objectIds: ['1x', '2'] })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'an id that is no number');
  t.is((await send({ ...good, checksumsHashes: ['zz', 'yy'] })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'a hash that is no hash');
  t.is((await send({ ...good, globalVirtualGroupId: 999 })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'a group that does not exist');
  for (const name of ['a', 'b']) t.is(await status(s, 'who', name), 0);
  t.is((await send(good)).result.code, 0);
});
