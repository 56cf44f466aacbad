// Verified reads. From the primary, whole segments are fetched and each is checked against the
// segment hash list, which is itself checked against the chain's object checksum. If the primary
// is down or serves anything that fails a check, the read continues from secondaries: piece
// hash lists checked against the chain's piece checksums, verified pieces, and Reed–Solomon
// decoding from any 4 of 6. Fewer than 4 good pieces is ERR_NOT_ENOUGH_PIECES — never wrong bytes.

import { createHash } from 'node:crypto';
import { InsituError, throwIfAborted } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { getPieceHashes, nodeAlive, openObject, openPieces, STALL_MS, type BodyReader, type ProviderRoleClaim } from '../sp/index.ts';

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

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function segmentBounds(size: number, segSize: number, s: number): { start: number; length: number } {
  const start = s * segSize;
  return { start, length: Math.min(segSize, size - start) };
}

/**
 * Bytes hashed at a time as a unit arrives: small enough to be hashed while they are still in the
 * cache, large enough that a hash call costs nothing per byte.
 */
const HASH_STEP = 1 << 20;

/** Fills `into` from `body` in one read, hashing it as it arrives; returns its SHA-256. `heard` is told of every arrival. */
async function readHashed(body: BodyReader, into: Uint8Array, heard?: () => void): Promise<Buffer> {
  const hash = createHash('sha256');
  let hashed = 0;
  await body.read(into, (filled) => {
    heard?.();
    if (filled - hashed < HASH_STEP && filled < into.length) return;
    hash.update(into.subarray(hashed, filled));
    hashed = filled;
  });
  if (hashed < into.length) hash.update(into.subarray(hashed));
  return hash.digest();
}

/**
 * Buffers for the units (segments, pieces) a read receives, uninitialised since each is filled
 * whole before anything reads it. A read whose reader keeps what it is handed gets a new buffer
 * per unit; one whose reader is done with each chunk once it asks for the next
 * (ReadOptions.reuseBuffers) cycles through a few, read into again once the reader came back for
 * more. A new 16 MiB buffer per segment cost a 1 GiB download about half the client's CPU:
 * the kernel's first touch of every page, and a full garbage collection every few segments,
 * which V8 starts when that much memory outside its heap was allocated.
 */
interface Units {
  take(size: number): Buffer;
  /** The reader is done with these chunks (views of units): their buffers may be read into again. */
  release(chunks: Uint8Array[]): void;
}

const freshUnits: Units = { take: (size) => Buffer.allocUnsafeSlow(size), release: () => {} };

/** A read's own few buffers, reused; a unit larger than any free one gets a new buffer. */
function reusedUnits(): Units {
  /** The backing memory of every buffer handed out and not yet released. */
  const lent = new Set<ArrayBufferLike>();
  const free: Buffer[] = [];
  return {
    take(size) {
      const i = free.findIndex((b) => b.length >= size);
      const buf = i >= 0 ? free.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size);
      lent.add(buf.buffer);
      return buf.length === size ? buf : buf.subarray(0, size);
    },
    release(chunks) {
      for (const c of chunks) if (lent.delete(c.buffer)) free.push(Buffer.from(c.buffer));
    },
  };
}

/**
 * Whether a node a read waits on is frozen or only busy, known by the time the read's stall
 * deadline passes: once the node has sent nothing for half the deadline while the read waits on
 * it, its health check is asked, with the other half to answer. Asked only when the deadline
 * passed, the check added its own wait to every read around a frozen node (3.3 s instead of
 * about 2). A reader that takes its time asks for no bytes meanwhile, and no check.
 */
interface LivenessWatch {
  /** The node sent something. */
  heard(): void;
  /** Runs while the read waits on the node (its start counts as hearing from it). */
  waiting<T>(p: Promise<T>): Promise<T>;
  /** Whether the node answers its health check: a check asked since it was last heard from, or a new one. */
  alive(): Promise<boolean>;
  stop(): void;
}

