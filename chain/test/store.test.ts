// The state's layered write caches: what a list sees through them.

import test from 'ava';
import { join } from 'node:path';
import { Level } from 'level';
import { LevelKV, CacheKV } from '../src/state/store.ts';
import { tempDir } from './helpers.ts';

test('a limited list through caches skips deleted keys, adds pending ones and stays in key order', async (t) => {
  const db = new Level<string, string>(join(await tempDir(t), 'db'), { valueEncoding: 'utf8' });
  await db.open();
  t.teardown(() => db.close());
  const base = new CacheKV(new LevelKV(db));
  for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) base.put(`k/${k}`, k);
  base.put('other/x', 'x');
  await db.batch(base.batch() as never);
  const committed = new LevelKV(db);
  const upper = new CacheKV(committed);
  upper.del('k/a');
  upper.del('k/b');
  upper.put('k/bb', 'bb');
  const top = new CacheKV(upper);
  top.del('k/c');
  const keys = async (kv: CacheKV, opts: { limit?: number; after?: string } = {}) => (await kv.list<string>('k/', opts)).map(([k]) => k);
  t.deepEqual(await keys(top, { limit: 1 }), ['k/bb']);
  t.deepEqual(await keys(top, { limit: 2 }), ['k/bb', 'k/d']);
  t.deepEqual(await keys(top, { limit: 3, after: 'k/bb' }), ['k/d', 'k/e', 'k/f']);
  t.deepEqual(await keys(top), ['k/bb', 'k/d', 'k/e', 'k/f']);
  t.deepEqual(await keys(upper, { limit: 2 }), ['k/bb', 'k/c']);
});

test('a reverse list through caches walks newest keys first and continues before its cursor', async (t) => {
  const db = new Level<string, string>(join(await tempDir(t), 'db'), { valueEncoding: 'utf8' });
  await db.open();
  t.teardown(() => db.close());
  const base = new CacheKV(new LevelKV(db));
  for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) base.put(`k/${k}`, k);
  base.put('l/z', 'z');
  await db.batch(base.batch() as never);
  const upper = new CacheKV(new LevelKV(db));
  upper.del('k/f');
  upper.put('k/dd', 'dd');
  const keys = async (kv: LevelKV | CacheKV, opts: { limit?: number; after?: string } = {}) => (await kv.list<string>('k/', { ...opts, reverse: true })).map(([k]) => k);
  t.deepEqual(await keys(new LevelKV(db), { limit: 2 }), ['k/f', 'k/e']);
  t.deepEqual(await keys(new LevelKV(db), { limit: 2, after: 'k/e' }), ['k/d', 'k/c']);
  t.deepEqual(await keys(upper, { limit: 3 }), ['k/e', 'k/dd', 'k/d']);
  t.deepEqual(await keys(upper, { limit: 3, after: 'k/dd' }), ['k/d', 'k/c', 'k/b']);
  t.deepEqual(await keys(upper, { after: 'k/b' }), ['k/a']);
  t.deepEqual(await keys(upper, { after: 'k/' }), []);
});

test('a limit of 0, a negative limit or one that is not a number still bounds a list: one entry, never the whole prefix', async (t) => {
  const db = new Level<string, string>(join(await tempDir(t), 'db'), { valueEncoding: 'utf8' });
  await db.open();
  t.teardown(() => db.close());
  const base = new CacheKV(new LevelKV(db));
  for (const k of ['a', 'b', 'c']) base.put(`k/${k}`, k);
  await db.batch(base.batch() as never);
  const upper = new CacheKV(new LevelKV(db));
  upper.put('k/bb', 'bb');
  for (const limit of [0, -1, Number.NaN, 0.5]) {
    t.is((await new LevelKV(db).list('k/', { limit })).length, 1, `committed, limit ${limit}`);
    t.is((await upper.list('k/', { limit })).length, 1, `cached, limit ${limit}`);
  }
  t.is((await upper.list('k/', { limit: 2.7 })).length, 2);
  t.is((await upper.list('k/')).length, 4, 'no limit: the whole prefix');
});

test('a record read is the caller\'s own copy: bigints, bytes, nested objects and arrays as stored, changes not seen by the next read', async (t) => {
  const db = new Level<string, string>(join(await tempDir(t), 'db'), { valueEncoding: 'utf8' });
  await db.open();
  t.teardown(() => db.close());
  const kv = new LevelKV(db);
  const rec = { id: 7n, name: 'o', bytes: new Uint8Array([1, 2, 3]), list: [{ rate: 5n, to: 'a' }, null, 'x'], nested: { flag: true, n: 1.5 } };
  const cache = new CacheKV(kv);
  cache.put('object/a', rec);
  rec.nested.flag = false;
  await kv.commit(cache.batch());
  for (const read of [await kv.get<typeof rec>('object/a'), await kv.get<typeof rec>('object/a')]) {
    t.deepEqual(read, { id: 7n, name: 'o', bytes: new Uint8Array([1, 2, 3]), list: [{ rate: 5n, to: 'a' }, null, 'x'], nested: { flag: true, n: 1.5 } });
    t.is(Object.getPrototypeOf(read!.bytes), Uint8Array.prototype);
    (read!.list[0] as { rate: bigint }).rate = 9n;
    read!.bytes[0] = 9;
    read!.nested.flag = false;
  }
  const layer = new CacheKV(kv);
  const mine = (await layer.get<typeof rec>('object/a'))!;
  layer.put('object/a', mine);
  mine.list.push('later');
  t.deepEqual((await layer.get<typeof rec>('object/a'))!.list, [{ rate: 5n, to: 'a' }, null, 'x']);
  t.deepEqual((await layer.list<typeof rec>('object/'))[0]![1].list, [{ rate: 5n, to: 'a' }, null, 'x']);
});
