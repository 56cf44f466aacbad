// Project extension for verified and degraded reads: GET /insitu/v1/piece-hashes and
// GET /insitu/v1/piece. A caller who may get the object (or another storage provider, for a
// role the chain gives it: provider-role.ts) reads the per-unit hash list of one index and single
// verified pieces. Piece bytes read by anyone else count against the bucket's read quota on the
// node that serves them — the primary's whole-object pieces and the secondaries' pieces of a
// degraded read alike.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import type { ObjectInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';
import { unitOffset, type PieceMeta } from '../store/types.ts';
import { reportMissing } from '../recovery/index.ts';
import { signerOf, authorize } from './access.ts';
import { requireNotFrozen, spendReadQuota } from './read-quota.ts';
import { providerRole, type ProviderRole } from './provider-role.ts';
import { answerChallenge } from '../challenge/answers.ts';
import { sendJson, writeOut } from './respond.ts';
import { alignedBuffers } from '../store/direct-file.ts';

/** Greenfield's challenge and recovery endpoints name the piece in headers; insitu's in the query. */
export function pieceParamsFromHeaders(req: IncomingMessage, url: URL): URL {
  const h = (n: string): string => String(req.headers[n] ?? '');
  const out = new URL(url);
  out.searchParams.set('object-id', h('x-gnfd-object-id'));
  out.searchParams.set('index', h('x-gnfd-redundancy-index') || '-1');
  out.searchParams.set('segment', h('x-gnfd-piece-index'));
  return out;
}

async function resolve(ctx: NodeContext, req: IncomingMessage, url: URL): Promise<{ obj: ObjectInfo; index: number; role: ProviderRole | null }> {
  const id = url.searchParams.get('object-id') ?? '';
  const index = Number(url.searchParams.get('index'));
  if (!/^\d+$/.test(id) || !Number.isInteger(index) || index < -1) throw new InsituError('ERR_BAD_REQUEST', 'object-id and index (-1 or a piece index) are required');
  const signer = signerOf(req, false);
  const obj = await ctx.chain.headObjectById(BigInt(id));
  const role = await providerRole(ctx, req, signer, obj, index);
  if (!role) {
    await authorize(ctx, signer, obj.bucketName, obj.objectName, 'get-object');
    if (obj.status !== 'sealed') throw new InsituError('ERR_OBJECT_NOT_SEALED', `object ${id} is not sealed yet`);
    // Degraded reads from secondaries are refused for frozen payers too (the quota is the primary's to count).
    requireNotFrozen(await ctx.chain.bucketReadState(obj.bucketName));
  }
  return { obj, index, role };
}

export async function pieceHashes(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { obj, index } = await resolve(ctx, req, url);
  const meta = await ctx.store.meta({ objectId: obj.id, index });
  if (!meta) throw reportMissing(ctx, { objectId: obj.id, index }, new InsituError('ERR_PIECE_NOT_FOUND', `this node holds no index ${index} of object ${obj.id}`));
  sendJson(res, 200, { objectId: obj.id, index, sizes: meta.sizes, hashes: meta.hashes.map((h) => Buffer.from(h).toString('hex')) });
}

export async function piece(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { obj, index, role } = await resolve(ctx, req, url);
  // A challenge has one answer: a failure is repeated to every challenger of it (challenge/answers.ts).
  if (role === 'challenger') return answerChallenge(ctx, String(req.headers['x-insitu-challenge-id']), () => servePiece(ctx, res, url, obj, index, role));
  return servePiece(ctx, res, url, obj, index, role);
}

/** Reads one piece (into `into` when given) and checks it against its hash before anything of it is used. */
async function verifiedPiece(ctx: NodeContext, obj: ObjectInfo, meta: PieceMeta, index: number, segment: number, into?: Uint8Array): Promise<Uint8Array> {
  const key = { objectId: obj.id, index };
  const data = await ctx.store.read(key, unitOffset(meta, segment), meta.sizes[segment]!, into).catch((e) => { throw reportMissing(ctx, key, e); });
  if (data.length !== meta.sizes[segment] || !createHash('sha256').update(data).digest().equals(Buffer.from(meta.hashes[segment]!))) {
    ctx.logger.warn('corrupt piece', { objectId: obj.id.toString(), index, segment });
    ctx.recovery?.request(key, `piece of segment ${segment} failed its hash on a read`);
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `piece ${index} of segment ${segment} of object ${obj.id} is corrupt on this node`);
  }
  return data;
}

async function servePiece(ctx: NodeContext, res: ServerResponse, url: URL, obj: ObjectInfo, index: number, role: ProviderRole | null): Promise<void> {
  const segment = Number(url.searchParams.get('segment'));
  const key = { objectId: obj.id, index };
  const meta = await ctx.store.meta(key);
  if (!meta) throw reportMissing(ctx, key, new InsituError('ERR_PIECE_NOT_FOUND', `this node holds no index ${index} of object ${obj.id}`));
  if (!Number.isInteger(segment) || segment < 0 || segment >= meta.sizes.length) throw new InsituError('ERR_INVALID_RANGE', `object ${obj.id} has no segment ${String(url.searchParams.get('segment'))}`);
  if (url.searchParams.has('last') && role !== 'challenger') return servePieceRange(ctx, res, url, obj, meta, index, segment, role);
  const data = await verifiedPiece(ctx, obj, meta, index, segment);
  // Counted once the piece checked out, before a byte of it is sent.
  if (!role) await spendReadQuota(ctx, obj.bucketName, data.length);
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(data.length),
    // As Greenfield's challenge answers: the piece's hash list, whose hash is the chain's checksum.
    'x-gnfd-piece-hash': meta.hashes.map((h) => Buffer.from(h).toString('hex')).join(','),
  });
  res.end(data);
}

/**
 * The pieces of segments [segment, last] of one index in one answer (a degraded read streams
 * them from each secondary instead of asking once per segment): each is read and checked against
 * its hash before a byte of it is sent; one that fails ends the answer short, so the reader sees
 * the break and goes to another source. Two piece-sized buffers, reused.
 */
async function servePieceRange(ctx: NodeContext, res: ServerResponse, url: URL, obj: ObjectInfo, meta: PieceMeta, index: number, segment: number, role: ProviderRole | null): Promise<void> {
  const last = Number(url.searchParams.get('last'));
  if (!Number.isInteger(last) || last < segment || last >= meta.sizes.length) throw new InsituError('ERR_INVALID_RANGE', `object ${obj.id} has no segments ${segment} to ${String(url.searchParams.get('last'))}`);
  let total = 0;
  for (let s = segment; s <= last; s++) total += meta.sizes[s]!;
  // Page-aligned: the store reads pieces into them around the page cache (store/direct-file.ts).
  const bufs = alignedBuffers(2, meta.sizes[segment]!);
  let data = await verifiedPiece(ctx, obj, meta, index, segment, bufs[0]);
  if (!role) await spendReadQuota(ctx, obj.bucketName, total);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let inFlight: Promise<void> = Promise.resolve();
  for (let s = segment, turn = 0; ; ) {
    await inFlight;
    inFlight = writeOut(res, data);
    inFlight.catch(() => undefined);
    if (++s > last) break;
    turn ^= 1;
    // The other buffer's write finished before this one was started.
    try {
      data = await verifiedPiece(ctx, obj, meta, index, s, bufs[turn]!.length >= meta.sizes[s]! ? bufs[turn] : undefined);
    } catch (e) {
      // What was verified goes out whole before the answer is broken off.
      await inFlight.catch(() => undefined);
      throw e;
    }
  }
  await inFlight;
  res.end();
}