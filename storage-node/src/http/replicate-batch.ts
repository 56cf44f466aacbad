// PUT /insitu/v1/replicate-pieces?gvg=<id>&pieces=<objectId>.<index>.<bytes>_… on a secondary:
// the pieces of a round of small objects of one global virtual group from its primary, in one
// request instead of one each. The list of pieces is in the signed query, so the one signature
// covers which objects and indexes the body carries; the body is the pieces, in that order. Each
// piece is checked as a replicate-piece request checks its piece — the object waiting for
// replication on chain in that group, the signer its group's primary, this node the holder of that
// index, every byte against the chain's checksum — and kept with its data synced. A piece that
// fails is refused alone. The answer lists, per piece, `{ ok: true }` or its error, and ONE BLS
// signature over sealObjectsSignDoc of the objects whose pieces were accepted, in the listed
// order: the round is sealed by one MsgSealObjects (insitu's extension; Greenfield's secondaries
// sign each object).
//
// PUT /insitu/v1/replicate-pieces?gvg=<id>&approve=<objectId>.<index>_… (empty body): the same
// approval for objects whose pieces this node already holds — asked when the secondaries of a
// round accepted different lists (one refused a piece), so each signs the list all of them hold.
// Each object is checked against the chain as above and against what this node keeps (committed,
// its hashes the chain's checksum for that index); the answer has the same shape.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError, hashOfHashes, blsSign, type Hex } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc, type ObjectInfo } from '@insitu/protocol/chain';
import { segmentSizes, type NodeContext } from '../context.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';
import { replicationGroup } from './replicate-piece.ts';

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
  // One piece per object: a round's signature lists each object once.
  if (new Set(entries.map((e) => e.objectId)).size !== entries.length) throw new InsituError('ERR_BAD_REQUEST', 'a piece is listed twice');
  return entries;
}

/** The query value naming the objects of an approval, each with this node's piece index. */
export const formatApproval = (entries: { objectId: bigint; index: number }[]): string => entries.map((e) => `${e.objectId}.${e.index}`).join('_');

/** Parses the signed list of an approval; anything malformed, repeated or too long is ERR_BAD_REQUEST. */
export function parseApproval(value: string | null): { objectId: bigint; index: number }[] {
  if (!value || !/^\d{1,20}\.\d{1,3}(_\d{1,20}\.\d{1,3})*$/.test(value)) throw new InsituError('ERR_BAD_REQUEST', 'approve=<objectId>.<index>_… is required');
  const entries = value.split('_').map((part) => {
    const [id, index] = part.split('.');
    return { objectId: BigInt(id!), index: Number(index) };
  });
  if (entries.length > MAX_BATCH_PIECES) throw new InsituError('ERR_BAD_REQUEST', `at most ${MAX_BATCH_PIECES} objects per request`);
  if (new Set(entries.map((e) => e.objectId)).size !== entries.length) throw new InsituError('ERR_BAD_REQUEST', 'an object is listed twice');
  return entries;
}

/** The group a round belongs to, from the signed query. */
function parseGroup(value: string | null): number {
  if (!value || !/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw new InsituError('ERR_BAD_REQUEST', 'gvg=<global virtual group id> is required');
  return Number(value);
}

/** One piece's outcome in the answer. */
export type BatchResult = { ok: true } | { code: string; message: string };

/** The answer: each piece's outcome and, when any was accepted, the signature over those objects (hex). */
export interface BatchAnswer {
  results: BatchResult[];
  signature?: string;
}

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
async function acceptPiece(ctx: NodeContext, signer: Hex, gvgId: number, entry: BatchEntry, lookup: Promise<ObjectInfo>, body: Promise<Buffer>, at: number, groups: GroupChecks): Promise<ObjectInfo> {
  const { objectId: id, index } = entry;
  const obj = await checkObject(ctx, signer, gvgId, id, index, lookup, groups);
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
  return obj;
}

/** The object as the chain has it, once it is waiting for replication in group `gvgId` and `signer` may replicate piece `index` of it here. */
async function checkObject(ctx: NodeContext, signer: Hex, gvgId: number, id: bigint, index: number, lookup: Promise<ObjectInfo>, groups: GroupChecks): Promise<ObjectInfo> {
  const obj = await lookup;
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `object ${id} is not waiting for replication`);
  if (obj.gvgId !== gvgId) throw new InsituError('ERR_BAD_REQUEST', `object ${id} is in group ${obj.gvgId}, not in group ${gvgId}`);
  // The group and the index are the request's (the object is in that group): checked once per index.
  let check = groups.get(index);
  if (!check) {
    groups.set(index, (check = replicationGroup(ctx, signer, obj, index).then(() => undefined)));
    check.catch(() => undefined);
  }
  await check;
  return obj;
}

