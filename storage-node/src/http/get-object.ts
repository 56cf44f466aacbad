// GET /{bucket}/{object} [Range] on the primary: only sealed objects, only for callers the chain
// allows; every segment is checked against its hash (whose hash-of-hashes is the chain's
// checksum) as it is read, and an answer holding a segment that fails is cut off before its end.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import type { NodeContext } from '../context.ts';
import { unitOffset } from '../store/types.ts';
import { reportMissing } from '../recovery/index.ts';
import { verifiedEntry } from '../read-object.ts';
import { signerOf, authorize } from './access.ts';
import { providerRole } from './provider-role.ts';
import { spendReadQuota, requireNotFrozen } from './read-quota.ts';
import { writeOut } from './respond.ts';
import { READ_BYTES, readBuffers } from '../store/direct-file.ts';
import { openEntry } from '../store/entry-reader.ts';

/** Bytes read from disk and handed to the socket at a time when serving an object. */
const CHUNK = READ_BYTES;
/** Reads from disk in flight beyond the chunk being hashed and sent. */
const READ_AHEAD = 2;
/**
 * Buffers one answer uses (6 MiB): the reads ahead and the chunk being hashed and sent, which is
 * read into again once the socket took it. A read waits for a buffer only while the client is
 * slower than the disk; a held-back chunk leaves two for the reads that finish its segment's hash.
 */
const BUFFERS = 3;

export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new InsituError('ERR_INVALID_RANGE', `unsupported Range "${header}" (use bytes=a-b)`);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) throw new InsituError('ERR_INVALID_RANGE', `range ${header} is outside the object's ${size} bytes`);
  return { start, end };
}

