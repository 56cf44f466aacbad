// The app hash of a block's writes: the previous hash chained with a hash of every write in key
// order, each length-prefixed (as it has always been computed, so app hashes never change).

import test from 'ava';
import { createHash } from 'node:crypto';
import { nextAppHash } from '../src/state/block.ts';

/** The app hash as it was first written: an update per part of every write. */
function reference(prev: Uint8Array, writes: { type: 'put' | 'del'; key: string; value?: string }[]): Uint8Array {
  const u32 = (n: number): Uint8Array => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const sorted = writes.filter((w) => !w.key.startsWith('block/') && w.key !== 'meta/height').sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (sorted.length === 0) return new Uint8Array(prev);
  const set = createHash('sha256');
  for (const w of sorted) {
    const k = Buffer.from(w.key, 'utf8');
    const v = Buffer.from(w.type === 'put' ? w.value! : '', 'utf8');
    set.update(u32(k.length)).update(k).update(new Uint8Array([w.type === 'put' ? 1 : 0])).update(u32(v.length)).update(v);
  }
  return new Uint8Array(createHash('sha256').update(prev).update(set.digest()).digest());
}

test('the app hash of a block\'s writes is the one computed part by part, for any keys and values', (t) => {
  let seed = 99;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const text = (): string => Array.from({ length: rand(40) }, () => ['a', 'é', '€', '𝄞', '\ud800', '"', '\0', 'z'][rand(8)]).join('');
  let prev: Uint8Array = new Uint8Array(32).fill(1);
  for (let i = 0; i < 300; i++) {
    const writes = Array.from({ length: rand(12) }, () => {
      const key = [`tx/${text()}`, `obj/${rand(50)}`, 'meta/height', `block/${rand(9)}`, text()][rand(5)]!;
      return rand(4) === 0 ? { type: 'del' as const, key } : { type: 'put' as const, key, value: rand(6) === 0 ? '' : text().repeat(1 + rand(50)) };
    });
    const got = nextAppHash(prev, writes);
    t.deepEqual(got, reference(prev, writes), `block ${i}`);
    prev = got;
  }
});
