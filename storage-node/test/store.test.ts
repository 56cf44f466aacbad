import test from 'ava';
import { mkdtemp, rm, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsPieceStore, INLINE_BYTES } from '../src/store/fs.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { openDirectFile, STAGE_BYTES } from '../src/store/direct-file.ts';
import { pieceStoreSuite } from './store-suite.ts';
import { Level } from 'level';

pieceStoreSuite(test, 'memory', async () => ({ store: createMemoryPieceStore() }));

pieceStoreSuite(test, 'fs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  let store = createFsPieceStore({ dataDir: dir });
  await store.start();
  t.teardown(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    store,
    reopen: async () => {
      await store.stop();
      store = createFsPieceStore({ dataDir: dir });
      await store.start();
      return store;
    },
  };
});

test('fs: data files are named by object id, and temp files from a crash are cleared at start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = createFsPieceStore({ dataDir: dir });
  await store.start();
  const w = await store.createWriter({ objectId: 5n, index: 3 });
  await w.write(Buffer.from('partial'));
  t.is((await readdir(join(dir, 'tmp'))).length, 1);
  await store.stop();
  const again = createFsPieceStore({ dataDir: dir });
  await again.start();
  t.deepEqual(await readdir(join(dir, 'tmp')), []);
  t.deepEqual(await again.list(), []);
  const w2 = await again.createWriter({ objectId: 5n, index: 3 });
  await w2.write(Buffer.from('whole'));
  await w2.commit({ hashes: [], sizes: [5] });
  t.deepEqual(await readdir(join(dir, 'pieces')), ['5.3']);
  await again.stop();
});

test('fs: a write of many staging buffers in odd chunks, ending mid-block, reads back byte for byte at its size', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = createFsPieceStore({ dataDir: dir });
  await store.start();
  t.teardown(() => store.stop());
  // Past two 4 MiB staging buffers, so each is filled again; the tail is not a whole block.
  const size = 9 * 1024 * 1024 + 4097;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 12)) % 251;
  const cuts = [1, 4095, 65536, 4 * 1024 * 1024 + 7, 3 * 1024 * 1024, 12_345];
  const w = await store.createWriter({ objectId: 9n, index: -1 });
  for (let at = 0, i = 0; at < size; i++) {
    const n = Math.min(cuts[i % cuts.length]!, size - at);
    // A chunk the caller overwrites once the write has taken it.
    const chunk = data.slice(at, at + n);
    if (i % 2 === 0) await w.write(chunk);
    else await w.writeMany([chunk.subarray(0, n >> 1), chunk.subarray(n >> 1)]);
    chunk.fill(0xee);
    at += n;
  }
  await w.commit({ hashes: [], sizes: [size] });
  t.is((await stat(join(dir, 'pieces', '9.p'))).size, size);
  t.true(Buffer.from(await store.read({ objectId: 9n, index: -1 }, 0, size)).equals(data));
  t.is((await store.meta({ objectId: 9n, index: -1 }))!.size, size);
});

test('fs: direct writes refused for their buffers fall back to the page cache without losing a byte', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Staging buffers 16 bytes past an allocation's start are not block-aligned: the kernel refuses
  // them for O_DIRECT (EINVAL) and the file is written through the cache instead.
  const pool = { take: () => new Uint8Array(new ArrayBuffer(STAGE_BYTES + 16), 16, STAGE_BYTES), give: () => undefined };
  const path = join(dir, 'f');
  const file = await openDirectFile(path, pool, (fn) => fn());
  const data = new Uint8Array(2 * STAGE_BYTES + 1000).map((_, i) => (i * 13) % 253);
  await file.write([data.subarray(0, STAGE_BYTES + 5), data.subarray(STAGE_BYTES + 5)]);
  await file.finish();
  await file.close();
  t.true((await readFile(path)).equals(data));
});

