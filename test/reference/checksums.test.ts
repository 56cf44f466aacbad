// Parity with Greenfield's own JavaScript implementation (@bnb-chain/reed-solomon): the checksums
// insitu registers and the pieces it stores must be exactly what Greenfield computes.

import test from 'ava';
import { createRequire } from 'node:module';
import { seeded } from '../src/random.ts';
import { computeChecksums, GREENFIELD_REDUNDANCY } from '@insitu/protocol';
import { createErasureCodec } from '@insitu/protocol/codec';

const require = createRequire(import.meta.url);
const { ReedSolomon } = require('@bnb-chain/reed-solomon') as {
  ReedSolomon: new () => { encode(data: Uint8Array): string[]; encodeSegment(data: Uint8Array): Uint8Array[] };
};

const MiB = 1024 * 1024;
const b64 = (list: Uint8Array[]): string[] => list.map((c) => Buffer.from(c).toString('base64'));

test('checksums equal @bnb-chain/reed-solomon for sizes 0, 1, 16 MiB−1, 16 MiB, 16 MiB+1 and ~40 MiB', async (t) => {
  const reference = new ReedSolomon();
  const empty = await computeChecksums(new Uint8Array(0));
  t.true(b64(empty.checksums).every((c) => c === '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='));
  // One 40 MiB random buffer; the smaller objects are its prefixes, so no bytes are generated twice.
  const data = seeded((l) => t.log(l)).bytes(40 * MiB + 12_345);
  for (const size of [1, 16 * MiB - 1, 16 * MiB, 16 * MiB + 1, data.length]) {
    const bytes = data.subarray(0, size);
    const ours = await computeChecksums(bytes, GREENFIELD_REDUNDANCY);
    t.deepEqual(b64(ours.checksums), reference.encode(bytes), `size ${size}`);
    t.is(ours.size, BigInt(size));
  }
});

test('pieces from the codec equal the reference pieces byte for byte', (t) => {
  const reference = new ReedSolomon();
  const codec = createErasureCodec();
  const { bytes } = seeded((l) => t.log(l));
  for (const size of [1, 3, 4, 1000, 65_537, 4 * MiB + 3]) {
    const seg = bytes(size);
    const ours = codec.encode(seg);
    const theirs = reference.encodeSegment(seg);
    t.is(theirs.length, 6);
    ours.forEach((p, i) => t.true(Buffer.from(p).equals(Buffer.from(theirs[i]!)), `size ${size} piece ${i}`));
  }
});
