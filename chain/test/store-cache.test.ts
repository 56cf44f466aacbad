// The committed state's cache of decoded records: reads answer what LevelDB holds through
// commits, deletions and evictions, and a caller changing what it was given changes nothing stored.

import test from 'ava';
import { join } from 'node:path';
import { Level } from 'level';
import { LevelKV, CacheKV, decodeValue } from '../src/state/store.ts';
import { tempDir } from './helpers.ts';

async function open(t: Parameters<typeof tempDir>[0], size?: number): Promise<{ db: Level<string, string>; kv: LevelKV }> {
  const db = new Level<string, string>(join(await tempDir(t), 'db'), { valueEncoding: 'utf8' });
  await db.open();
  t.teardown(() => db.close());
  return { db, kv: new LevelKV(db, size) };
}

const stored = async (db: Level<string, string>, key: string): Promise<unknown> => {
  const v = await db.get(key);
  return v === undefined ? undefined : decodeValue(v);
};

test('reads through the cache answer what LevelDB holds after every commit, and the caller owns what it is given', async (t) => {
  const { db, kv } = await open(t);
  t.is(await kv.get('a'), undefined);
  const w = new CacheKV(kv);
  w.put('a', { n: 1n, bytes: new Uint8Array([1, 2]), list: [1, 'x'] });
  w.put('b', 'text');
  await kv.commit(w.batch());
  const a = await kv.get<{ n: bigint; bytes: Uint8Array; list: unknown[] }>('a');
  t.deepEqual(a, { n: 1n, bytes: new Uint8Array([1, 2]), list: [1, 'x'] });
  a!.n = 5n;
  a!.bytes[0] = 9;
  a!.list.push('y');
  t.deepEqual(await kv.get('a'), await stored(db, 'a'));
  t.deepEqual(await kv.get('a'), { n: 1n, bytes: new Uint8Array([1, 2]), list: [1, 'x'] });
  t.is(await kv.get('b'), 'text');
  const w2 = new CacheKV(kv);
  w2.del('a');
  w2.put('b', { changed: true });
  w2.put('c', 3n);
  await kv.commit(w2.batch());
  t.is(await kv.get('a'), undefined);
  t.deepEqual(await kv.get('b'), { changed: true });
  t.is(await kv.get('c'), 3n);
  for (const k of ['a', 'b', 'c']) t.deepEqual(await kv.get(k), await stored(db, k));
});

test('a cache smaller than the records read still answers every read as LevelDB does', async (t) => {
  const { db, kv } = await open(t, 3);
  const w = new CacheKV(kv);
  for (let i = 0; i < 20; i++) w.put(`k/${i}`, { i });
  await kv.commit(w.batch());
  for (let round = 0; round < 3; round++) {
    const w2 = new CacheKV(kv);
    for (let i = 0; i < 20; i++) {
      t.deepEqual(await kv.get(`k/${i}`), await stored(db, `k/${i}`));
      if (i % 3 === round) w2.put(`k/${i}`, { i, round });
    }
    await kv.commit(w2.batch());
  }
  t.deepEqual(await kv.get('k/2'), { i: 2, round: 2 });
  t.deepEqual((await kv.list<{ i: number }>('k/', { limit: 2 })).map(([k]) => k), ['k/0', 'k/1']);
});

test('a listing read again answers what LevelDB holds after commits under its prefix and elsewhere', async (t) => {
  const { kv } = await open(t);
  const w = new CacheKV(kv);
  for (const k of ['a', 'b', 'c']) w.put(`due/${k}`, { k });
  w.put('other/x', 1);
  await kv.commit(w.batch());
  const page = async (o: { limit?: number; after?: string; reverse?: boolean } = {}) => kv.list<{ k: string }>('due/', o);
  t.deepEqual(await page({ limit: 1 }), [['due/a', { k: 'a' }]]);
  const first = await page({ limit: 1 });
  first[0]![1].k = 'changed';
  t.deepEqual(await page({ limit: 1 }), [['due/a', { k: 'a' }]]);
  const elsewhere = new CacheKV(kv);
  elsewhere.put('other/y', 2);
  await kv.commit(elsewhere.batch());
  t.deepEqual(await page({ limit: 1 }), [['due/a', { k: 'a' }]]);
  const under = new CacheKV(kv);
  under.del('due/a');
  under.put('due/0', { k: '0' });
  await kv.commit(under.batch());
  t.deepEqual(await page({ limit: 1 }), [['due/0', { k: '0' }]]);
  t.deepEqual((await page()).map(([k]) => k), ['due/0', 'due/b', 'due/c']);
  t.deepEqual((await page({ reverse: true, limit: 2 })).map(([k]) => k), ['due/c', 'due/b']);
  const empty = async () => kv.list('none/', { limit: 1 });
  t.deepEqual(await empty(), []);
  const add = new CacheKV(kv);
  add.put('none/1', 1);
  await kv.commit(add.batch());
  t.deepEqual(await empty(), [['none/1', 1]]);
});

test('kept listings brought up to date by commits answer what LevelDB holds, in every direction, bound and cursor', async (t) => {
  const { db, kv } = await open(t);
  // A small deterministic generator: the same run every time.
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const keys = ['q/', 'q/\xff', 'q/\xffz', 'r/a', ...Array.from({ length: 24 }, (_, i) => `q/${String(i).padStart(2, '0')}`)];
  const pages: { limit?: number; after?: string; reverse?: boolean }[] = [
    {}, { limit: 1 }, { limit: 2 }, { limit: 5 }, { limit: 20 }, { limit: 1, reverse: true }, { limit: 3, reverse: true }, { reverse: true },
    { limit: 1, after: 'q/07' }, { limit: 4, after: 'q/07' }, { after: 'q/07' }, { limit: 2, after: 'q/15', reverse: true }, { after: 'q/15', reverse: true },
  ];
  const truth = async (o: { limit?: number; after?: string; reverse?: boolean }): Promise<[string, unknown][]> => {
    const all: [string, unknown][] = [];
    for await (const [k, v] of db.iterator({ gt: 'q/', lt: 'q/\xff' })) all.push([k, decodeValue(v)]);
    let rows = o.reverse ? all.reverse() : all;
    if (o.after) rows = rows.filter(([k]) => (o.reverse ? k < o.after! : k > o.after!));
    return o.limit ? rows.slice(0, o.limit) : rows;
  };
  for (let round = 0; round < 120; round++) {
    for (const o of pages) t.deepEqual(await kv.list('q/', o), await truth(o), `round ${round} ${JSON.stringify(o)}`);
    const w = new CacheKV(kv);
    const n = 1 + rand(4);
    for (let i = 0; i < n; i++) {
      const k = keys[rand(keys.length)]!;
      if (rand(3) === 0) w.del(k);
      else w.put(k, { round, i });
    }
    await kv.commit(w.batch());
  }
});