/** A request's checks that its signer replicates index i of its group to this node, by index. */
type GroupChecks = Map<number, Promise<void>>;

/** An approval of an object whose piece this node already keeps: checked against the chain and the store. */
async function approveHeld(ctx: NodeContext, signer: Hex, gvgId: number, entry: { objectId: bigint; index: number }, lookup: Promise<ObjectInfo>, groups: GroupChecks): Promise<ObjectInfo> {
  const { objectId: id, index } = entry;
  const obj = await checkObject(ctx, signer, gvgId, id, index, lookup, groups);
  const meta = await ctx.store.meta({ objectId: id, index });
  if (!meta) throw new InsituError('ERR_NOT_FOUND', `this node does not hold piece ${index} of object ${id}`);
  if (!Buffer.from(hashOfHashes(meta.hashes)).equals(Buffer.from(obj.checksums[1 + index]!))) {
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `the piece ${index} of object ${id} kept here does not match its checksum on chain`);
  }
  return obj;
}

/** The answer to a round: each outcome, and this node's one signature over the objects accepted, in order. */
async function answer(ctx: NodeContext, gvgId: number, entries: { objectId: bigint; index: number }[], outcomes: Promise<ObjectInfo>[]): Promise<BatchAnswer> {
  const results: BatchResult[] = [];
  const accepted: { objectId: bigint; checksumsHash: Uint8Array }[] = [];
  for (const [i, o] of (await Promise.allSettled(outcomes)).entries()) {
    if (o.status === 'fulfilled') {
      results.push({ ok: true });
      accepted.push({ objectId: o.value.id, checksumsHash: checksumsHash(o.value.checksums) });
    } else {
      const e = o.reason instanceof InsituError ? o.reason : new InsituError('ERR_INTERNAL', `piece ${entries[i]!.index} of object ${entries[i]!.objectId}: ${String(o.reason)}`);
      results.push({ code: e.code, message: e.message });
    }
  }
  if (accepted.length === 0) return { results };
  const doc = sealObjectsSignDoc({ chainId: ctx.chainId, gvgId, objects: accepted });
  return { results, signature: Buffer.from(blsSign(doc, ctx.blsSecret)).toString('hex') };
}

export async function replicateBatch(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const signer = signerOf(req, true)!;
  const gvgId = parseGroup(url.searchParams.get('gvg'));
  const approving = url.searchParams.has('approve');
  const entries = approving ? parseApproval(url.searchParams.get('approve')) : parseBatch(url.searchParams.get('pieces'));
  // Only a provider replicates; anyone else is refused before the chain is asked about a piece.
  if (!(await ctx.providerByOperator(signer))) throw new InsituError('ERR_PERMISSION_DENIED', `${signer} is not a storage provider`);
  // The chain is asked about every object while the body arrives.
  const lookups = new Map<bigint, Promise<ObjectInfo>>();
  for (const e of entries) if (!lookups.has(e.objectId)) lookups.set(e.objectId, ctx.chain.headObjectById(e.objectId));
  for (const l of lookups.values()) l.catch(() => undefined);
  const groups: GroupChecks = new Map();
  if (approving) {
    for await (const chunk of req as AsyncIterable<Buffer>) if (chunk.length > 0) throw new InsituError('ERR_SIZE_MISMATCH', 'an approval carries no body');
    const outcomes = entries.map((e) => approveHeld(ctx, signer, gvgId, e, lookups.get(e.objectId)!, groups));
    return sendJson(res, 200, await answer(ctx, gvgId, entries, outcomes));
  }
  const pieces = entries as BatchEntry[];
  const total = pieces.reduce((a, e) => a + e.bytes, 0);
  const body = readBody(req, total);
  body.catch(() => undefined);
  let at = 0;
  const outcomes = pieces.map((e) => {
    const p = acceptPiece(ctx, signer, gvgId, e, lookups.get(e.objectId)!, body, at, groups);
    at += e.bytes;
    p.catch(() => undefined);
    return p;
  });
  // A body that does not arrive whole refuses the request as a whole.
  await body;
  const reply = await answer(ctx, gvgId, pieces, outcomes);
  ctx.logger.debug('pieces received', { pieces: pieces.length, accepted: reply.results.filter((r) => 'ok' in r).length });
  sendJson(res, 200, reply);
}
