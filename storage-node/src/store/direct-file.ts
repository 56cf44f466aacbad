// Writing a data file around the page cache (O_DIRECT): bytes are gathered into page-aligned
// staging buffers and written to the device from there, one buffer in flight while the next fills.
// Copying an upload into the page cache costs the writing node more CPU than anything else it
// does on a virtual machine whose free memory the host takes back (every page the cache takes is
// faulted in from the host: 1–4 CPU-seconds per GiB, against a few milliseconds for the device
// to take the same bytes directly). Reads into reused page-aligned buffers go around the cache
// for the same reason. Where the filesystem refuses direct I/O (tmpfs, other systems) the same
// writes and reads go through the page cache.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Direct I/O wants buffer addresses, lengths and file offsets in whole blocks; a page covers every device. */
const ALIGN = 4096;
/** Bytes per write to the device. */
export const STAGE_BYTES = 4 * 1024 * 1024;
/** Staging buffers carved out of one allocation. */
const SLOTS_PER_CHUNK = 4;
const WASM_PAGE = 65536;

const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Page-aligned buffers, reused so their pages stay resident. A WebAssembly.Memory's bytes start
 * on a page boundary (a plain Uint8Array's do not), and it is never grown, so views of it stay
 * valid.
 */
export interface StagingPool {
  take(): Uint8Array;
  give(buf: Uint8Array): void;
}

/** Memories whose bytes start on a page boundary: a buffer over one may be read into directly. */
const alignedMemories = new WeakSet<ArrayBufferLike>();

/** Whether `buf` starts on a page boundary and covers whole pages (so direct reads may fill it). */
export const isAlignedBuffer = (buf: Uint8Array): boolean =>
  alignedMemories.has(buf.buffer) && buf.byteOffset % ALIGN === 0 && buf.length % ALIGN === 0;

/**
 * A pool of `slotBytes` buffers (a multiple of the page), `slots` of them carved out of each
 * allocation; at most `keep` free ones are kept (others are dropped, for the collector to free:
 * with one slot per allocation, a burst of users leaves no memory held behind it).
 */
function createAlignedPool(slotBytes: number, slots: number, keep = Infinity): StagingPool {
  const free: Uint8Array[] = [];
  return {
    take() {
      if (free.length === 0) {
        const pages = Math.ceil((slotBytes * slots) / WASM_PAGE);
        let bytes: ArrayBuffer;
        try {
          bytes = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
          alignedMemories.add(bytes);
        } catch {
          // The engine is out of address space for WebAssembly memories (each reserves guard
          // pages): unaligned buffers, whose reads and writes go through the page cache.
          bytes = new ArrayBuffer(slotBytes * slots);
        }
        // Handed out last slot first, so a store with one user at a time touches few slots.
        for (let i = slots - 1; i >= 0; i--) free.push(new Uint8Array(bytes, i * slotBytes, slotBytes));
      }
      return free.pop()!;
    },
    give(buf) {
      if (free.length < keep) free.push(buf);
    },
  };
}

/** Staging buffers for the writers of one store. */
export const createStagingPool = (): StagingPool => createAlignedPool(STAGE_BYTES, SLOTS_PER_CHUNK);

export interface DirectFile {
  /** Copies the chunks into staging (writing full buffers out as it goes); the chunks may be reused once it resolves. */
  write(chunks: Uint8Array[]): Promise<void>;
  /** Bytes taken so far. */
  readonly size: number;
  /** Syncs what has been written out so far (a caller's periodic syncs). */
  datasync(): Promise<void>;
  /** Writes what is staged, trims the file to its size and syncs it. */
  finish(): Promise<void>;
  /** Closes the file (after any write in flight) and returns the staging buffers. */
  close(): Promise<void>;
}

const isEinval = (e: unknown): boolean => (e as { code?: string })?.code === 'EINVAL';

/** Opens `path` for writing (created or truncated), direct where the filesystem allows it. */
export async function openDirectFile(path: string, pool: StagingPool, wrap: <T>(fn: () => Promise<T>) => Promise<T>): Promise<DirectFile> {
  const direct = constants.O_DIRECT;
  let fh: FileHandle;
  let isDirect = direct !== undefined;
  try {
    fh = await wrap(() => open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (direct ?? 0), 0o644));
  } catch (e) {
    if (!isDirect || !isEinval(e)) throw e;
    isDirect = false;
    fh = await wrap(() => open(path, 'w'));
  }
  const bufs = [pool.take(), pool.take()];
  /** Buffer being filled, and how far. */
  let cur = 0;
  let fill = 0;
  /** File offset of the filling buffer's first byte. */
  let pos = 0;
  let size = 0;
  /** The write in flight (of the other buffer); its failure fails every later call. */
  let inFlight: Promise<void> = Promise.resolve();
  let failed: unknown;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** Handles given up for a cached one; closed last, so a sync in progress on one still completes. */
  const retired: FileHandle[] = [];
  const reopenCached = async (): Promise<void> => {
    isDirect = false;
    retired.push(fh);
    fh = await wrap(() => open(path, 'r+'));
  };

  /** Writes buf[0, len) at `at`; a filesystem that refuses direct I/O on a write gets the rest through the cache. */
  const writeOut = async (buf: Uint8Array, len: number, at: number): Promise<void> => {
    for (let done = 0; done < len;) {
      let n: number;
      try {
        n = (await wrap(() => fh.write(buf, done, len - done, at + done))).bytesWritten;
      } catch (e) {
        if (!isDirect || !isEinval(e)) throw e;
        await reopenCached();
        continue;
      }
      // A short direct write leaves an unaligned remainder: finish it through the cache.
      if (n < len - done && isDirect && n % ALIGN !== 0) await reopenCached();
      done += n;
    }
  };

  /** Sends the filling buffer out and switches to the other one once its write is done. */
  const rotate = async (len: number): Promise<void> => {
    await inFlight;
    if (failed !== undefined) throw failed;
    const buf = bufs[cur]!;
    inFlight = writeOut(buf, len, pos).catch((e: unknown) => {
      failed ??= e;
    });
    pos += len;
    cur ^= 1;
    fill = 0;
  };

  const take = async (chunks: Uint8Array[]): Promise<void> => {
    if (failed !== undefined) throw failed;
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length;) {
        const n = Math.min(STAGE_BYTES - fill, chunk.length - at);
        bufs[cur]!.set(n === chunk.length ? chunk : chunk.subarray(at, at + n), fill);
        fill += n;
        at += n;
        size += n;
        if (fill === STAGE_BYTES) await rotate(STAGE_BYTES);
      }
    }
  };

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => undefined);
    return p;
  };

  return {
    write: (chunks) => serial(() => take(chunks)),
    get size() {
      return size;
    },
    // Not queued behind the writes: a sync runs while the next buffers fill.
    datasync: async () => {
      await inFlight;
      if (failed !== undefined) throw failed;
      await wrap(() => fh.datasync());
    },
    finish: () => serial(async () => {
      if (fill > 0) {
        const tail = fill;
        // A direct write covers whole blocks: the padding is cut off again below.
        const len = isDirect ? alignUp(tail) : tail;
        bufs[cur]!.fill(0, tail, len);
        await rotate(len);
      }
      await inFlight;
      if (failed !== undefined) throw failed;
      // Cuts off the padding of a direct tail (also when that write fell back to the cache).
      await wrap(() => fh.truncate(size));
      await wrap(() => fh.sync());
    }),
    close: () => serial(async () => {
      if (closed) return;
      closed = true;
      await inFlight;
      for (const h of [fh, ...retired]) await h.close().catch(() => undefined);
      for (const b of bufs) pool.give(b);
    }),
  };
}

