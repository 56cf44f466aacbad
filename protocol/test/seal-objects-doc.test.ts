import test from 'ava';
import { createHash } from 'node:crypto';
import { blsAggregate, blsPublicKey, blsSign, blsFastAggregateVerify, generateBlsKey } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc, sealSignDoc } from '@insitu/protocol/chain';

const hash = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const base = { chainId: 'insitu_9000-1', gvgId: 7, objects: [{ objectId: 1n, checksumsHash: hash(1) }, { objectId: 2n, checksumsHash: hash(2) }] };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('the round document is one hash that changes with the chain, the group, the order, an id or a checksums hash', (t) => {
  const doc = sealObjectsSignDoc(base);
  t.is(doc.length, 32);
  t.is(hex(sealObjectsSignDoc(structuredClone(base))), hex(doc), 'the same round, the same document');
  const variants = [
    { ...base, chainId: 'insitu_9000-2' },
    { ...base, gvgId: 8 },
    { ...base, objects: [...base.objects].reverse() },
    { ...base, objects: base.objects.slice(0, 1) },
    { ...base, objects: [base.objects[0]!, { objectId: 3n, checksumsHash: hash(2) }] },
    { ...base, objects: [base.objects[0]!, { objectId: 2n, checksumsHash: hash(3) }] },
  ];
  const seen = new Set([hex(doc), ...variants.map((v) => hex(sealObjectsSignDoc(v)))]);
  t.is(seen.size, variants.length + 1);
  // A round of one is not Greenfield's per-object document: neither signature stands for the other.
  const checksums = Array.from({ length: 7 }, (_, i) => hash(i));
  t.not(hex(sealObjectsSignDoc({ chainId: base.chainId, gvgId: 7, objects: [{ objectId: 1n, checksumsHash: checksumsHash(checksums) }] })), hex(sealSignDoc({ chainId: base.chainId, gvgId: 7, objectId: 1n, checksums })));
  t.throws(() => sealObjectsSignDoc({ ...base, objects: [{ objectId: 1n, checksumsHash: new Uint8Array(31) }] }), { instanceOf: TypeError });
});

test('the checksums hash is the SHA-256 of the seven checksums, as in the per-object document', (t) => {
  const checksums = Array.from({ length: 7 }, (_, i) => hash(i + 10));
  t.is(hex(checksumsHash(checksums)), createHash('sha256').update(Buffer.concat(checksums)).digest('hex'));
});

test('six secondaries\' signatures over a round aggregate and verify against their keys', (t) => {
  const secrets = Array.from({ length: 6 }, () => generateBlsKey());
  const doc = sealObjectsSignDoc(base);
  const aggregate = blsAggregate(secrets.map((k) => blsSign(doc, k)));
  t.true(blsFastAggregateVerify(aggregate, doc, secrets.map(blsPublicKey)));
  t.false(blsFastAggregateVerify(aggregate, sealObjectsSignDoc({ ...base, gvgId: 8 }), secrets.map(blsPublicKey)));
});
