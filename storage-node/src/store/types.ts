// The PieceStore interface: where a node keeps what it holds. Key (objectId, index): index -1 is
// the primary's whole copy, 0..n-1 is piece index i (piece i of every segment, concatenated).
// Data becomes visible only when a writer commits, so a half-written piece is never served.

export interface PieceKey {
  objectId: bigint;
  index: number;
}

export interface PieceMeta {
  /** SHA-256 of each unit (segment for index -1, piece for 0..n-1), in order. */
  hashes: Uint8Array[];
  /** Bytes of each unit, in order. */
  sizes: number[];
  size: number;
  storedAt: number;
}

export interface PieceWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Writes the chunks in order, as one call where the store can (gathered writes, no joining copy). */
  writeMany(chunks: Uint8Array[]): Promise<void>;
  /** Makes the data visible under its key, replacing what was there. */
  commit(meta: Omit<PieceMeta, 'size' | 'storedAt'>): Promise<void>;
  abort(): Promise<void>;
}

export interface PieceStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * A writer for a new entry. `size` (bytes about to be written) lets a store with a disk refuse
   * up front with ERR_NODE_DISK_FULL instead of failing half-way.
   */
  createWriter(key: PieceKey, opts?: { size?: number }): Promise<PieceWriter>;
  /** Free bytes where the data lives and the reserve the store keeps free (absent: not on a disk). */
  space?(): Promise<{ free: number; reserve: number; total: number }>;
  meta(key: PieceKey): Promise<PieceMeta | undefined>;
  /**
   * Reads bytes [offset, offset + length) of a committed entry; into `into` (at least `length`
   * bytes, returned as a view of it) when given, so a reader can reuse one buffer.
   */
  read(key: PieceKey, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  delete(objectId: bigint): Promise<void>;
  list(): Promise<PieceKey[]>;
  /** Where a committed entry's bytes live, for readers that stream them themselves (jobs). */
  locate(key: PieceKey): Promise<{ path: string } | { bytes: Uint8Array }>;
  /** Small persistent key/value slots for the node's own bookkeeping (event cursor …). */
  getState(name: string): Promise<string | undefined>;
  setState(name: string, value: string): Promise<void>;
}

/** Offset of unit u when every unit but the last has the size of the first. */
export function unitOffset(meta: Pick<PieceMeta, 'sizes'>, unit: number): number {
  let at = 0;
  for (let i = 0; i < unit; i++) at += meta.sizes[i]!;
  return at;
}
