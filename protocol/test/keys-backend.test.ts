// The account-key functions run on libsecp256k1 (tiny-secp256k1); @noble/curves is an independent
// reference. Over seeded random keys, digests, signatures and public keys the two must give the
// same bytes, and refuse the same inputs.

import test from 'ava';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { seeded } from '@insitu/test/random';
import {
  signDigest, recoverAddress, privateKeyToAddress, compressedPublicKey, publicKeyToAddress, normalizePrivateKey,
  generatePrivateKey, checksumAddress, toHex, type Hex,
} from '@insitu/protocol';

const N = secp256k1.Point.CURVE().n;
const be32 = (n: bigint): Uint8Array => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
const num = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);

/** EIP-55, written out here so that the reference does not go through the code under test. */
function eip55(lower: string): Hex {
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(lower))).toString('hex');
  return `0x${[...lower].map((c, i) => (parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c)).join('')}` as Hex;
}

const nobleAddress = (pub: Uint8Array): Hex =>
  eip55(Buffer.from(keccak_256(secp256k1.Point.fromBytes(pub).toBytes(false).subarray(1)).subarray(12)).toString('hex'));

/** The reference recovery, as the previous implementation did it: an address, or undefined when refused. */
function nobleRecover(digest: Uint8Array, sig: Uint8Array): Hex | undefined {
  if (sig.length !== 65) return undefined;
  let v = sig[64]!;
  if (v >= 27) v -= 27;
  if (v > 1) return undefined;
  const rec = new Uint8Array(65);
  rec[0] = v;
  rec.set(sig.subarray(0, 64), 1);
  try {
    return nobleAddress(secp256k1.recoverPublicKey(rec, digest, { prehash: false }));
  } catch {
    return undefined;
  }
}

function ours(digest: Uint8Array, sig: Uint8Array): Hex | 'refused' {
  try {
    return recoverAddress(digest, sig);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_SIGNATURE_INVALID') throw e;
    return 'refused';
  }
}

/** A private key from the seeded source, with the edges of the scalar range mixed in. */
function keyFrom(bytes: (n: number) => Buffer, i: number): Hex {
  if (i === 0) return toHex(be32(1n));
  if (i === 1) return toHex(be32(N - 1n));
  if (i === 2) return toHex(be32(1n << 255n));
  for (;;) {
    const k = bytes(32);
    if (secp256k1.utils.isValidSecretKey(k)) return toHex(k);
  }
}

test('signatures, addresses and public keys are byte for byte those of @noble/curves over random keys and digests', (t) => {
  const { bytes } = seeded((l) => t.log(l));
  for (let i = 0; i < 100; i++) {
    const key = keyFrom(bytes, i);
    const sk = Buffer.from(key.slice(2), 'hex');
    const digest = i === 3 ? new Uint8Array(32) : i === 4 ? new Uint8Array(32).fill(0xff) : bytes(32);
    const sig = signDigest(digest, key);
    const ref = secp256k1.sign(digest, sk, { prehash: false, format: 'recovered' });
    t.is(Buffer.from(sig).toString('hex'), Buffer.from([...ref.subarray(1), ref[0]!]).toString('hex'), `signature ${i} (key ${key})`);
    t.true(num(sig.subarray(32, 64)) <= N / 2n, 'low s');
    const address = nobleAddress(secp256k1.getPublicKey(sk, false));
    t.is(privateKeyToAddress(key), address);
    t.deepEqual(compressedPublicKey(key), secp256k1.getPublicKey(sk, true));
    t.is(recoverAddress(digest, sig), address);
    const eth = Uint8Array.from(sig);
    eth[64]! += 27;
    t.is(recoverAddress(digest, eth), address, 'v in {27,28} is the same signature');
    t.is(publicKeyToAddress(secp256k1.getPublicKey(sk, true)), address);
    t.is(publicKeyToAddress(secp256k1.getPublicKey(sk, false)), address);
  }
});

