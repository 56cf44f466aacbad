// Upload sources: bytes, a file path, a Node stream or any AsyncIterable. Whatever is not a file
// (a path, or an unread stream of a whole file) or bytes is spooled to a temporary file first, because the checksums must be registered on
// chain before the first byte is uploaded and nothing large is ever held in memory.

import { createWriteStream, ReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { InsituError, throwIfAborted, toAbortError } from '@insitu/protocol';

export type ObjectSource = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PreparedSource {
  size: bigint;
  /**
   * A fresh stream of the bytes; may be called more than once. For a file, each chunk is valid
   * only until the next one is asked for (two buffers are read into in turn).
   */
  open(): AsyncIterable<Uint8Array>;
  /**
   * For a file: its bytes in whole segments of `size` (the last one shorter), read into two
   * buffers in turn (the next read while this one is used). A chunk is valid only until the next
   * one is asked for: for a consumer that is done with each before it asks on (the checksum pass),
   * which then allocates nothing per segment.
   */
  segments?(size: number): AsyncIterable<Uint8Array>;
  cleanup(): Promise<void>;
}

function isWholeUnreadFile(s: ReadStream): s is ReadStream & { path: string } {
  const { start, end } = s as unknown as { start?: number; end?: number };
  return typeof s.path === 'string' && s.bytesRead === 0 && !s.readableDidRead && s.readableLength === 0
    && start === undefined && (end === undefined || end === Infinity);
}

export async function prepareSource(source: ObjectSource, signal?: AbortSignal): Promise<PreparedSource> {
  throwIfAborted(signal);
  if (source instanceof Uint8Array) {
    return { size: BigInt(source.length), open: () => [source] as unknown as AsyncIterable<Uint8Array>, cleanup: async () => {} };
  }
  // A stream of a whole file that nothing has read yet is that file: read it in place, no spool.
  if (source instanceof ReadStream && isWholeUnreadFile(source)) {
    const path = source.path;
    source.destroy();
    return prepareSource(path, signal);
  }
  if (typeof source === 'string') {
    let st;
    try {
      st = await stat(source);
    } catch (cause) {
      throw new InsituError('ERR_NOT_FOUND', `cannot read ${source}`, { cause });
    }
    if (!st.isFile()) throw new InsituError('ERR_INVALID_ARGUMENT', `${source} is not a regular file`);
    return { size: BigInt(st.size), open: () => fileChunks(source, st.size), segments: (size) => fileSegments(source, size, st.size), cleanup: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'insitu-spool-'));
  const file = join(dir, 'object');
  try {
    await pipeline(source instanceof Readable ? source : Readable.from(source), createWriteStream(file), signal ? { signal } : {});
    const st = await stat(file);
    return {
      size: BigInt(st.size),
      open: () => fileChunks(file, st.size),
      segments: (size) => fileSegments(file, size, st.size),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    if (signal?.aborted) throw toAbortError(signal.reason);
    throw e;
  }
}

/** Reads buf full from `pos` (less only at the end of the file); returns the bytes read. */
async function readFull(fh: FileHandle, buf: Uint8Array, pos: number): Promise<number> {
  let fill = 0;
  while (fill < buf.length) {
    const { bytesRead } = await fh.read(buf, fill, buf.length - fill, pos + fill);
    if (bytesRead === 0) break;
    fill += bytesRead;
  }
  return fill;
}

/**
 * A file's bytes in units of `size` (the last one shorter), read into two buffers in turn: the
 * next unit is read while the consumer works on this one, into the buffer the consumer gave back
 * by asking for this one. A small file gets buffers of its size.
 */
async function* fileUnits(path: string, size: number, fileSize: number, alloc: (n: number) => Uint8Array): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  const bufs = [alloc(Math.max(1, Math.min(size, fileSize)))];
  let next: Promise<number> | undefined = readFull(fh, bufs[0]!, 0);
  try {
    for (let i = 0, pos = 0; next; i++) {
      const fill: number = await next;
      next = undefined;
      if (fill === 0) return;
      const buf = bufs[i % 2]!;
      pos += fill;
      if (fill === size) next = readFull(fh, bufs[(i + 1) % 2] ??= alloc(size), pos);
      yield fill === size ? buf : buf.subarray(0, fill);
      if (fill < size) return;
    }
  } finally {
    await next?.catch(() => undefined);
    await fh.close();
  }
}

/** Segments in shared memory, which lets the checksum pass hash them on a second thread without a copy. */
const fileSegments = (path: string, size: number, fileSize: number): AsyncGenerator<Uint8Array> =>
  fileUnits(path, size, fileSize, (n) => new Uint8Array(new SharedArrayBuffer(n)));

/** Bytes per chunk of a file sent as a body. */
const SEND_CHUNK = 2 * 1024 * 1024;

/**
 * A file as a request body, in two reused buffers instead of a fresh one per chunk (which at a
 * GiB a second is a GiB a second of garbage). For a consumer that hands each chunk on before it
 * asks for the next: undici writing an iterable body waits until the socket has taken a chunk
 * of this size before it asks for the next.
 */
const fileChunks = (path: string, fileSize: number): AsyncGenerator<Uint8Array> =>
  fileUnits(path, SEND_CHUNK, fileSize, (n) => new Uint8Array(n));

/** Counts bytes as they pass, for progress reporting. */
export async function* counted(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    throwIfAborted(signal);
    onBytes(chunk.length);
    yield chunk;
  }
}
