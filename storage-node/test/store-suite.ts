// The shared PieceStore suite every implementation runs.

import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import type { PieceStore } from '../src/store/types.ts';

export function pieceStoreSuite(test: TestFn, label: string, factory: (t: { teardown(fn: () => Promise<void>): void }) => Promise<{ store: PieceStore; reopen?: () => Promise<PieceStore> }>): void {
  test(`${label}: nothing is visible before commit, everything after`, async (t) => {
    const { store } = await factory(t);
    const key = { objectId: 7n, index: 2 };
    const w = await store.createWriter(key);
    const a = randomBytes(1000);
    const b = randomBytes(500);
    await w.write(a);
    await w.write(b);
    t.is(await store.meta(key), undefined);
    await t.throwsAsync(store.read(key, 0, 10), { any: true, message: /no data/ });
    await w.commit({ hashes: [new Uint8Array(32).fill(1)], sizes: [1500] });
    const meta = await store.meta(key);
    t.is(meta!.size, 1500);
    t.deepEqual(meta!.sizes, [1500]);
    t.true(Buffer.from(await store.read(key, 900, 200)).equals(Buffer.concat([a.subarray(900), b.subarray(0, 100)])));
    t.deepEqual(await store.list(), [key]);
  });

  test(`${label}: an aborted writer leaves nothing and a later write replaces data`, async (t) => {
    const { store } = await factory(t);
    const key = { objectId: 9n, index: -1 };
    const w1 = await store.createWriter(key);
    await w1.write(randomBytes(100));
    await w1.abort();
    t.is(await store.meta(key), undefined);
    const first = randomBytes(64);
    const w2 = await store.createWriter(key);
    await w2.write(first);
    await w2.commit({ hashes: [], sizes: [64] });
    const second = randomBytes(32);
    const w3 = await store.createWriter(key);
    await w3.write(second);
    await w3.commit({ hashes: [], sizes: [32] });
    t.true(Buffer.from(await store.read(key, 0, 32)).equals(second));
    await store.delete(9n);
    t.is(await store.meta(key), undefined);
    t.deepEqual(await store.list(), []);
  });

  test(`${label}: gathered writes keep their order, and a read can fill a buffer the caller reuses`, async (t) => {
    const { store } = await factory(t);
    const key = { objectId: 11n, index: 1 };
    const parts = [randomBytes(10), randomBytes(70_000), randomBytes(1), randomBytes(300)];
    const w = await store.createWriter(key);
    await w.writeMany(parts.slice(0, 2));
    await w.write(parts[2]!);
    await w.writeMany(parts.slice(3));
    await w.commit({ hashes: [], sizes: [70_311] });
    const all = Buffer.concat(parts);
    t.true(Buffer.from(await store.read(key, 0, all.length)).equals(all));
    const buf = new Uint8Array(100_000);
    const got = await store.read(key, 5, 1000, buf);
    t.is(got.buffer, buf.buffer);
    t.true(Buffer.from(got).equals(all.subarray(5, 1005)));
    const again = await store.read(key, 70_000, 311, buf);
    t.true(Buffer.from(again).equals(all.subarray(70_000)));
  });

  test(`${label}: state slots persist`, async (t) => {
    const { store, reopen } = await factory(t);
    await store.setState('cursor', '42');
    t.is(await store.getState('cursor'), '42');
    const key = { objectId: 1n, index: 0 };
    const w = await store.createWriter(key);
    await w.write(Buffer.from('hello'));
    await w.commit({ hashes: [], sizes: [5] });
    if (reopen) {
      const again = await reopen();
      t.is(await again.getState('cursor'), '42');
      t.is(Buffer.from(await again.read(key, 0, 5)).toString(), 'hello');
    }
  });
}