function livenessWatch(endpoint: string, stallMs: number): LivenessWatch {
  let last = performance.now();
  let waits = 0;
  let probe: { at: number; alive: Promise<boolean> } | undefined;
  const ask = (): Promise<boolean> => (probe = { at: performance.now(), alive: nodeAlive(endpoint, stallMs / 2) }).alive;
  /** A check asked since the node was last heard from, and no older than `age`. */
  const fresh = (age: number): boolean => !!probe && probe.at >= last && performance.now() - probe.at < age;
  const timer = setInterval(() => {
    if (waits > 0 && performance.now() - last >= stallMs / 2 && !fresh(stallMs / 2)) void ask();
  }, stallMs / 4);
  timer.unref();
  const heard = (): void => void (last = performance.now());
  return {
    heard,
    waiting(p) {
      heard();
      waits++;
      const done = (): void => void waits--;
      p.then(done, done);
      return p;
    },
    alive: () => (fresh(stallMs) ? probe!.alive : ask()),
    stop: () => clearInterval(timer),
  };
}

/**
 * Reads segments [first, last] from the primary, verified; stops at the first failure. Each
 * segment is received straight into a buffer of its own, hashed as it arrives and handed on
 * whole once it checked out; the next segment is received while this one is handed on.
 */
async function* fromPrimary(ctx: ReadContext, obj: ObjectInfo, first: number, last: number, endpoint: string, units: Units, watch: LivenessWatch, signal?: AbortSignal): AsyncGenerator<Uint8Array[]> {
  const key = { ...(ctx.privateKey ? { privateKey: ctx.privateKey } : {}), ...(ctx.role ? { role: ctx.role } : {}), stallMs: ctx.stallMs ?? STALL_MS };
  const size = Number(obj.payloadSize);
  const segSize = ctx.params.maxSegmentSize;
  const start = first * segSize;
  const end = Math.min(size, (last + 1) * segSize) - 1;
  // The answer is asked for with the hash list, one round trip for both; nothing of it is read
  // before the list checked out against the chain, and it is closed unread when the list fails.
  const opening = openObject({ endpoint, bucket: obj.bucketName, object: obj.objectName, range: { start, end }, ...key, ...(signal ? { signal } : {}) });
  // Its failure is reported below, in its turn; one that comes while the list is awaited is no unhandled rejection.
  opening.catch(() => undefined);
  let hashes: Uint8Array[];
  try {
    hashes = await watch.waiting(getPieceHashes({ endpoint, objectId: obj.id, index: -1, ...key, ...(signal ? { signal } : {}) }));
    if (!same(hashOfHashes(hashes), obj.checksums[0]!)) throw new InsituError('ERR_CHECKSUM_MISMATCH', 'the primary\'s segment hash list does not match the chain');
  } catch (e) {
    void opening.then((b) => b.close(), () => undefined);
    throw e;
  }
  const body = await watch.waiting(opening);
  const segment = async (s: number): Promise<Uint8Array> => {
    const seg = units.take(segmentBounds(size, segSize, s).length);
    if (!same(await watch.waiting(readHashed(body, seg, watch.heard)), hashes[s]!)) throw new InsituError('ERR_CHECKSUM_MISMATCH', `segment ${s} from the primary failed its hash`);
    return seg;
  };
  let ahead: Promise<Uint8Array> | undefined;
  try {
    if (body.length !== end - start + 1) throw new InsituError('ERR_CHECKSUM_MISMATCH', `the primary answered ${body.length} bytes for a range of ${end - start + 1}`);
    for (let s = first; s <= last; s++) {
      const current = ahead ?? segment(s);
      // The answer is one stream: the next segment is received once this one is in.
      ahead = s < last ? current.then(() => segment(s + 1)) : undefined;
      // A read ahead that fails while this segment is handed on is reported in its own turn.
      ahead?.catch(() => undefined);
      yield [await current];
    }
  } finally {
    body.close();
    await ahead?.catch(() => undefined);
  }
}

/**
 * One source's pieces of consecutive segments, read from one streaming answer (a request per
 * source per read, not per piece). Asked for segment s when it stands elsewhere, or after a
 * failure, it opens a new answer from s. Calls are served in the order they are made.
 */
