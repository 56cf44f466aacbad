import test from 'ava';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsPieceStore } from '../src/store/fs.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { pieceStoreSuite } from './store-suite.ts';

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
