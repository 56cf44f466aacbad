// PieceStore in memory, for tests of code above the store and for the shared store suite.

import { InsituError } from '@insitu/protocol';
import type { PieceKey, PieceMeta, PieceStore, PieceWriter } from './types.ts';

const k = (key: PieceKey): string => `${key.objectId}:${key.index}`;

export function createMemoryPieceStore(): PieceStore {
  const data = new Map<string, { bytes: Uint8Array; meta: PieceMeta }>();
  const state = new Map<string, string>();
  return {
    async start() {},
    async stop() {},
    async createWriter(key): Promise<PieceWriter> {
      const chunks: Uint8Array[] = [];
      let done = false;
      return {
        async write(chunk) {
          if (done) throw new InsituError('ERR_INTERNAL', 'writer is closed');
          chunks.push(chunk.slice());
        },
        async writeMany(list) {
          if (done) throw new InsituError('ERR_INTERNAL', 'writer is closed');
          for (const c of list) chunks.push(c.slice());
        },
        async commit(meta) {
          done = true;
          const bytes = Buffer.concat(chunks);
          data.set(k(key), { bytes: new Uint8Array(bytes), meta: { ...meta, size: bytes.length, storedAt: Date.now() } });
        },
        async abort() {
          done = true;
        },
      };
    },
    async meta(key) {
      return data.get(k(key))?.meta;
    },
    async read(key, offset, length, into) {
      const e = data.get(k(key));
      if (!e) throw new InsituError('ERR_PIECE_NOT_FOUND', `no data for object ${key.objectId} index ${key.index}`);
      if (offset < 0 || offset + length > e.bytes.length) throw new InsituError('ERR_INVALID_RANGE', 'read past the end of a piece');
      if (!into) return e.bytes.slice(offset, offset + length);
      into.set(e.bytes.subarray(offset, offset + length));
      return into.subarray(0, length);
    },
    async locate(key) {
      const e = data.get(k(key));
      if (!e) throw new InsituError('ERR_PIECE_NOT_FOUND', `no data for object ${key.objectId} index ${key.index}`);
      return { bytes: e.bytes };
    },
    async delete(objectId) {
      for (const key of [...data.keys()]) if (key.startsWith(`${objectId}:`)) data.delete(key);
    },
    async list() {
      return [...data.keys()].map((s) => {
        const [o, i] = s.split(':');
        return { objectId: BigInt(o!), index: Number(i) };
      });
    },
    async getState(name) {
      return state.get(name);
    },
    async setState(name, value) {
      state.set(name, value);
    },
  };
}