/**
 * Page-aligned buffers of `READ_BYTES` for readers that want their reads around the page cache
 * (a primary serving an object), shared by every store of the process; 16 free ones (32 MiB) are
 * kept for the next readers. Reading a file the writers kept out of the cache through it would
 * cost the reader what writing through it cost: every page the cache takes faulted in from the
 * host (≈ 3 CPU-seconds per GiB), against ≈ 0.1 for the device to fill a resident buffer
 * directly.
 */
export const READ_BYTES = 2 << 20;
export const readBuffers: StagingPool = createAlignedPool(READ_BYTES, 1, 16);

/**
 * `count` page-aligned buffers of `bytes` each (rounded up to whole pages), in one allocation of
 * their own that goes with them: for a reader whose unit is not a READ_BYTES chunk (a secondary
 * serving its pieces), so its reads into them go around the page cache. Unaligned (read through
 * the cache) when the engine cannot reserve another WebAssembly memory.
 */
export function alignedBuffers(count: number, bytes: number): Uint8Array[] {
  const each = alignUp(Math.max(bytes, 1));
  const pages = Math.ceil((each * count) / WASM_PAGE);
  let memory: ArrayBuffer;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
    alignedMemories.add(memory);
  } catch {
    memory = new ArrayBuffer(each * count);
  }
  return Array.from({ length: count }, (_, i) => new Uint8Array(memory, i * each, each));
}

