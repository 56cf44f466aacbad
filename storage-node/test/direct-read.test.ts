// Reads into the shared page-aligned buffers go around the page cache; they must give the same
// bytes as reads through it, at the end of a file that is not a whole block, after the entry is
// replaced, and for buffers or offsets direct I/O cannot take.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsPieceStore } from '../src/store/fs.ts';
import { createDirectReads, isAlignedBuffer, READ_BYTES, readBuffers } from '../src/store/direct-file.ts';
import { openEntry } from '../src/store/entry-reader.ts';
import type { PieceStore } from '../src/store/types.ts';

const pattern = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >>> 12) + seed) % 251;
  return out;
};

async function storeWith(t: { teardown(fn: () => Promise<void>): void }, entries: [bigint, Uint8Array][]): Promise<{ store: PieceStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-direct-read-'));
  const store = createFsPieceStore({ dataDir: dir });
  await store.start();
  t.teardown(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });
  for (const [id, data] of entries) {
    const w = await store.createWriter({ objectId: id, index: -1 }, { size: data.length });
    await w.write(data);
    await w.commit({ hashes: [], sizes: [data.length] });
  }
  return { store, dir };
}

test('reads into the shared aligned buffers give the bytes written, to the last one of a file that ends mid-block', async (t) => {
  const size = 3 * READ_BYTES + 4097;
  const data = pattern(size, 0);
  const { store } = await storeWith(t, [[1n, data]]);
  const buf = readBuffers.take();
  t.teardown(() => readBuffers.give(buf));
  t.true(isAlignedBuffer(buf));
  const key = { objectId: 1n, index: -1 };
  for (let at = 0; at < size; at += READ_BYTES) {
    const n = Math.min(READ_BYTES, size - at);
    const got = await store.read(key, at, n, buf);
    t.is(got.length, n);
    t.true(Buffer.from(got).equals(data.subarray(at, at + n)), `chunk at ${at}`);
  }
  // An unaligned offset or a plain buffer goes through the page cache, with the same bytes.
  t.true(Buffer.from(await store.read(key, 4095, 10_000, buf)).equals(data.subarray(4095, 14_095)));
  t.true(Buffer.from(await store.read(key, READ_BYTES, 5000, new Uint8Array(5000))).equals(data.subarray(READ_BYTES, READ_BYTES + 5000)));
  // Past the end of the file: short, as through the cache.
  t.is((await store.read(key, 3 * READ_BYTES, READ_BYTES, buf)).length, 4097);
});

test('a replaced entry reads back its new bytes directly, and a deleted one is not found', async (t) => {
  const first = pattern(2 * READ_BYTES, 1);
  const { store } = await storeWith(t, [[2n, first]]);
  const key = { objectId: 2n, index: -1 };
  const buf = readBuffers.take();
  t.teardown(() => readBuffers.give(buf));
  t.true(Buffer.from(await store.read(key, READ_BYTES, READ_BYTES, buf)).equals(first.subarray(READ_BYTES)));
  const second = pattern(2 * READ_BYTES, 7);
  const w = await store.createWriter(key);
  await w.write(second);
  await w.commit({ hashes: [], sizes: [second.length] });
  t.true(Buffer.from(await store.read(key, READ_BYTES, READ_BYTES, buf)).equals(second.subarray(READ_BYTES)));
  await store.delete(2n);
  await t.throwsAsync(store.read(key, 0, READ_BYTES, buf), { code: 'ERR_PIECE_NOT_FOUND' } as never);
});

test('direct reads decline what they cannot take: an unaligned buffer, an offset mid-block, a file that is missing', async (t) => {
  const data = pattern(READ_BYTES, 3);
  const { dir } = await storeWith(t, [[3n, data]]);
  const reads = createDirectReads();
  t.teardown(() => reads.close());
  const path = join(dir, 'pieces', '3.p');
  const buf = readBuffers.take();
  t.teardown(() => readBuffers.give(buf));
  t.is(await reads.read(path, 0, READ_BYTES, new Uint8Array(READ_BYTES)), undefined);
  t.is(await reads.read(path, 512, 4096, buf), undefined);
  t.is(await reads.read(join(dir, 'pieces', 'missing.p'), 0, 4096, buf), undefined);
  t.true(Buffer.from((await reads.read(path, 4096, 8192, buf))!).equals(data.subarray(4096, 12_288)));
});

test('an entry opened once reads its file to the end, directly into aligned buffers and through the cache into others; a missing one is ERR_PIECE_NOT_FOUND', async (t) => {
  const size = 2 * READ_BYTES + 10_001;
  const data = pattern(size, 5);
  const small = pattern(3000, 9);
  const { store } = await storeWith(t, [[4n, data], [5n, small]]);
  const buf = readBuffers.take();
  t.teardown(() => readBuffers.give(buf));
  const entry = await openEntry(store, { objectId: 4n, index: -1 });
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += READ_BYTES) out.set(await entry.read(at, Math.min(READ_BYTES, size - at), buf), at);
  t.true(Buffer.from(out).equals(data));
  t.true(Buffer.from(await entry.read(4095, 9000, new Uint8Array(9000))).equals(data.subarray(4095, 13_095)));
  t.is((await entry.read(size - 5, READ_BYTES, buf)).length, 5);
  await entry.close();
  // An entry small enough to live in the index reads the same way.
  const inline = await openEntry(store, { objectId: 5n, index: -1 });
  t.true(Buffer.from(await inline.read(0, 3000, buf)).equals(small));
  await inline.close();
  await t.throwsAsync(openEntry(store, { objectId: 6n, index: -1 }), { code: 'ERR_PIECE_NOT_FOUND' } as never);
});
