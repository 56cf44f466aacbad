// The shared test suite every ErasureCodec implementation runs.

import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { seeded } from '@insitu/test/random';
import type { ErasureCodec } from '@insitu/protocol/codec';

const combos = (n: number, r: number): number[][] => {
  if (r === 0) return [[]];
  const out: number[][] = [];
  for (let i = 0; i < n; i++) for (const rest of combos(n, r - 1)) if (rest.every((x) => x > i)) out.push([i, ...rest]);
  return out;
};

export function codecSuite(test: TestFn, label: string, factory: (k?: number, m?: number) => ErasureCodec): void {
  test(`${label}: encode splits contiguously into ceil(len/k) pieces with a zero-padded tail`, (t) => {
    const codec = factory();
    const seg = randomBytes(4 * 1000 + 3);
    const pieces = codec.encode(seg);
    t.is(pieces.length, 6);
    for (const p of pieces) t.is(p.length, 1001);
    t.true(Buffer.from(pieces[0]!).equals(seg.subarray(0, 1001)));
    t.true(Buffer.from(pieces[3]!).subarray(0, 1000).equals(seg.subarray(3003)));
    t.is(pieces[3]![1000], 0);
  });

  test(`${label}: parity encoded into a reused buffer equals parity in a fresh one, and a short buffer is a TypeError`, (t) => {
    const codec = factory();
    const { bytes } = seeded((l) => t.log(l));
    // Segments of different sizes through one buffer: each encode overwrites what the last left.
    const into = new Uint8Array(2 * 150_001);
    for (const size of [600_000, 200_003, 4]) {
      const seg = bytes(size);
      const fresh = codec.encode(seg);
      const reused = codec.encode(seg, into);
      for (let p = 4; p < 6; p++) {
        t.is(reused[p]!.buffer, into.buffer);
        t.true(Buffer.from(reused[p]!).equals(Buffer.from(fresh[p]!)));
      }
    }
    t.throws(() => codec.encode(bytes(600_005), into), { instanceOf: TypeError });
  });

  test(`${label}: an empty segment encodes to empty pieces and a one-byte segment works`, (t) => {
    const codec = factory();
    t.true(codec.encode(new Uint8Array(0)).every((p) => p.length === 0));
    const one = codec.encode(Uint8Array.of(0xab));
    t.is(one.length, 6);
    t.is(codec.decode([null, null, one[2]!, one[3]!, one[4]!, one[5]!], 1)[0], 0xab);
  });

  test(`${label}: every erasure pattern of at most 2 of 6 pieces rebuilds the exact bytes (random sizes)`, (t) => {
    const codec = factory();
    const { bytes } = seeded((l) => t.log(l));
    for (const size of [1, 5, 63, 64, 65, 1000, 4096 * 4 + 17, 300_001]) {
      const seg = bytes(size);
      const pieces = codec.encode(seg).map((p) => p.slice());
      for (const r of [0, 1, 2]) {
        for (const lost of combos(6, r)) {
          const given = pieces.map((p, i) => (lost.includes(i) ? null : p));
          const rebuilt = codec.reconstruct(given);
          rebuilt.forEach((p, i) => t.true(Buffer.from(p).equals(Buffer.from(pieces[i]!)), `size ${size} lost ${lost} piece ${i}`));
          t.true(Buffer.from(codec.decode(given, size)).equals(seg), `size ${size} lost ${lost}`);
        }
      }
    }
  });

  test(`${label}: three lost pieces of 4+2 fail with ERR_NOT_ENOUGH_PIECES`, (t) => {
    const codec = factory();
    const pieces: (Uint8Array | null)[] = codec.encode(randomBytes(1000));
    pieces[0] = pieces[2] = pieces[5] = null;
    t.throws(() => codec.reconstruct(pieces), { any: true, message: /3 of 6 pieces present/ });
    try {
      codec.decode(pieces, 1000);
      t.fail('decode should throw');
    } catch (e) {
      t.is((e as { code?: string }).code, 'ERR_NOT_ENOUGH_PIECES');
    }
  });

  test(`${label}: malformed piece lists are refused with ERR_INVALID_ARGUMENT`, (t) => {
    const codec = factory();
    const pieces = codec.encode(randomBytes(100));
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    t.is(codeOf(() => codec.reconstruct(pieces.slice(0, 5))), 'ERR_INVALID_ARGUMENT');
    t.is(codeOf(() => codec.reconstruct([pieces[0]!, pieces[1]!.subarray(1), null, pieces[3]!, pieces[4]!, pieces[5]!])), 'ERR_INVALID_ARGUMENT');
    t.is(codeOf(() => codec.decode(pieces, 10_000)), 'ERR_INVALID_ARGUMENT');
  });

  test(`${label}: other geometries round-trip through every erasure pattern`, (t) => {
    for (const [k, m] of [[3, 2], [5, 2], [6, 3], [1, 1], [10, 4]] as const) {
      const codec = factory(k, m);
      const seg = randomBytes(12_345);
      const pieces = codec.encode(seg).map((p) => p.slice());
      t.is(pieces.length, k + m);
      for (const lost of combos(k + m, m)) {
        const given = pieces.map((p, i) => (lost.includes(i) ? null : p));
        t.true(Buffer.from(codec.decode(given, seg.length)).equals(seg), `${k}+${m} lost ${lost}`);
      }
    }
  });
}