/** Whether a read of `length` bytes at `offset` into `into` can go around the page cache. */
const directFits = (offset: number, length: number, into: Uint8Array): boolean =>
  constants.O_DIRECT !== undefined && offset % ALIGN === 0 && into.length >= alignUp(length) && isAlignedBuffer(into);

/**
 * Reads bytes [offset, offset + length) through a handle opened with O_DIRECT into `into` (a
 * view of it, shorter at the end of the file); undefined when the filesystem refuses.
 */
async function readDirect(fh: FileHandle, offset: number, length: number, into: Uint8Array): Promise<Uint8Array | undefined> {
  const want = alignUp(length);
  let at = 0;
  try {
    while (at < want) {
      const { bytesRead } = await fh.read(into, at, want - at, offset + at);
      at += bytesRead;
      // A direct read stops short only at the end of the file.
      if (bytesRead === 0 || at % ALIGN !== 0) break;
    }
  } catch (e) {
    if (!isEinval(e)) throw e;
    return undefined;
  }
  return into.subarray(0, Math.min(at, length));
}

/** Reads through the page cache; short at the end of the file. */
async function readCached(fh: FileHandle, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
  let at = 0;
  while (at < length) {
    const { bytesRead } = await fh.read(into, at, length - at, offset + at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return into.subarray(0, at);
}

/** One file read by one reader, around the page cache where the buffer and offset allow it. */
export interface FileReader {
  /** Bytes [offset, offset + length) into `into` (a view of it; shorter at the end of the file). */
  read(offset: number, length: number, into: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Opens `path` for reading: direct where the filesystem allows it, with a handle through the page
 * cache opened when a read cannot go around it (an unaligned buffer or offset).
 */
export async function openFileReader(path: string): Promise<FileReader> {
  let direct: FileHandle | undefined;
  let cached: Promise<FileHandle> | undefined;
  if (constants.O_DIRECT !== undefined) {
    try {
      direct = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    } catch (e) {
      if (!isEinval(e)) throw e;
    }
  }
  if (!direct) cached = open(path, 'r');
  let closed = false;
  return {
    async read(offset, length, into) {
      if (closed) throw new Error('read of a closed file');
      if (direct && directFits(offset, length, into)) {
        const got = await readDirect(direct, offset, length, into);
        if (got) return got;
      }
      cached ??= open(path, 'r');
      return readCached(await cached, offset, length, into);
    },
    async close() {
      if (closed) return;
      closed = true;
      await direct?.close().catch(() => undefined);
      await (await cached?.catch(() => undefined))?.close().catch(() => undefined);
    },
  };
}

/** Reads around the page cache into aligned buffers, with a handle per file kept open. */
export interface DirectReads {
  /**
   * Reads bytes [offset, offset + length) of `path` into `into` directly, returned as a view of
   * it (shorter at the end of the file); undefined when that cannot be done (the buffer or the
   * offset is not aligned, the file cannot be opened, the filesystem refuses direct I/O), and
   * the caller reads through the page cache instead.
   */
  read(path: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array | undefined>;
  /** Closes the handle of `path` (the file is replaced or removed). */
  forget(path: string): Promise<void>;
  /** Closes every handle. */
  close(): Promise<void>;
}

export function createDirectReads(): DirectReads {
  const direct = constants.O_DIRECT;
  /** null: the filesystem refused direct I/O for this file. */
  const handles = new Map<string, Promise<FileHandle | null>>();
  const handleFor = (path: string): Promise<FileHandle | null> => {
    let h = handles.get(path);
    if (!h) {
      h = open(path, constants.O_RDONLY | direct!).catch((e: unknown) => {
        if (isEinval(e)) return null;
        handles.delete(path);
        throw e;
      });
      handles.set(path, h);
    }
    return h;
  };
  const closeOne = async (h: Promise<FileHandle | null> | undefined): Promise<void> => {
    await (await h?.catch(() => null))?.close().catch(() => undefined);
  };
  return {
    async read(path, offset, length, into) {
      if (!directFits(offset, length, into)) return undefined;
      const fh = await handleFor(path).catch(() => null);
      if (!fh) return undefined;
      const got = await readDirect(fh, offset, length, into);
      if (!got) {
        handles.set(path, Promise.resolve(null));
        void closeOne(Promise.resolve(fh));
      }
      return got;
    },
    async forget(path) {
      const h = handles.get(path);
      handles.delete(path);
      await closeOne(h);
    },
    async close() {
      const all = [...handles.values()];
      handles.clear();
      for (const h of all) await closeOne(h);
    },
  };
}