test.serial('fs: commits made together share one synced index write, each resolving once its entry is written, and every entry is there after a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let store = createFsPieceStore({ dataDir: dir });
  await store.start();
  const batch = Level.prototype.batch;
  let batches = 0;
  const synced: boolean[] = [];
  Level.prototype.batch = function (this: Level, ...args: unknown[]) {
    batches++;
    synced.push((args[1] as { sync?: boolean } | undefined)?.sync === true);
    return (batch as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof batch;
  t.teardown(() => {
    Level.prototype.batch = batch;
  });
  const n = 40;
  const bytesOf = (i: number): Buffer => Buffer.alloc(100 + i, i);
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const key = { objectId: BigInt(1000 + i), index: i % 6 };
    const w = await store.createWriter(key, { size: bytesOf(i).length });
    await w.write(bytesOf(i));
    await w.commit({ hashes: [new Uint8Array(32)], sizes: [bytesOf(i).length] });
    // Visible as soon as its commit resolves.
    t.true(Buffer.from(await store.read(key, 0, bytesOf(i).length)).equals(bytesOf(i)));
  }));
  Level.prototype.batch = batch;
  t.true(batches >= 1 && batches <= 2, `${n} commits in ${batches} index writes`);
  t.true(synced.every(Boolean), 'every index write is synced');
  // A file committed before a restart is replaced by a small entry after it, and goes.
  const key = { objectId: 7n, index: 1 };
  const wl = await store.createWriter(key);
  await wl.write(Buffer.alloc(INLINE_BYTES + 1, 1));
  await wl.commit({ hashes: [new Uint8Array(32)], sizes: [INLINE_BYTES + 1] });
  await store.stop();
  store = createFsPieceStore({ dataDir: dir });
  await store.start();
  t.teardown(() => store.stop());
  for (let i = 0; i < n; i++) t.true(Buffer.from(await store.read({ objectId: BigInt(1000 + i), index: i % 6 }, 0, bytesOf(i).length)).equals(bytesOf(i)));
  t.deepEqual(await readdir(join(dir, 'pieces')), ['7.1']);
  const ws = await store.createWriter(key, { size: 2 });
  await ws.write(Buffer.from('hi'));
  await ws.commit({ hashes: [new Uint8Array(32)], sizes: [2] });
  t.deepEqual(await readdir(join(dir, 'pieces')), []);
  t.is(Buffer.from(await store.read(key, 0, 2)).toString(), 'hi');
});

test('fs: entries of a declared size up to INLINE_BYTES are kept in the index (no data file), read, located and replaced either way', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let store = createFsPieceStore({ dataDir: dir });
  await store.start();
  const key = { objectId: 9n, index: 2 };
  const small = Buffer.from('a small piece, kept in the index');
  const buf = Buffer.from(small);
  const w = await store.createWriter(key, { size: small.length });
  await w.writeMany([buf.subarray(0, 5), buf.subarray(5)]);
  // The writer copied the bytes: the caller's buffer may be reused before the commit.
  buf.fill(0);
  t.is(await store.meta(key), undefined, 'nothing visible before commit');
  await w.commit({ hashes: [new Uint8Array(32)], sizes: [small.length] });
  t.deepEqual(await readdir(join(dir, 'pieces')), [], 'no data file');
  t.true(Buffer.from(await store.read(key, 0, small.length)).equals(small));
  const into = new Uint8Array(64);
  t.true(Buffer.from(await store.read(key, 2, 5, into)).equals(small.subarray(2, 7)));
  t.true(Buffer.from(await store.read(key, small.length - 3, 10)).equals(small.subarray(-3)), 'a read past the end is short');
  const located = await store.locate(key);
  t.true('bytes' in located && Buffer.from(located.bytes).equals(small));
  t.is((await store.meta(key))?.size, small.length);
  // It survives a restart.
  await store.stop();
  store = createFsPieceStore({ dataDir: dir });
  await store.start();
  t.true(Buffer.from(await store.read(key, 0, small.length)).equals(small));
  // A large entry replaces it with a file; a small one replaces the file and the file goes.
  const large = Buffer.alloc(INLINE_BYTES + 1, 7);
  const wl = await store.createWriter(key, { size: large.length });
  await wl.write(large);
  await wl.commit({ hashes: [new Uint8Array(32)], sizes: [large.length] });
  t.deepEqual(await readdir(join(dir, 'pieces')), ['9.2']);
  t.true(Buffer.from(await store.read(key, 0, large.length)).equals(large));
  t.true('path' in (await store.locate(key)));
  const ws = await store.createWriter(key, { size: 3 });
  await ws.write(Buffer.from('abc'));
  await ws.commit({ hashes: [new Uint8Array(32)], sizes: [3] });
  t.deepEqual(await readdir(join(dir, 'pieces')), []);
  t.is(Buffer.from(await store.read(key, 0, 3)).toString(), 'abc');
  // An aborted small writer leaves the entry as it was; a delete removes it.
  const wa = await store.createWriter(key, { size: 3 });
  await wa.write(Buffer.from('xyz'));
  await wa.abort();
  t.is(Buffer.from(await store.read(key, 0, 3)).toString(), 'abc');
  await store.delete(9n);
  t.is(await store.meta(key), undefined);
  await t.throwsAsync(store.read(key, 0, 3), { code: 'ERR_PIECE_NOT_FOUND' } as never);
  await store.stop();
});
