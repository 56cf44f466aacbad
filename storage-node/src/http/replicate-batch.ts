// PUT /insitu/v1/replicate-pieces?pieces=<objectId>.<index>.<bytes>_… on a secondary: the pieces
// of several small objects from their primary in one request, instead of one request each. The
// list of pieces is in the signed query, so the one signature covers which objects and indexes
// the body carries; the body is the pieces, in that order. Each piece is checked as a
// replicate-piece request checks its piece — the object waiting for replication on chain, the
// signer its group's primary, this node the holder of that index, every byte against the chain's
// checksum — kept with its data synced, and approved with its own BLS signature. A piece that
// fails is refused alone: the answer lists, per piece, its approval or its error.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError, hashOfHashes, type Hex } from '@insitu/protocol';
import type { ObjectInfo } from '@insitu/protocol/chain';
import { segmentSizes, type NodeContext } from '../context.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';
import { replicationGroup, sealApproval } from './replicate-piece.ts';

/** Pieces one request may carry. */
export const MAX_BATCH_PIECES = 64;
/** Bytes one request may carry. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface BatchEntry {
  objectId: bigint;
  index: number;
  bytes: number;
}

/** The query value naming a batch's pieces. */
export const formatBatch = (entries: BatchEntry[]): string => entries.map((e) => `${e.objectId}.${e.index}.${e.bytes}`).join('_');

/** Parses the signed list of pieces; anything malformed, repeated or too large is ERR_BAD_REQUEST. */
export function parseBatch(value: string | null): BatchEntry[] {
  if (!value || !/^\d{1,20}\.\d{1,3}\.\d{1,9}(_\d{1,20}\.\d{1,3}\.\d{1,9})*$/.test(value)) {
    throw new InsituError('ERR_BAD_REQUEST', 'pieces=<objectId>.<index>.<bytes>_… is required');
  }
  const entries = value.split('_').map((part) => {
    const [id, index, bytes] = part.split('.');
    return { objectId: BigInt(id!), index: Number(index), bytes: Number(bytes) };
  });
  if (entries.length > MAX_BATCH_PIECES) throw new InsituError('ERR_BAD_REQUEST', `at most ${MAX_BATCH_PIECES} pieces per request`);
  const total = entries.reduce((a, e) => a + e.bytes, 0);
  if (total > MAX_BATCH_BYTES) throw new InsituError('ERR_BAD_REQUEST', `at most ${MAX_BATCH_BYTES} bytes per request`);
  if (new Set(entries.map((e) => `${e.objectId}.${e.index}`)).size !== entries.length) throw new InsituError('ERR_BAD_REQUEST', 'a piece is listed twice');
  return entries;
}

/** One piece's outcome in the answer. */
export type BatchResult = { signature: string } | { code: string; message: string };

/** Reads exactly `size` bytes of body; more or fewer is ERR_SIZE_MISMATCH. */
async function readBody(req: IncomingMessage, size: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared === undefined || Number(declared) !== size) {
    throw new InsituError('ERR_SIZE_MISMATCH', `Content-Length ${declared ?? '(none)'} differs from the ${size} bytes of the pieces listed`);
  }
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (at + chunk.length > size) throw new InsituError('ERR_SIZE_MISMATCH', `more than the ${size} bytes of the pieces listed`);
    chunk.copy(body, at);
    at += chunk.length;
  }
  if (at !== size) throw new InsituError('ERR_SIZE_MISMATCH', `received ${at} of the ${size} bytes of the pieces listed`);
  return body;
}

/** Checks, keeps and approves one piece; throws what refuses it. */
async function acceptPiece(ctx: NodeContext, signer: Hex, entry: BatchEntry, lookup: Promise<ObjectInfo>, body: Promise<Buffer>, at: number): Promise<string> {
  const { objectId: id, index } = entry;
  const obj = await lookup;
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `object ${id} is not waiting for replication`);
  const gvg = await replicationGroup(ctx, signer, obj, index);
  const k = ctx.params.dataChunks;
  const sizes = segmentSizes(Number(obj.payloadSize), ctx.params.maxSegmentSize).map((s) => Math.ceil(s / k));
  const size = sizes.reduce((a, b) => a + b, 0);
  if (size !== entry.bytes) throw new InsituError('ERR_SIZE_MISMATCH', `piece ${index} of object ${id} is ${size} bytes, not the ${entry.bytes} listed`);
  const piece = (await body).subarray(at, at + size);
  const hashes: Uint8Array[] = [];
  for (let u = 0, off = 0; u < sizes.length; off += sizes[u]!, u++) {
    hashes.push(new Uint8Array(createHash('sha256').update(piece.subarray(off, off + sizes[u]!)).digest()));
  }
  if (!Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(obj.checksums[1 + index]!))) {
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `piece ${index} of object ${id} does not match its checksum on chain`);
  }
  // Synced before it is approved (the writer's commit).
  const writer = await ctx.store.createWriter({ objectId: obj.id, index }, { size });
  try {
    await writer.writeMany([piece]);
    await writer.commit({ hashes, sizes });
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return sealApproval(ctx, gvg.id, obj);
}

export async function replicateBatch(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const signer = signerOf(req, true)!;
  const entries = parseBatch(url.searchParams.get('pieces'));
  // Only a provider replicates; anyone else is refused before the chain is asked about a piece.
  if (!(await ctx.providerByOperator(signer))) throw new InsituError('ERR_PERMISSION_DENIED', `${signer} is not a storage provider`);
  const total = entries.reduce((a, e) => a + e.bytes, 0);
  // The chain is asked about every object while the body arrives.
  const lookups = new Map<bigint, Promise<ObjectInfo>>();
  for (const e of entries) if (!lookups.has(e.objectId)) lookups.set(e.objectId, ctx.chain.headObjectById(e.objectId));
  for (const l of lookups.values()) l.catch(() => undefined);
  const body = readBody(req, total);
  body.catch(() => undefined);
  let at = 0;
  const outcomes = entries.map((e) => {
    const p = acceptPiece(ctx, signer, e, lookups.get(e.objectId)!, body, at);
    at += e.bytes;
    p.catch(() => undefined);
    return p;
  });
  // A body that does not arrive whole refuses the request as a whole.
  await body;
  const results: BatchResult[] = [];
  for (const [i, o] of (await Promise.allSettled(outcomes)).entries()) {
    if (o.status === 'fulfilled') results.push({ signature: o.value });
    else {
      const e = o.reason instanceof InsituError ? o.reason : new InsituError('ERR_INTERNAL', `piece ${entries[i]!.index} of object ${entries[i]!.objectId}: ${String(o.reason)}`);
      results.push({ code: e.code, message: e.message });
    }
  }
  ctx.logger.debug('pieces received', { pieces: entries.length, accepted: results.filter((r) => 'signature' in r).length });
  sendJson(res, 200, { results });
}
