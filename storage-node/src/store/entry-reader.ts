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

/** Bytes [offset, offset + length) of an entry held in memory (shorter past its end): copied into `into` when given, else a view. */
export function rangeOf(bytes: Uint8Array, offset: number, length: number, into?: Uint8Array): Uint8Array {
  const part = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
  if (!into) return part;
  into.set(part);
  return into.subarray(0, part.length);
}

/** Opens the entry under `key`: ERR_PIECE_NOT_FOUND when the store holds none (or its file is gone). */
export async function openEntry(store: PieceStore, key: PieceKey): Promise<EntryReader> {
  const where = await store.locate(key);
  if ('bytes' in where) {
    const bytes = where.bytes;
    return {
      read: async (offset, length, into) => rangeOf(bytes, offset, length, into),
      async close() {},
    };
  }
  try {
    return await openFileReader(where.path);
  } catch (cause) {
    throw new InsituError('ERR_PIECE_NOT_FOUND', `data file for object ${key.objectId} index ${key.index} is missing`, { cause });
  }
}