function pieceStream(open: (from: number, patient: boolean) => Promise<BodyReader>, units: Units): { next(s: number, size: number, patient: boolean): Promise<{ piece: Uint8Array; hash: Buffer }>; close(): void } {
  let body: BodyReader | undefined;
  let at = -1;
  let patientNow = false;
  let queue: Promise<unknown> = Promise.resolve();
  const close = (): void => {
    body?.close();
    body = undefined;
    at = -1;
  };
  /** The piece of segment s, received into a buffer of its own, with its SHA-256. */
  const read = async (s: number, size: number, patient: boolean): Promise<{ piece: Uint8Array; hash: Buffer }> => {
    try {
      if (!body || at !== s || patient !== patientNow) {
        close();
        body = await open(s, patient);
        at = s;
        patientNow = patient;
      }
      const piece = units.take(size);
      const hash = await readHashed(body, piece);
      at++;
      return { piece, hash };
    } catch (e) {
      close();
      throw e;
    }
  };
  return {
    next(s, size, patient) {
      const p = queue.then(() => read(s, size, patient));
      queue = p.catch(() => undefined);
      return p;
    },
    close,
  };
}

/**
 * Rebuilds segments [first, last] from verified pieces on the secondaries. Every source is read
 * as one stream of its pieces with a deadline (ReadContext.stallMs) before its first byte and
 * between chunks; a source that fails or stalls is asked again only after the healthy ones, a
 * missing piece is asked of the next source as soon as one fails, and the next segment's pieces
 * are read while the current one is decoded and handed on.
 */
async function* fromSecondaries(ctx: ReadContext, obj: ObjectInfo, first: number, last: number, units: Units, signal?: AbortSignal): AsyncGenerator<Uint8Array[]> {
  const gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId, signal ? { signal } : {});
  const k = ctx.params.dataChunks;
  const n = k + ctx.params.parityChunks;
  const stallMs = ctx.stallMs ?? STALL_MS;
  const key = { ...(ctx.privateKey ? { privateKey: ctx.privateKey } : {}), ...(ctx.role ? { role: ctx.role } : {}), stallMs };
  /** Source j with its verified hash list; null when it has none to give, 'silent' when it did not answer in time. */
  const source = async (spId: number, j: number, patient: boolean) => {
    try {
      const endpoint = await ctx.endpointOf(spId);
      const hashes = await getPieceHashes({ endpoint, objectId: obj.id, index: j, ...key, ...(patient ? { stallMs: PATIENT_MS } : {}), ...(signal ? { signal } : {}) });
      if (!same(hashOfHashes(hashes), obj.checksums[1 + j]!)) return null;
      const stream = pieceStream((from, slow) => openPieces({
        endpoint, objectId: obj.id, index: j, first: from, last, ...key, ...(slow ? { stallMs: PATIENT_MS } : {}), ...(signal ? { signal } : {}),
      }), units);
      return { j, endpoint, hashes, failures: 0, stream };
    } catch (e) {
      if (signal?.aborted) throw e;
      return !patient && e instanceof InsituError && e.code === 'ERR_NODE_UNAVAILABLE' ? 'silent' as const : null;
    }
  };
  const spIds = gvg.secondarySpIds.slice(0, n);
  let found = await Promise.all(spIds.map((spId, j) => source(spId, j, false)));
  // Too few answered in time: those that are only busy (they answer their health check) are
  // asked again with patience; frozen ones are not.
  if (found.filter((x) => x !== null && x !== 'silent').length < k) {
    found = await Promise.all(found.map(async (x, j) => {
      if (x !== 'silent') return x;
      return (await nodeAlive(await ctx.endpointOf(spIds[j]!), stallMs / 2)) ? source(spIds[j]!, j, true) : null;
    }));
  }
  const usable = found.filter((x): x is Exclude<typeof x, null | 'silent'> => x !== null && x !== 'silent');
  const size = Number(obj.payloadSize);
  const segSize = ctx.params.maxSegmentSize;

  /** k verified pieces of segment s (data pieces first: with all four no decoding is needed). */
  const piecesOf = async (s: number): Promise<(Uint8Array | null)[]> => {
    const pieces: (Uint8Array | null)[] = Array.from({ length: n }, () => null);
    const pieceSize = Math.ceil(segmentBounds(size, segSize, s).length / k);
    // Sources that failed before go last; among equals, the data pieces first.
    const order = [...usable].sort((a, b) => a.failures - b.failures || a.j - b.j);
    let next = 0;
    let have = 0;
    /** Why each source that did not give its piece failed, for the error. */
    const why: string[] = [];
    const fetchFrom = async (src: (typeof usable)[number], patient = false): Promise<void> => {
      try {
        const p = await src.stream.next(s, pieceSize, patient);
        if (same(p.hash, src.hashes[s]!)) {
          pieces[src.j] = p.piece;
          have++;
          return;
        }
        why.push(`piece ${src.j}: hash mismatch`);
        src.stream.close();
      } catch (e) {
        if (signal?.aborted) throw e;
        why.push(`piece ${src.j}: ${e instanceof InsituError ? e.code : String(e)}`);
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
        `segment ${s} of ${obj.bucketName}/${obj.objectName}: only ${have} of the ${k} verified pieces needed could be read (primary unavailable too; ${usable.length} of ${n} secondaries gave a verified hash list${why.length ? `; ${why.join(', ')}` : ''})`);
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
      const pieces = await current;
      const length = segmentBounds(size, segSize, s).length;
      if (pieces.slice(0, k).every((p) => p !== null)) {
        // Every data piece is here: the segment is their bytes in order (the last one's zero
        // padding cut off), handed on as they were received.
        const parts: Uint8Array[] = [];
        let left = length;
        for (const piece of pieces.slice(0, k) as Uint8Array[]) {
          if (left === 0) break;
          parts.push(piece.length <= left ? piece : piece.subarray(0, left));
          left -= Math.min(piece.length, left);
        }
        yield parts;
      } else {
        const decoded = ctx.codec.decode(pieces, length);
        // The pieces were decoded from: theirs to read into again.
        units.release(pieces.filter((p): p is Uint8Array => p !== null));
        yield [decoded];
      }
    }
  } finally {
    await ahead?.catch(() => undefined);
    for (const src of usable) src.stream.close();
  }
}

