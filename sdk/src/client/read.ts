// Verified reads. From the primary, whole segments are fetched and each is checked against the
// segment hash list, which is itself checked against the chain's object checksum. If the primary
// is down or serves anything that fails a check, the read continues from secondaries: piece
// hash lists checked against the chain's piece checksums, verified pieces, and Reed–Solomon
// decoding from any 4 of 6. Fewer than 4 good pieces is ERR_NOT_ENOUGH_PIECES — never wrong bytes.

import { createHash } from 'node:crypto';
import { InsituError, throwIfAborted } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { getObject, getPiece, getPieceHashes, nodeAlive, STALL_MS, type ProviderRoleClaim } from '../sp/index.ts';

/** The deadline for a node that is slow but alive, when no other source is left. */
const PATIENT_MS = 60_000;
import type { ErasureCodec } from '@insitu/protocol/codec';
import type { ChainReader, ObjectInfo, StorageParams } from '@insitu/protocol/chain';

export interface ReadContext {
  chain: ChainReader;
  codec: ErasureCodec;
  params: StorageParams;
  privateKey?: string;
  /** The chain role a provider reads for (a job it executes), sent for the serving node to check. */
  role?: ProviderRoleClaim;
  endpointOf(spId: number): Promise<string>;
  onDegraded?(reason: string): void;
  /** A node silent this long (before its first byte, or between chunks) is read around (default STALL_MS). */
  stallMs?: number;
}

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function segmentBounds(size: number, segSize: number, s: number): { start: number; length: number } {
  const start = s * segSize;
  return { start, length: Math.min(segSize, size - start) };
}

/** Reads segments [first, last] from the primary, verified; stops at the first failure. */
async function* fromPrimary(ctx: ReadContext, obj: ObjectInfo, first: number, last: number, endpoint: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const key = { ...(ctx.privateKey ? { privateKey: ctx.privateKey } : {}), ...(ctx.role ? { role: ctx.role } : {}), stallMs: ctx.stallMs ?? STALL_MS };
  const hashes = await getPieceHashes({ endpoint, objectId: obj.id, index: -1, ...key, ...(signal ? { signal } : {}) });
  if (!same(hashOfHashes(hashes), obj.checksums[0]!)) throw new InsituError('ERR_CHECKSUM_MISMATCH', 'the primary\'s segment hash list does not match the chain');
  const size = Number(obj.payloadSize);
  const segSize = ctx.params.maxSegmentSize;
  const start = first * segSize;
  const end = Math.min(size, (last + 1) * segSize) - 1;
  const res = await getObject({ endpoint, bucket: obj.bucketName, object: obj.objectName, range: { start, end }, ...key, ...(signal ? { signal } : {}) });
  let s = first;
  let buf = new Uint8Array(segmentBounds(size, segSize, s).length);
  let fill = 0;
  for await (const chunk of res.body) {
    let at = 0;
    while (at < chunk.length) {
      if (s > last) throw new InsituError('ERR_CHECKSUM_MISMATCH', 'the primary sent more bytes than asked for');
      const n = Math.min(buf.length - fill, chunk.length - at);
      buf.set(chunk.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === buf.length) {
        if (!same(sha(buf), hashes[s]!)) throw new InsituError('ERR_CHECKSUM_MISMATCH', `segment ${s} from the primary failed its hash`);
        yield buf;
        s++;
        if (s <= last) buf = new Uint8Array(segmentBounds(size, segSize, s).length);
        fill = 0;
      }
    }
  }
  if (s <= last) throw new InsituError('ERR_CHECKSUM_MISMATCH', `the primary's answer ended before segment ${s}`);
}

/**
 * Rebuilds segments [first, last] from verified pieces on the secondaries. Every request has a
 * deadline (ReadContext.stallMs), a source that fails or stalls is asked again only after the
 * healthy ones, a missing piece is asked of the next source as soon as one fails, and the next
 * segment's pieces are fetched while the current one is decoded and handed on.
 */
