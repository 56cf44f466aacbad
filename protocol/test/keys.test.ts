import test from 'ava';
import { createHash } from 'node:crypto';
import { privateKeyToAddress, generatePrivateKey, signDigest, recoverAddress, keccak256, keccakReady, checksumAddress } from '@insitu/protocol';
import { generateBlsKey, blsPublicKey, blsSign, blsAggregate, blsFastAggregateVerify, blsVerify } from '@insitu/protocol';
import { keccak_256 } from '@noble/hashes/sha3.js';

test('a private key maps to its well-known Ethereum address', (t) => {
  t.is(privateKeyToAddress(`0x${'0'.repeat(63)}1`), '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
});

test('a signature recovers to the signer and not to anyone else', (t) => {
  const key = generatePrivateKey();
  const digest = keccak256(new TextEncoder().encode('insitu'));
  const sig = signDigest(digest, key);
  t.is(sig.length, 65);
  t.true(sig[64]! <= 1);
  t.is(recoverAddress(digest, sig), privateKeyToAddress(key));
  const other = keccak256(new TextEncoder().encode('other'));
  t.not(recoverAddress(other, sig), privateKeyToAddress(key));
});

test('checksumAddress follows EIP-55', (t) => {
  t.is(checksumAddress('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'), '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
  t.throws(() => checksumAddress('0x1234'), { code: 'ERR_INVALID_ARGUMENT' } as never);
});

test('aggregated BLS approvals verify only against every signer over the same message', (t) => {
  const keys = Array.from({ length: 6 }, () => generateBlsKey());
  const msg = keccak256(new TextEncoder().encode('seal'));
  const sigs = keys.map((k) => blsSign(msg, k));
  t.true(blsVerify(sigs[0]!, msg, blsPublicKey(keys[0]!)));
  const agg = blsAggregate(sigs);
  t.true(blsFastAggregateVerify(agg, msg, keys.map(blsPublicKey)));
  t.false(blsFastAggregateVerify(agg, msg, keys.slice(1).map(blsPublicKey)));
  t.false(blsFastAggregateVerify(agg, keccak256(msg), keys.map(blsPublicKey)));
});

test('BLS through blst agrees with an independent implementation (@noble/curves) byte for byte', async (t) => {
  const { bls12_381 } = await import('@noble/curves/bls12-381.js');
  const { BLS_DST, blsProofOfPossession } = await import('@insitu/protocol');
  const noble = bls12_381.longSignatures;
  const msg = new Uint8Array(32).fill(9);
  for (let i = 0; i < 3; i++) {
    const sk = generateBlsKey();
    t.deepEqual(blsPublicKey(sk), noble.getPublicKey(sk).toBytes(true));
    const ours = blsSign(msg, sk);
    const theirs = noble.sign(noble.hash(msg, BLS_DST), sk).toBytes(true);
    t.deepEqual(ours, theirs, 'signatures are deterministic: the same bytes');
    t.true(noble.verify(ours, noble.hash(msg, BLS_DST), blsPublicKey(sk)));
    t.true(blsVerify(blsProofOfPossession(sk), new Uint8Array(createHash('sha256').update(blsPublicKey(sk)).digest()), blsPublicKey(sk)));
  }
  t.false(blsVerify(new Uint8Array(96), msg, blsPublicKey(generateBlsKey())), 'garbage is refused, not thrown');
});

test('keccak256 gives @noble/hashes\' bytes for every input length, before and after the WebAssembly one is ready', async (t) => {
  const inputs = Array.from({ length: 300 }, (_, n) => new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff));
  const early = keccak256(inputs[200]!);
  await keccakReady;
  t.deepEqual(early, keccak_256(inputs[200]!));
  for (const x of inputs) {
    t.deepEqual(keccak256(x), keccak_256(x));
    t.deepEqual(keccak256(x.subarray(1)), keccak_256(x.subarray(1)));
  }
  const a = keccak256(inputs[1]!);
  keccak256(inputs[2]!);
  t.deepEqual(a, keccak_256(inputs[1]!), 'a digest is the caller\'s own, not a view of the hasher');
});