export interface ReadOptions {
  /** Inclusive byte range. */
  range?: { start: number; end: number };
  signal?: AbortSignal;
  /**
   * Each chunk handed out is the reader's only until it asks for the next one: its memory is then
   * read into again. For a reader that writes each chunk out (and waits for the write) before
   * asking for more; one that keeps chunks must not set it. Default false: every chunk is new memory.
   */
  reuseBuffers?: boolean;
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
  const units = opts.reuseBuffers ? reusedUnits() : freshUnits;
  let s = first;
  /** The parts of segment `idx` (its chunks, in order) that fall in the range asked for. */
  function* emitParts(parts: Uint8Array[], idx: number): Generator<Uint8Array> {
    let at = idx * segSize;
    for (const p of parts) {
      const from = Math.max(start, at) - at;
      const to = Math.min(end + 1, at + p.length) - at;
      if (to > from) yield from === 0 && to === p.length ? p : p.subarray(from, to);
      at += p.length;
    }
  }
  // A primary that goes silent is given up after the stall deadline, unless it still answers its
  // health check: then it is busy, not frozen, and is read again with patience.
  const watch = primaryEndpoint ? livenessWatch(primaryEndpoint, ctx.stallMs ?? STALL_MS) : undefined;
  for (let patient = false; primaryEndpoint; patient = true) {
    try {
      for await (const parts of fromPrimary(patient ? { ...ctx, stallMs: PATIENT_MS } : ctx, obj, s, last, primaryEndpoint, units, watch!, opts.signal)) {
        yield* emitParts(parts, s);
        // The reader asked for more: done with this segment.
        units.release(parts);
        s++;
      }
      return;
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (e instanceof InsituError && (e.code === 'ERR_PERMISSION_DENIED' || e.code === 'ERR_UNAUTHENTICATED' || e.code === 'ERR_SIGNATURE_INVALID' || e.code === 'ERR_QUOTA_EXCEEDED' || e.code === 'ERR_ACCOUNT_FROZEN')) throw e;
      const silent = !(e instanceof InsituError) || e.code === 'ERR_NODE_UNAVAILABLE';
      if (!patient && silent && (await watch!.alive())) continue;
      ctx.onDegraded?.(e instanceof Error ? e.message : String(e));
      break;
    } finally {
      watch!.stop();
    }
  }
  for await (const parts of fromSecondaries(ctx, obj, s, last, units, opts.signal)) {
    yield* emitParts(parts, s);
    units.release(parts);
    s++;
  }
}