async function* fromSecondaries(ctx: ReadContext, obj: ObjectInfo, first: number, last: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId, signal ? { signal } : {});
  const k = ctx.params.dataChunks;
  const n = k + ctx.params.parityChunks;
  const stallMs = ctx.stallMs ?? STALL_MS;
  const key = { ...(ctx.privateKey ? { privateKey: ctx.privateKey } : {}), ...(ctx.role ? { role: ctx.role } : {}), stallMs };
  const sources = await Promise.all(gvg.secondarySpIds.slice(0, n).map(async (spId, j) => {
    try {
      const endpoint = await ctx.endpointOf(spId);
      const hashes = await getPieceHashes({ endpoint, objectId: obj.id, index: j, ...key, ...(signal ? { signal } : {}) });
      if (!same(hashOfHashes(hashes), obj.checksums[1 + j]!)) return null;
      return { j, endpoint, hashes, failures: 0 };
    } catch {
      return null;
    }
  }));
  const usable = sources.filter((x): x is NonNullable<typeof x> => x !== null);
  const size = Number(obj.payloadSize);
  const segSize = ctx.params.maxSegmentSize;

  /** k verified pieces of segment s (data pieces first: with all four no decoding is needed). */
  const piecesOf = async (s: number): Promise<(Uint8Array | null)[]> => {
    const pieces: (Uint8Array | null)[] = Array.from({ length: n }, () => null);
    // Sources that failed before go last; among equals, the data pieces first.
    const order = [...usable].sort((a, b) => a.failures - b.failures || a.j - b.j);
    let next = 0;
    let have = 0;
    const fetchFrom = async (src: (typeof usable)[number], patient = false): Promise<void> => {
      try {
        const p = await getPiece({ endpoint: src.endpoint, objectId: obj.id, index: src.j, segment: s, ...key, ...(patient ? { stallMs: PATIENT_MS } : {}), ...(signal ? { signal } : {}) });
        if (same(sha(p), src.hashes[s]!)) {
          pieces[src.j] = p;
          have++;
          return;
        }
      } catch (e) {
        if (signal?.aborted) throw e;
        // No other source left: a node that is only slow (it answers its health check) is given
        // the time it needs; a frozen one is not.
        if (!patient && have < k && next >= order.length && (!(e instanceof InsituError) || e.code === 'ERR_NODE_UNAVAILABLE') && (await nodeAlive(src.endpoint, stallMs / 2))) {
          return fetchFrom(src, true);
        }
      }
      src.failures++;
      // One more source for the one that failed, while any is left.
      if (have < k && next < order.length) await fetchFrom(order[next++]!);
    };
    const firsts = order.slice(0, k);
    next = firsts.length;
    await Promise.all(firsts.map((src) => fetchFrom(src)));
    if (have < k) {
      throw new InsituError('ERR_NOT_ENOUGH_PIECES',
        `segment ${s} of ${obj.bucketName}/${obj.objectName}: only ${have} of the ${k} verified pieces needed could be read (primary unavailable too)`);
    }
    return pieces;
  };

  let ahead: Promise<(Uint8Array | null)[]> | undefined;
  try {
    for (let s = first; s <= last; s++) {
      throwIfAborted(signal);
      const current = ahead ?? piecesOf(s);
      ahead = s < last ? piecesOf(s + 1) : undefined;
      // A prefetch that fails while this segment is handed on is reported in its own turn.
      ahead?.catch(() => undefined);
      yield ctx.codec.decode(await current, segmentBounds(size, segSize, s).length);
    }
  } finally {
    await ahead?.catch(() => undefined);
  }
}

export interface ReadOptions {
  /** Inclusive byte range. */
  range?: { start: number; end: number };
  signal?: AbortSignal;
}

export async function* readObject(ctx: ReadContext, obj: ObjectInfo, primaryEndpoint: string | null, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const size = Number(obj.payloadSize);
  if (obj.status !== 'sealed') throw new InsituError('ERR_OBJECT_NOT_SEALED', `${obj.bucketName}/${obj.objectName} is not sealed yet; it cannot be read`);
  if (size === 0) {
    if (opts.range) throw new InsituError('ERR_INVALID_RANGE', 'an empty object has no byte ranges');
    return;
  }
  const start = opts.range?.start ?? 0;
  const end = Math.min(opts.range?.end ?? size - 1, size - 1);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || start >= size) {
    throw new InsituError('ERR_INVALID_RANGE', `range ${start}-${end} is outside the object's ${size} bytes`);
  }
  const segSize = ctx.params.maxSegmentSize;
  const first = Math.floor(start / segSize);
  const last = Math.floor(end / segSize);
  let s = first;
  const emit = (seg: Uint8Array, idx: number): Uint8Array => {
    const segStart = idx * segSize;
    return seg.subarray(Math.max(start, segStart) - segStart, Math.min(end + 1, segStart + seg.length) - segStart);
  };
  // A primary that goes silent is given up after the stall deadline, unless it still answers its
  // health check: then it is busy, not frozen, and is read again with patience.
  for (let patient = false; primaryEndpoint; patient = true) {
    try {
      for await (const seg of fromPrimary(patient ? { ...ctx, stallMs: PATIENT_MS } : ctx, obj, s, last, primaryEndpoint, opts.signal)) {
        yield emit(seg, s);
        s++;
      }
      return;
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (e instanceof InsituError && (e.code === 'ERR_PERMISSION_DENIED' || e.code === 'ERR_UNAUTHENTICATED' || e.code === 'ERR_SIGNATURE_INVALID' || e.code === 'ERR_QUOTA_EXCEEDED' || e.code === 'ERR_ACCOUNT_FROZEN')) throw e;
      const silent = !(e instanceof InsituError) || e.code === 'ERR_NODE_UNAVAILABLE';
      if (!patient && silent && (await nodeAlive(primaryEndpoint, (ctx.stallMs ?? STALL_MS) / 2))) continue;
      ctx.onDegraded?.(e instanceof Error ? e.message : String(e));
      break;
    }
  }
  for await (const seg of fromSecondaries(ctx, obj, s, last, opts.signal)) {
    yield emit(seg, s);
    s++;
  }
}
