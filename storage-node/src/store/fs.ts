// PieceStore on disk: data files under <dataDir>/pieces named by object id and index (never by
// object name), written to <dataDir>/tmp, fsynced and renamed into place, then indexed in
// LevelDB. Only indexed entries are served, so a crash mid-write leaves nothing visible; leftover
// temp files are removed at start. A full disk is ERR_NODE_DISK_FULL: a writer is refused up front
// when what it will write would eat into the reserve, and a write that still meets ENOSPC fails
// with that code (the temp file is removed; committed entries are untouched). Entries declared
// small (INLINE_BYTES) have no file: their bytes are committed in their index entry.

import { mkdir, open, readdir, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Level } from 'level';
import { InsituError } from '@insitu/protocol';
import type { PieceKey, PieceMeta, PieceStore, PieceWriter } from './types.ts';
import { createDirectReads, createStagingPool, openDirectFile } from './direct-file.ts';
import { rangeOf } from './entry-reader.ts';

interface StoredMeta {
  hashes: string[];
  sizes: number[];
  size: number;
  storedAt: number;
  /** The bytes (base64) of an entry small enough to be kept in the index itself (INLINE_BYTES). */
  inline?: string;
}

/**
 * Entries of at most this many bytes (small objects and their pieces) are kept in the index, in
 * the one synced put that commits them, instead of in a file of their own: creating, syncing and
 * renaming a file per piece cost a small upload's nodes more CPU (most of it the filesystem's
 * inode allocation) than anything else they did for it.
 */
export const INLINE_BYTES = 16 * 1024;
/** Writes up to this size are let in on a recent reading of the disk's free space (createWriter). */
const SMALL_WRITE = 1024 * 1024;
/** How old that reading may be. */
const ROOM_READ_MS = 1000;

/** An entry's bytes when it is kept in the index. */
const inlineOf = (stored: string): Uint8Array | undefined => {
  if (!stored.includes('"inline"')) return undefined;
  return new Uint8Array(Buffer.from((JSON.parse(stored) as StoredMeta).inline!, 'base64'));
};

/**
 * Bytes written between background syncs of a file being written. Each sync has a fixed cost
 * (a journal commit and a cache flush) that seven writers of one upload pay together: at 8 MiB
 * the syncs, not the bytes, set an upload's pace; at 64 MiB they are few and the sync at commit
 * still has at most that much left to flush.
 */
const SYNC_EVERY = 64 * 1024 * 1024;

const fileName = (key: PieceKey): string => `${key.objectId}.${key.index < 0 ? 'p' : key.index}`;
const indexKey = (key: PieceKey): string => `piece/${key.objectId.toString().padStart(20, '0')}/${key.index}`;

export interface FsPieceStoreOptions {
  dataDir: string;
  /**
   * Bytes kept free on the data directory's filesystem for the index and the operating system;
   * writers that would go below it are refused. Default: 1% of the filesystem, at most 1 GiB.
   */
  reserveBytes?: number;
}

const isDiskFull = (e: unknown): boolean => {
  const code = (e as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|ENOSPC|quota exceeded/i.test(String((e as Error)?.message ?? '') + String((e as { cause?: Error })?.cause?.message ?? ''));
};

const diskFull = (what: string, cause?: unknown): InsituError =>
  new InsituError('ERR_NODE_DISK_FULL', `this node's disk is full (${what}); the operator must free space or add disk`, cause === undefined ? {} : { cause });

/** Runs a write; a full disk becomes ERR_NODE_DISK_FULL. */
async function onDisk<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isDiskFull(e)) throw diskFull(what, e);
    throw e;
  }
}

