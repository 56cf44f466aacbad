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

/** Bytes read from disk and handed to the socket at a time when serving an object. */
const SEND_CHUNK = 1 << 20;

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
  // One pass over each segment in small buffers: each chunk is hashed, then sent while the next
  // is read, and the segment's last chunk in the range is held back until the whole segment's
  // hash checked out. A corrupt segment therefore never completes an answer: the answer is cut
  // off short (or, when nothing was sent yet, is an error), whatever client reads it. A download
  // holds a few MiB, whatever the segment size or the client's pace.
  const bufs = [new Uint8Array(SEND_CHUNK), new Uint8Array(SEND_CHUNK)];
  let tail: Uint8Array | undefined;
  let sent = false;
  let inFlight: Promise<void> = Promise.resolve();
  let turn = 0;
  const send = async (data: Uint8Array): Promise<void> => {
    if (!sent) {
      res.writeHead(range ? 206 : 200, {
        ...headers,
        'content-length': String(end - start + 1),
        ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
      });
      sent = true;
    }
    // One write out while the other buffer is filled.
    await inFlight;
    inFlight = writeOut(res, data);
    inFlight.catch(() => undefined);
    turn ^= 1;
  };
  const read = async (at: number, length: number, into: Uint8Array): Promise<Uint8Array> =>
    ctx.store.read(key, at, length, into).catch((e) => { throw reportMissing(ctx, key, e); });
  const corrupt = (s: number): InsituError => {
    ctx.logger.warn('corrupt segment', { objectId: obj.id.toString(), segment: s });
    ctx.recovery?.request(key, `segment ${s} failed its hash on a read`);
    return new InsituError('ERR_CHECKSUM_MISMATCH', `segment ${s} of ${bucket}/${name} is corrupt on this node`);
  };
  for (let s = Math.floor(start / segSize); s <= Math.floor(end / segSize); s++) {
    const segStart = unitOffset(meta, s);
    const segEnd = segStart + meta.sizes[s]!;
    const from = Math.max(start, segStart);
    const to = Math.min(end + 1, segEnd);
    const hash = createHash('sha256');
    // Chunks start at the segment's start; `last` is the one holding the range's last byte here.
    const last = segStart + Math.floor((to - 1 - segStart) / SEND_CHUNK) * SEND_CHUNK;
    let held: Uint8Array | undefined;
    for (let at = segStart; at < segEnd; at += SEND_CHUNK) {
      // bufs[turn] is the one not being written (send waits for the other's write before it
      // flips); past the held chunk only hashing is left, in a buffer of its own.
      const into = held ? (tail ??= new Uint8Array(SEND_CHUNK)) : bufs[turn]!;
      const data = await read(at, Math.min(SEND_CHUNK, segEnd - at), into);
      if (data.length !== Math.min(SEND_CHUNK, segEnd - at)) throw corrupt(s);
      hash.update(data);
      const inRange = data.subarray(Math.max(0, from - at), Math.max(0, Math.min(data.length, to - at)));
      if (held || inRange.length === 0) continue;
      if (at === last) held = inRange;
      else await send(inRange);
    }
    if (!hash.digest().equals(Buffer.from(meta.hashes[s]!))) throw corrupt(s);
    await send(held!);
  }
  await inFlight;
  res.end();
}