export async function getObject(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, bucket: string, name: string): Promise<void> {
  const signer = signerOf(req, false);
  // Another provider reads only for a role the chain gives it over this object (provider-role.ts);
  // otherwise it is checked like anyone.
  const fromProvider = (await providerRole(ctx, req, signer, () => ctx.chain.headObject(bucket, name), -1)) !== null;
  if (!fromProvider) await authorize(ctx, signer, bucket, name, 'get-object');
  const obj = await ctx.chain.headObject(bucket, name);
  if (obj.status !== 'sealed') throw new InsituError('ERR_OBJECT_NOT_SEALED', `${bucket}/${name} is not sealed yet`);
  const size = Number(obj.payloadSize);
  const headers: Record<string, string> = { 'content-type': obj.contentType || 'application/octet-stream', 'x-gnfd-object-id': obj.id.toString(), 'accept-ranges': 'bytes' };
  if (size === 0) {
    if (!fromProvider) requireNotFrozen(await ctx.chain.bucketReadState(bucket));
    res.writeHead(200, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size);
  const key = { objectId: obj.id, index: -1 };
  const meta = await verifiedEntry(ctx, obj);
  if (!meta) {
    if (!ctx.uploads.has(obj.id)) ctx.recovery?.request(key, 'a read found no verified copy');
    throw new InsituError('ERR_PIECE_NOT_FOUND', `this node does not hold a verified copy of ${bucket}/${name}`);
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  // Providers reading for their role (rebuilding, a job, a challenge) are not the bucket's readers: not counted.
  if (!fromProvider) await spendReadQuota(ctx, bucket, end - start + 1);
  const segSize = ctx.params.maxSegmentSize;
  // One pass over each segment in reused page-aligned buffers, read from the entry's file (opened
  // once, store/entry-reader.ts) around the page cache a few chunks ahead of the chunk being
  // hashed and sent: each chunk is hashed, then sent, and the segment's
  // last chunk in the range is held back until the whole segment's hash checked out. A corrupt
  // segment therefore never completes an answer: the answer is cut off short (or, when nothing
  // was sent yet, is an error), whatever client reads it. A download holds BUFFERS chunks,
  // whatever the segment size or the client's pace.
  const entry = await openEntry(ctx.store, key).catch((e: unknown) => { throw reportMissing(ctx, key, e); });
  const mine = Array.from({ length: BUFFERS }, () => readBuffers.take());
  const free = [...mine];
  /** Reads waiting for a buffer, served in the order they were asked for; undefined once the answer stopped. */
  const waiting: ((buf: Uint8Array | undefined) => void)[] = [];
  let stopped = false;
  const takeBuf = (): Promise<Uint8Array | undefined> => {
    if (stopped) return Promise.resolve(undefined);
    return free.length > 0 && waiting.length === 0 ? Promise.resolve(free.pop()!) : new Promise((resolve) => waiting.push(resolve));
  };
  const giveBuf = (buf: Uint8Array): void => {
    const next = waiting.shift();
    if (next) next(buf);
    else free.push(buf);
  };
  /** Reads and writes not yet settled: the buffers go back to the pool only once none is left. */
  const busy = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    busy.add(p);
    const settled = (): void => void busy.delete(p);
    p.then(settled, settled);
    return p;
  };
  let sent = false;
  let writeFailed: unknown;
  const send = (data: Uint8Array, buf: Uint8Array): void => {
    if (writeFailed !== undefined) throw writeFailed;
    if (!sent) {
      res.writeHead(range ? 206 : 200, {
        ...headers,
        'content-length': String(end - start + 1),
        ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
      });
      sent = true;
    }
    // The buffer is filled again once the socket took every byte of it.
    track(writeOut(res, data)).then(() => giveBuf(buf), (e: unknown) => {
      writeFailed ??= e;
      giveBuf(buf);
    });
  };
  const corrupt = (s: number): InsituError => {
    ctx.logger.warn('corrupt segment', { objectId: obj.id.toString(), segment: s });
    ctx.recovery?.request(key, `segment ${s} failed its hash on a read`);
    return new InsituError('ERR_CHECKSUM_MISMATCH', `segment ${s} of ${bucket}/${name} is corrupt on this node`);
  };

  /** Every chunk of the segments the range touches, from each segment's start (all of it is hashed). */
  interface Chunk { s: number; at: number; length: number; from: number; to: number; held: boolean; closes: boolean }
  const chunks = function* (): Generator<Chunk> {
    for (let s = Math.floor(start / segSize); s <= Math.floor(end / segSize); s++) {
      const segStart = unitOffset(meta, s);
      const segEnd = segStart + meta.sizes[s]!;
      const from = Math.max(start, segStart);
      const to = Math.min(end + 1, segEnd);
      // The chunk holding the range's last byte in this segment is held back until the hash checks out.
      const last = segStart + Math.floor((to - 1 - segStart) / CHUNK) * CHUNK;
      for (let at = segStart; at < segEnd; at += CHUNK) {
        const length = Math.min(CHUNK, segEnd - at);
        yield { s, at, length, from: Math.max(0, from - at), to: Math.max(0, Math.min(length, to - at)), held: at === last, closes: at + length === segEnd };
      }
    }
  };
  const plan = chunks();
  const ahead: { chunk: Chunk; read: Promise<{ buf: Uint8Array; data: Uint8Array }> }[] = [];
  const readNext = (): void => {
    const next = plan.next();
    if (next.done) return;
    const chunk = next.value;
    const read = track(takeBuf().then((buf) => {
      if (!buf) throw new InsituError('ERR_ABORTED', 'the answer stopped');
      return entry.read(chunk.at, chunk.length, buf).then(
        (data) => ({ buf, data }),
        (e: unknown) => {
          giveBuf(buf);
          throw reportMissing(ctx, key, e);
        },
      );
    }));
    read.catch(() => undefined);
    ahead.push({ chunk, read });
  };
  try {
    for (let i = 0; i <= READ_AHEAD; i++) readNext();
    let hash = createHash('sha256');
    let held: { data: Uint8Array; buf: Uint8Array } | undefined;
    for (let next = ahead.shift(); next; next = ahead.shift()) {
      readNext();
      const { chunk } = next;
      const { buf, data } = await next.read;
      if (data.length !== chunk.length) {
        giveBuf(buf);
        throw corrupt(chunk.s);
      }
      hash.update(data);
      if (chunk.held) held = { data: data.subarray(chunk.from, chunk.to), buf };
      else if (chunk.to > chunk.from) send(data.subarray(chunk.from, chunk.to), buf);
      else giveBuf(buf);
      if (chunk.closes) {
        const ok = hash.digest().equals(Buffer.from(meta.hashes[chunk.s]!));
        hash = createHash('sha256');
        if (!ok) throw corrupt(chunk.s);
        send(held!.data, held!.buf);
        held = undefined;
      }
    }
    while (busy.size > 0) await Promise.allSettled([...busy]);
    if (writeFailed !== undefined) throw writeFailed;
    res.end();
  } catch (e) {
    stopped = true;
    for (const next of waiting.splice(0)) next(undefined);
    if (sent) {
      // Cut off, after what was written before the failure has gone out: the client sees an
      // answer ended short (and reads around this node at once), not a connection refused.
      while (busy.size > 0) await Promise.allSettled([...busy]);
      res.destroy();
    }
    throw e;
  } finally {
    stopped = true;
    for (const next of waiting.splice(0)) next(undefined);
    while (busy.size > 0) await Promise.allSettled([...busy]);
    for (const buf of mine) readBuffers.give(buf);
    await entry.close();
  }
}