test('recovery accepts and refuses exactly the signatures @noble/curves does, with ERR_SIGNATURE_INVALID', (t) => {
  const { bytes, rand } = seeded((l) => t.log(l));
  const isX = (x: bigint): boolean => {
    try {
      secp256k1.Point.fromBytes(Uint8Array.from([2, ...be32(x)]));
      return true;
    } catch {
      return false;
    }
  };
  let refused = 0;
  for (let i = 0; i < 120; i++) {
    const key = keyFrom(bytes, i + 3);
    const digest = bytes(32);
    const good = signDigest(digest, key);
    const r = good.subarray(0, 32);
    const s = good.subarray(32, 64);
    const withParts = (rr: Uint8Array, ss: Uint8Array, v: number): Uint8Array => Uint8Array.from([...rr, ...ss, v]);
    // A field element that is not the x of any point (x^3 + 7 is not a square).
    let offX = num(bytes(32)) % N;
    while (isX(offX)) offX = (offX + 1n) % N;
    const cases: [string, Uint8Array][] = [
      ['as signed', good],
      ['high s, recovery bit flipped (the malleated twin)', withParts(r, be32(N - num(s)), good[64]! ^ 1)],
      ['high s, same recovery bit', withParts(r, be32(N - num(s)), good[64]!)],
      ['r = 0', withParts(be32(0n), s, good[64]!)],
      ['s = 0', withParts(r, be32(0n), good[64]!)],
      ['r = n', withParts(be32(N), s, good[64]!)],
      ['s = n', withParts(r, be32(N), good[64]!)],
      ['r > n', withParts(be32(N + 5n), s, good[64]!)],
      ['s all ones', withParts(r, new Uint8Array(32).fill(0xff), good[64]!)],
      ['r not the x of a point', withParts(be32(offX), s, good[64]!)],
      ['v = 2', withParts(r, s, 2)],
      ['v = 26', withParts(r, s, 26)],
      ['v = 29', withParts(r, s, 29)],
      ['v = 255', withParts(r, s, 255)],
      ['64 bytes', good.subarray(0, 64)],
      ['66 bytes', Uint8Array.from([...good, 0])],
      ['random bytes', Uint8Array.from([...bytes(64), rand(2)])],
    ];
    for (const [name, sig] of cases) {
      const expected = nobleRecover(digest, sig) ?? 'refused';
      if (expected === 'refused') refused++;
      t.is(ours(digest, sig), expected, `${name} (case ${i})`);
    }
  }
  t.true(refused > 120 * 10, 'most of the malformed cases are refusals');
});

test('public keys convert to addresses as @noble/curves parses them; others are refused with ERR_INVALID_ARGUMENT', (t) => {
  const { bytes, rand } = seeded((l) => t.log(l));
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    const pick = rand(5);
    const candidate = pick === 0 ? Uint8Array.from([2 + rand(2), ...bytes(32)])
      : pick === 1 ? Uint8Array.from([4, ...bytes(64)])
        : pick === 2 ? Uint8Array.from([6 + rand(2), ...secp256k1.getPublicKey(Buffer.from(keyFrom(bytes, 9).slice(2), 'hex'), false).subarray(1)])
          : pick === 3 ? Uint8Array.from([rand(256), ...bytes(rand(2) ? 32 : 64)])
            : Uint8Array.from([2 + rand(2), ...be32(secp256k1.Point.CURVE().p + BigInt(rand(1000)) - 500n).subarray(-32)]);
    let expected: string;
    try {
      expected = nobleAddress(candidate);
    } catch {
      expected = 'refused';
    }
    const convert = (): string => {
      try {
        return publicKeyToAddress(candidate);
      } catch (e) {
        t.is((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
        return 'refused';
      }
    };
    const got = convert();
    if (got !== 'refused') accepted++;
    t.is(got, expected, `candidate ${Buffer.from(candidate).toString('hex')}`);
    t.is(convert(), expected, 'and the same the second time');
  }
  t.true(accepted > 10, 'some random x coordinates are points');
});

test('private keys outside [1, n) are refused with ERR_INVALID_ARGUMENT; generated keys are valid', (t) => {
  for (const bad of [be32(0n), be32(N), new Uint8Array(32).fill(0xff)]) {
    t.throws(() => normalizePrivateKey(toHex(bad)), { code: 'ERR_INVALID_ARGUMENT' } as never);
    t.throws(() => signDigest(new Uint8Array(32), toHex(bad)), { code: 'ERR_INVALID_ARGUMENT' } as never);
    t.throws(() => privateKeyToAddress(toHex(bad)), { code: 'ERR_INVALID_ARGUMENT' } as never);
  }
  t.throws(() => normalizePrivateKey('0x1234'), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => signDigest(new Uint8Array(31), generatePrivateKey()), { code: 'ERR_INVALID_ARGUMENT' } as never);
  for (let i = 0; i < 20; i++) {
    const k = generatePrivateKey();
    t.true(secp256k1.utils.isValidSecretKey(Buffer.from(k.slice(2), 'hex')));
    t.is(normalizePrivateKey(k), k);
  }
});

test('EIP-55 checksums stay right for more addresses than the process remembers, in any letter case', (t) => {
  const { bytes } = seeded((l) => t.log(l));
  const addresses = Array.from({ length: 5000 }, () => bytes(20).toString('hex'));
  for (const round of [0, 1]) {
    for (const a of addresses) {
      const expected = eip55(a);
      const given = round === 0 ? `0x${a}` : `0X${a.toUpperCase()}`;
      if (checksumAddress(given) !== expected) return t.fail(`${given} → ${checksumAddress(given)}, not ${expected}`);
    }
  }
  t.is(checksumAddress(addresses[0]!), eip55(addresses[0]!), 'without the 0x too');
  t.throws(() => checksumAddress(`0x${addresses[0]!.slice(1)}`), { code: 'ERR_INVALID_ARGUMENT' } as never);
});
