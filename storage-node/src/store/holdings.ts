// What a node holds, counted as it changes: entries, distinct objects and bytes, for readiness,
// status and metrics, which used to list every entry of the store on every probe and scrape.
// Wraps any PieceStore: one walk of the store at start, then every commit and delete adjusts the
// counts, so reading them costs the same however much the node holds.

import type { PieceKey, PieceMeta, PieceStore } from './types.ts';

export interface Holdings {
  /** Committed entries (primary copies and pieces). */
  entries: number;
  /** Distinct objects with at least one entry. */
  objects: number;
  /** Bytes of the committed entries. */
  bytes: number;
}

export type CountedPieceStore = PieceStore & { holdings(): Holdings };

/** Entry indexes a delete looks at for an object's entries: the primary's copy and every piece index a group can have. */
const MAX_INDEX = 64;

/** The store's holdings: counted when it keeps them, else by walking it (a store used on its own, as in tests). */
export async function holdingsOf(store: PieceStore): Promise<Holdings> {
  const counted = store as Partial<CountedPieceStore>;
  if (typeof counted.holdings === 'function') return counted.holdings();
  const keys = await store.list();
  let bytes = 0;
  for (const key of keys) bytes += (await store.meta(key))?.size ?? 0;
  return { entries: keys.length, objects: new Set(keys.map((k) => k.objectId.toString())).size, bytes };
}

export function countHoldings(inner: PieceStore): CountedPieceStore {
  /** Entries held per object (by id): the one thing the counts need that the store does not answer in one read. */
  const perObject = new Map<string, number>();
  let entries = 0;
  let bytes = 0;
  const added = (key: PieceKey, meta: Pick<PieceMeta, 'size'>): void => {
    const id = key.objectId.toString();
    perObject.set(id, (perObject.get(id) ?? 0) + 1);
    entries++;
    bytes += meta.size;
  };

  return {
    ...inner,

    async start() {
      await inner.start();
      perObject.clear();
      entries = 0;
      bytes = 0;
      for (const key of await inner.list()) {
        const meta = await inner.meta(key);
        if (meta) added(key, meta);
      }
    },

    async createWriter(key, opts) {
      const w = await inner.createWriter(key, opts);
      // The committed entry's size is what was written to it: counted here rather than read back
      // from the store after each commit (an index read per piece).
      let written = 0;
      return {
        ...w,
        async write(chunk) {
          await w.write(chunk);
          written += chunk.length;
        },
        async writeMany(chunks) {
          await w.writeMany(chunks);
          for (const c of chunks) written += c.length;
        },
        async commit(meta) {
          // An object this store holds nothing of has no entry to replace: nothing to read first.
          const before = perObject.has(key.objectId.toString()) ? await inner.meta(key) : undefined;
          await w.commit(meta);
          if (before) {
            // A replaced entry: only its size changes.
            bytes += written - before.size;
          } else added(key, { size: written });
        },
      };
    },

    async delete(objectId) {
      const id = objectId.toString();
      let left = perObject.get(id) ?? 0;
      let freed = 0;
      for (let index = -1; left > 0 && index < MAX_INDEX; index++) {
        const meta = await inner.meta({ objectId, index });
        if (!meta) continue;
        freed += meta.size;
        left--;
      }
      await inner.delete(objectId);
      entries -= perObject.get(id) ?? 0;
      bytes -= freed;
      perObject.delete(id);
    },

    holdings: () => ({ entries, objects: perObject.size, bytes }),
  };
}
