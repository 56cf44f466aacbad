// A store that counts what it holds: it still passes the shared store suite, and its counts are
// what walking the store finds after commits, replacements, deletes and a restart.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsPieceStore } from '../src/store/fs.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { countHoldings, holdingsOf } from '../src/store/holdings.ts';
import type { PieceStore } from '../src/store/types.ts';
import { pieceStoreSuite } from './store-suite.ts';

pieceStoreSuite(test, 'counted memory', async () => {
  const store = countHoldings(createMemoryPieceStore());
  await store.start();
  return { store };
});

async function fsStore(t: { teardown(fn: () => Promise<void>): void }): Promise<{ dir: string; open: () => PieceStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-holdings-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, open: () => createFsPieceStore({ dataDir: dir }) };
}

pieceStoreSuite(test, 'counted fs', async (t) => {
  const { open } = await fsStore(t);
  let store = countHoldings(open());
  await store.start();
  t.teardown(() => store.stop());
  return {
    store,
    reopen: async () => {
      await store.stop();
      store = countHoldings(open());
      await store.start();
      return store;
    },
  };
});

test('the counts are what walking the store finds, through commits, replacements, aborts and deletes, and again after a restart', async (t) => {
  const { open } = await fsStore(t);
  const inner = open();
  let store = countHoldings(inner);
  await store.start();
  const put = async (objectId: bigint, index: number, size: number, abort = false): Promise<void> => {
    const w = await store.createWriter({ objectId, index });
    await w.write(new Uint8Array(size).fill(index + 2));
    if (abort) await w.abort();
    else await w.commit({ hashes: [], sizes: [size] });
  };
  const check = async (what: string, expected: { entries: number; objects: number; bytes: number }): Promise<void> => {
    t.deepEqual(store.holdings(), expected, what);
    t.deepEqual(await holdingsOf(inner), expected, `${what}: walking the store`);
  };
  await check('empty', { entries: 0, objects: 0, bytes: 0 });
  await put(1n, -1, 1000);
  await put(1n, 0, 300);
  await put(2n, 3, 500);
  await check('three entries of two objects', { entries: 3, objects: 2, bytes: 1800 });
  await put(1n, 0, 200);
  await check('a replaced entry changes only the bytes', { entries: 3, objects: 2, bytes: 1700 });
  await put(3n, 1, 700, true);
  await check('an aborted write counts nothing', { entries: 3, objects: 2, bytes: 1700 });
  await put(4n, 5, 64);
  await store.delete(1n);
  await check('a deleted object takes all its entries', { entries: 2, objects: 2, bytes: 564 });
  await store.delete(9n);
  await check('deleting what is not held changes nothing', { entries: 2, objects: 2, bytes: 564 });
  await store.stop();
  store = countHoldings(open());
  await store.start();
  t.teardown(() => store.stop());
  t.deepEqual(store.holdings(), { entries: 2, objects: 2, bytes: 564 }, 'a restart counts the same holdings');
  t.deepEqual(await holdingsOf(store), store.holdings(), 'holdingsOf reads the counts of a counted store');
});