export function createFsPieceStore(opts: FsPieceStoreOptions): PieceStore {
  const piecesDir = join(opts.dataDir, 'pieces');
  const tmpDir = join(opts.dataDir, 'tmp');
  let db: Level<string, string> | undefined;
  const handles = new Map<string, Promise<FileHandle>>();
  const staging = createStagingPool();
  const directReads = createDirectReads();
  /**
   * Names of the data files under piecesDir (read at start, kept as entries are committed and
   * deleted): an entry kept in the index replaces a file only when its key has one, so its
   * commit need not read the index first to find out.
   */
  const files = new Set<string>();

  const index = (): Level<string, string> => {
    if (!db) throw new InsituError('ERR_NODE_UNAVAILABLE', 'the piece store is not started');
    return db;
  };

  async function handleFor(key: PieceKey): Promise<FileHandle> {
    const name = fileName(key);
    let h = handles.get(name);
    if (!h) {
      h = open(join(piecesDir, name), 'r');
      handles.set(name, h);
      h.catch(() => handles.delete(name));
    }
    return h;
  }

  async function closeHandle(key: PieceKey): Promise<void> {
    const name = fileName(key);
    const h = handles.get(name);
    handles.delete(name);
    if (h) await (await h.catch(() => undefined))?.close().catch(() => undefined);
    await directReads.forget(join(piecesDir, name));
  }

  /**
   * Index entries waiting to be written, and the batch being written. Commits made while a batch
   * is written (or in the same turn of the event loop) go together in the next one: one synced
   * LevelDB write for the pieces of many small objects that arrive at once, instead of a synced
   * put each. A commit resolves once the batch holding its entry is synced.
   */
  let queued: { ops: Array<{ type: 'put'; key: string; value: string }>; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | undefined;
  let writing: Promise<void> | undefined;
  const writeQueued = (): void => {
    const batch = queued;
    queued = undefined;
    if (!batch) return;
    const done = (async () => {
      try {
        await index().batch(batch.ops, { sync: true } as never);
        for (const w of batch.waiters) w.resolve();
      } catch (e) {
        for (const w of batch.waiters) w.reject(e);
      }
    })();
    writing = done.then(() => {
      writing = undefined;
      writeQueued();
    });
  };
  /** Puts `value` under `key` with the next synced batch; resolves once it is durable. */
  const syncedPut = (key: string, value: string): Promise<void> => new Promise<void>((resolve, reject) => {
    if (!queued) {
      queued = { ops: [], waiters: [] };
      // Started after this turn's other commits have joined, or when the batch being written is done.
      if (!writing) setImmediate(() => { if (!writing) writeQueued(); });
    }
    queued.ops.push({ type: 'put', key, value });
    queued.waiters.push({ resolve, reject });
  });

  /** A writer of an entry kept in the index: its bytes are gathered and committed in one synced put. */
  function inlineWriter(key: PieceKey): PieceWriter {
    const chunks: Buffer[] = [];
    let closed = false;
    const take = (c: Uint8Array): void => {
      if (closed) throw new InsituError('ERR_INTERNAL', 'writer is closed');
      // Copied: the caller may fill its buffer again once the write resolves.
      chunks.push(Buffer.from(c));
    };
    return {
      async write(chunk) {
        take(chunk);
      },
      async writeMany(list) {
        for (const c of list) take(c);
      },
      async commit(meta) {
        if (closed) throw new InsituError('ERR_INTERNAL', 'writer is closed');
        closed = true;
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const stored: StoredMeta = { hashes: meta.hashes.map((h) => Buffer.from(h).toString('hex')), sizes: meta.sizes, size: bytes.length, storedAt: Date.now(), inline: bytes.toString('base64') };
        await onDisk(`indexing object ${key.objectId}`, () => syncedPut(indexKey(key), JSON.stringify(stored)));
        // A file this entry replaces is no longer served; it goes.
        const name = fileName(key);
        if (files.has(name)) {
          files.delete(name);
          await closeHandle(key);
          await rm(join(piecesDir, name), { force: true });
        }
      },
      async abort() {
        closed = true;
      },
    };
  }

  const space = async (): Promise<{ free: number; reserve: number; total: number }> => {
    const s = await statfs(opts.dataDir);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    return { free, total, reserve: opts.reserveBytes ?? Math.min(2 ** 30, Math.floor(total / 100)) };
  };

  /**
   * The last reading of the disk's free space and the bytes of small writes let in since. A small
   * write (a small object's copy or piece, one per upload on every node) is let in on a reading up
   * to a second old less what was let in since, instead of a statfs each; a large write, or a
   * refusal, reads the disk again, so a write is refused only on a fresh reading.
   */
  let reading: { at: number; free: number; reserve: number; promised: number } | undefined;
  /** The statfs under way for small writes: those that find the reading old at once (a round's pieces) share it. */
  let rereading: Promise<NonNullable<typeof reading>> | undefined;
  const readAgain = (): Promise<NonNullable<typeof reading>> => space().then((room) => (reading = { at: Date.now(), free: room.free, reserve: room.reserve, promised: 0 }));
  const admit = async (need: number): Promise<void> => {
    const fits = (r: NonNullable<typeof reading>): boolean => r.free - r.promised - need >= r.reserve;
    if (need <= SMALL_WRITE && reading && Date.now() - reading.at < ROOM_READ_MS && fits(reading)) {
      reading.promised += need;
      return;
    }
    let r: NonNullable<typeof reading>;
    if (need <= SMALL_WRITE && !(reading && Date.now() - reading.at < ROOM_READ_MS)) {
      // An old reading: one fresh statfs for every small write asking meanwhile.
      const shared = (rereading ??= readAgain().finally(() => (rereading = undefined)));
      r = await shared;
      if (fits(r)) {
        r.promised += need;
        return;
      }
    }
    // A large write, or one that does not fit: refused only on a reading of its own.
    r = await readAgain();
    if (!fits(r)) throw diskFull(`${r.free} bytes free, ${need} to write, ${r.reserve} kept in reserve`);
    r.promised += need;
  };

  return {
    space,

    async start() {
      await mkdir(piecesDir, { recursive: true });
      await rm(tmpDir, { recursive: true, force: true });
      await mkdir(tmpDir, { recursive: true });
      files.clear();
      for (const name of await readdir(piecesDir)) files.add(name);
      db = new Level<string, string>(join(opts.dataDir, 'index'), { valueEncoding: 'utf8' });
      await db.open();
    },

    async stop() {
      for (const h of handles.values()) await (await h.catch(() => undefined))?.close().catch(() => undefined);
      handles.clear();
      await directReads.close();
      while (writing || queued) {
        if (!writing) writeQueued();
        await writing;
      }
      await db?.close();
      db = undefined;
    },

    async createWriter(key, wopts = {}): Promise<PieceWriter> {
      await admit(wopts.size ?? 0);
      if (wopts.size !== undefined && wopts.size <= INLINE_BYTES) return inlineWriter(key);
      const tmp = join(tmpDir, `${fileName(key)}.${randomUUID()}`);
      const what = `writing object ${key.objectId}`;
      const file = await onDisk('opening a temporary file', () => openDirectFile(tmp, staging, (fn) => onDisk(what, fn)));
      let closed = false;
      // Written data is synced in the background as it goes (one sync at a time), so the sync at
      // commit has little left to flush and the answer to the uploader does not wait on a whole
      // object's worth of unsynced data.
      let synced = 0;
      let syncing: Promise<void> = Promise.resolve();
      const written = async (): Promise<void> => {
        if (file.size - synced >= SYNC_EVERY) {
          await syncing;
          synced = file.size;
          syncing = file.datasync();
          syncing.catch(() => undefined);
        }
      };
      return {
        async write(chunk) {
          if (closed) throw new InsituError('ERR_INTERNAL', 'writer is closed');
          await file.write([chunk]);
          await written();
        },
        async writeMany(chunks) {
          if (closed) throw new InsituError('ERR_INTERNAL', 'writer is closed');
          await file.write(chunks);
          await written();
        },
        async commit(meta) {
          closed = true;
          try {
            await onDisk(`committing object ${key.objectId}`, async () => {
              await syncing;
              await file.finish();
            });
          } catch (e) {
            await file.close();
            await rm(tmp, { force: true });
            throw e;
          } finally {
            await file.close();
          }
          const size = file.size;
          await closeHandle(key);
          files.add(fileName(key));
          await rename(tmp, join(piecesDir, fileName(key)));
          const stored: StoredMeta = { hashes: meta.hashes.map((h) => Buffer.from(h).toString('hex')), sizes: meta.sizes, size, storedAt: Date.now() };
          await onDisk(`indexing object ${key.objectId}`, () => syncedPut(indexKey(key), JSON.stringify(stored)));
        },
        async abort() {
          if (closed) return;
          closed = true;
          await syncing.catch(() => undefined);
          await file.close();
          await rm(tmp, { force: true });
        },
      };
    },

    async meta(key) {
      const v = await index().get(indexKey(key));
      if (v === undefined) return undefined;
      const m = JSON.parse(v) as StoredMeta;
      return { hashes: m.hashes.map((h) => new Uint8Array(Buffer.from(h, 'hex'))), sizes: m.sizes, size: m.size, storedAt: m.storedAt } satisfies PieceMeta;
    },

    async read(key, offset, length, into) {
      const m = await index().get(indexKey(key));
      if (m === undefined) throw new InsituError('ERR_PIECE_NOT_FOUND', `no data for object ${key.objectId} index ${key.index}`);
      if (into && into.length < length) throw new TypeError(`read of ${length} bytes into a buffer of ${into.length}`);
      const inline = inlineOf(m);
      if (inline) return rangeOf(inline, offset, length, into);
      // Into a reused page-aligned buffer, around the page cache (direct-file.ts).
      const direct = into && (await directReads.read(join(piecesDir, fileName(key)), offset, length, into));
      if (direct) return direct;
      const out = into ?? new Uint8Array(length);
      let fh: FileHandle;
      try {
        fh = await handleFor(key);
      } catch (cause) {
        throw new InsituError('ERR_PIECE_NOT_FOUND', `data file for object ${key.objectId} index ${key.index} is missing`, { cause });
      }
      let at = 0;
      while (at < length) {
        const { bytesRead } = await fh.read(out, at, length - at, offset + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      // A short file is reported as is; callers verify hashes and treat it as corrupt.
      return at === out.length ? out : out.subarray(0, at);
    },

    async locate(key) {
      const m = await index().get(indexKey(key));
      if (m === undefined) throw new InsituError('ERR_PIECE_NOT_FOUND', `no data for object ${key.objectId} index ${key.index}`);
      const inline = inlineOf(m);
      return inline ? { bytes: inline } : { path: join(piecesDir, fileName(key)) };
    },

    async delete(objectId) {
      const prefix = `piece/${objectId.toString().padStart(20, '0')}/`;
      const keys: string[] = [];
      for await (const k of index().keys({ gt: prefix, lt: `${prefix}\xff` })) keys.push(k);
      for (const k of keys) {
        const key = { objectId, index: Number(k.slice(prefix.length)) };
        await index().del(k);
        await closeHandle(key);
        files.delete(fileName(key));
        await rm(join(piecesDir, fileName(key)), { force: true });
      }
    },

    async list() {
      const out: PieceKey[] = [];
      for await (const k of index().keys({ gt: 'piece/', lt: 'piece/\xff' })) {
        const [, o, i] = k.split('/');
        out.push({ objectId: BigInt(o!), index: Number(i) });
      }
      return out;
    },

    async getState(name) {
      return index().get(`state/${name}`);
    },

    async setState(name, value) {
      await index().put(`state/${name}`, value);
    },
  };
}

