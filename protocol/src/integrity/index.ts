// Greenfield's integrity hashes, computed while streaming: the object checksum is the SHA-256 of
// the concatenated per-segment SHA-256 hashes; piece checksum j is the SHA-256 of the
// concatenated hashes of piece j of every segment. An empty object has sha256("") everywhere.

import { createHash } from 'node:crypto';
import { createErasureCodec } from '../codec/index.ts';
import type { ErasureCodec } from '../codec/types.ts';
import { createSegmentHasher, isShared, type SegmentHasher } from './hash-worker.ts';
import { throwIfAborted } from '../errors.ts';

export interface RedundancyParams {
  segmentSize: number;
  dataShards: number;
  parityShards: number;
}

export const GREENFIELD_REDUNDANCY: RedundancyParams = { segmentSize: 16 * 1024 * 1024, dataShards: 4, parityShards: 2 };

export interface IntegrityResult {
  size: bigint;
  /** [object, piece 0, …, piece k+m-1] */
  checksums: Uint8Array[];
  segmentHashes: Uint8Array[];
  /** pieceHashes[j][s] = sha256(piece j of segment s) */
  pieceHashes: Uint8Array[][];
}

export const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());

export function hashOfHashes(hashes: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const x of hashes) h.update(x);
  return new Uint8Array(h.digest());
}

export const EMPTY_HASH = sha256(new Uint8Array(0));
export const emptyChecksums = (params: RedundancyParams = GREENFIELD_REDUNDANCY): Uint8Array[] =>
  Array.from({ length: 1 + params.dataShards + params.parityShards }, () => EMPTY_HASH.slice());

/** The first buffer a segment is gathered in (see segmentStream). */
const SMALL_SEGMENT_BUFFER = 64 * 1024;

/**
 * Re-chunks a byte stream into exact segments of `segmentSize` (the last one shorter). Holds at
 * most one segment; a source chunk that already is a whole segment is passed through uncopied.
 */
export async function* segmentStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  segmentSize: number,
  opts: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array> {
  if (!Number.isInteger(segmentSize) || segmentSize <= 0) throw new TypeError('segmentSize must be a positive integer');
  let buf: Uint8Array | null = null;
  let fill = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    throwIfAborted(opts.signal);
    let at = 0;
    while (at < chunk.length) {
      if (fill === 0 && chunk.length - at >= segmentSize) {
        yield chunk.subarray(at, at + segmentSize);
        at += segmentSize;
        continue;
      }
      // A small object must not cost a whole segment's zeroed buffer (16 MiB by default): start
      // at most at SMALL_SEGMENT_BUFFER and grow to the full segment (one copy) when it fills.
      buf ??= new Uint8Array(Math.min(segmentSize, Math.max(SMALL_SEGMENT_BUFFER, chunk.length - at)));
      if (fill === buf.length && fill < segmentSize) {
        const grown = new Uint8Array(segmentSize);
        grown.set(buf);
        buf = grown;
      }
      const n = Math.min(buf.length - fill, chunk.length - at);
      buf.set(chunk.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === segmentSize) {
        const out = buf;
        buf = null;
        fill = 0;
        yield out;
      }
    }
  }
  throwIfAborted(opts.signal);
  if (fill > 0) yield buf!.subarray(0, fill);
}

/** Hashes of one segment: its own and one per piece (parity encoded into `parity` when given). */
export function hashSegment(segment: Uint8Array, codec: ErasureCodec, parity?: Uint8Array): { segmentHash: Uint8Array; pieces: Uint8Array[]; pieceHashes: Uint8Array[] } {
  const pieces = codec.encode(segment, parity);
  // Data piece 0 is the segment's first bytes: the segment's hash goes on from piece 0's state.
  const h = createHash('sha256').update(pieces[0]!);
  const first = new Uint8Array(h.copy().digest());
  const segmentHash = new Uint8Array(h.update(segment.subarray(pieces[0]!.length)).digest());
  return { segmentHash, pieces, pieceHashes: [first, ...pieces.slice(1).map(sha256)] };
}

export async function computeChecksums(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array,
  params: RedundancyParams = GREENFIELD_REDUNDANCY,
  opts: { signal?: AbortSignal; codec?: ErasureCodec } = {},
): Promise<IntegrityResult> {
  const codec = opts.codec ?? createErasureCodec({ dataShards: params.dataShards, parityShards: params.parityShards });
  const n = params.dataShards + params.parityShards;
  const segmentHashes: Uint8Array[] = [];
  const pieceHashes: Uint8Array[][] = Array.from({ length: n }, () => []);
  let size = 0n;
  const input = source instanceof Uint8Array ? [source] : source;
  // One parity buffer for every segment, sized by the first (no later one is longer).
  let parity: Uint8Array | undefined;
  // Whole segments in shared memory (a file's) are hashed on two threads: the other one takes the
  // segment (and data piece 0 on the way) and data piece 1 while this one encodes and hashes the
  // rest.
  let hasher: SegmentHasher | undefined;
  try {
    for await (const segment of segmentStream(input, params.segmentSize, opts)) {
      if (segment.length === 0) continue;
      size += BigInt(segment.length);
      parity ??= new Uint8Array(params.parityShards * Math.ceil(segment.length / params.dataShards));
      if (segment.length !== params.segmentSize || !isShared(segment)) {
        const h = hashSegment(segment, codec, parity);
        segmentHashes.push(h.segmentHash);
        h.pieceHashes.forEach((ph, j) => pieceHashes[j]!.push(ph));
        continue;
      }
      hasher ??= createSegmentHasher();
      const shard = Math.ceil(segment.length / params.dataShards);
      const second = params.dataShards > 1 && 2 * shard <= segment.length;
      const other = hasher.hash(segment, shard, second ? [[shard, 2 * shard]] : []);
      other.catch(() => undefined);
      const pieces = codec.encode(segment, parity);
      const here = pieces.map((p, j) => (j === 0 || (j === 1 && second) ? undefined : sha256(p)));
      const h = await other;
      segmentHashes.push(h.whole);
      pieces.forEach((_, j) => pieceHashes[j]!.push(j === 0 ? h.first : j === 1 && second ? h.more[0]! : here[j]!));
    }
  } finally {
    await hasher?.close();
  }
  if (size === 0n) return { size, checksums: emptyChecksums(params), segmentHashes, pieceHashes };
  return { size, checksums: [hashOfHashes(segmentHashes), ...pieceHashes.map(hashOfHashes)], segmentHashes, pieceHashes };
}
