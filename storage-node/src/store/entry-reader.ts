// One committed entry read from start to end by one reader (the primary serving an object): the
// entry is looked up once and its file opened once for the whole answer, so every chunk is one
// read of the device (around the page cache into an aligned buffer, direct-file.ts) instead of an
// index lookup and a read, and the whole answer comes from the one file it started on.

import { InsituError } from '@insitu/protocol';
import { openFileReader } from './direct-file.ts';
import type { PieceKey, PieceStore } from './types.ts';

export interface EntryReader {
  /** Bytes [offset, offset + length) into `into` (a view of it; shorter past the entry's end). */
  read(offset: number, length: number, into: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Opens the entry under `key`: ERR_PIECE_NOT_FOUND when the store holds none (or its file is gone). */
export async function openEntry(store: PieceStore, key: PieceKey): Promise<EntryReader> {
  const where = await store.locate(key);
  if ('bytes' in where) {
    const bytes = where.bytes;
    return {
      async read(offset, length, into) {
        const part = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
        into.set(part);
        return into.subarray(0, part.length);
      },
      async close() {},
    };
  }
  try {
    return await openFileReader(where.path);
  } catch (cause) {
    throw new InsituError('ERR_PIECE_NOT_FOUND', `data file for object ${key.objectId} index ${key.index} is missing`, { cause });
  }
}
