// PUT /greenfield/receiver/v1/replicate-piece on a secondary: accept piece i of every segment of
// an object from the object's primary (checked by its operator signature), verify every byte
// against the chain's checksum for index i, keep it, and answer with a BLS approval to seal.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError, hashOfHashes, blsSign, sameAddress, type Hex } from '@insitu/protocol';
import { sealSignDoc, type GlobalVirtualGroup, type ObjectInfo } from '@insitu/protocol/chain';
import { segmentSizes, type NodeContext } from '../context.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';
import { trustBody } from './limits.ts';
import type { PieceWriter } from '../store/types.ts';

/** Bytes gathered from the socket before they are written to disk in one call. */
const WRITE_BATCH = 1 << 20;

/**
 * Hashes each piece of the stream (units of `sizes`) as its chunks arrive and writes the chunks
 * to disk as they came, gathered about a MiB at a time, one write in flight while the next batch
 * arrives: no piece is assembled or copied. Returns the pieces' hashes; a stream longer or
 * shorter than the sizes is a RangeError.
 */
async function receivePieces(source: AsyncIterable<Uint8Array>, sizes: number[], writer: PieceWriter): Promise<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  let unit = 0;
  let fill = 0;
  let hash = createHash('sha256');
  let batch: Uint8Array[] = [];
  let batched = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await writing;
    const chunks = batch;
    batch = [];
    batched = 0;
    writing = writer.writeMany(chunks);
    writing.catch(() => undefined);
  };
  try {
    for await (const chunk of source) {
      let at = 0;
      while (at < chunk.length) {
        if (unit >= sizes.length) throw new RangeError('more bytes than expected');
        const n = Math.min(sizes[unit]! - fill, chunk.length - at);
        const part = at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n);
        hash.update(part);
        batch.push(part);
        batched += n;
        fill += n;
        at += n;
        if (fill === sizes[unit]) {
          hashes.push(new Uint8Array(hash.digest()));
          hash = createHash('sha256');
          fill = 0;
          unit++;
        }
      }
      if (batched >= WRITE_BATCH) await flush();
    }
    if (unit !== sizes.length || fill !== 0) throw new RangeError('fewer bytes than expected');
    if (batched > 0) await flush();
  } finally {
    await writing;
  }
  return hashes;
}

/**
 * The group of `obj` once `signer` is checked to be its primary and this node the holder of piece
 * `index`: the group as remembered, and a refusal is made only on the group as the chain has it now.
 */
export async function replicationGroup(ctx: NodeContext, signer: Hex, obj: ObjectInfo, index: number): Promise<GlobalVirtualGroup> {
  let gvg = await ctx.groups.get(obj.gvgId);
  const admits = async (): Promise<boolean> => sameAddress(signer, (await ctx.provider(gvg.primarySpId)).operatorAddress) && gvg.secondarySpIds[index] === ctx.spId;
  if (!(await admits())) gvg = await ctx.groups.get(obj.gvgId, true);
  const primary = await ctx.provider(gvg.primarySpId);
  if (!sameAddress(signer, primary.operatorAddress)) {
    throw new InsituError('ERR_PERMISSION_DENIED', `only the primary of group ${gvg.id} (${primary.operatorAddress}) may replicate to it`);
  }
  if (gvg.secondarySpIds[index] !== ctx.spId) {
    throw new InsituError('ERR_BAD_REQUEST', `this node does not hold piece ${index} of group ${gvg.id}`);
  }
  return gvg;
}

/** This node's BLS approval of `obj` for sealing in group `gvgId`, hex. */
export const sealApproval = (ctx: NodeContext, gvgId: number, obj: ObjectInfo): string =>
  Buffer.from(blsSign(sealSignDoc({ chainId: ctx.chainId, gvgId, objectId: obj.id, checksums: obj.checksums }), ctx.blsSecret)).toString('hex');

export async function replicatePiece(ctx: NodeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const signer = signerOf(req, true)!;
  const idHeader = String(req.headers['x-gnfd-object-id'] ?? '');
  const index = Number(req.headers['x-gnfd-redundancy-index']);
  if (!/^\d+$/.test(idHeader) || !Number.isInteger(index) || index < 0) {
    throw new InsituError('ERR_BAD_REQUEST', 'X-Gnfd-Object-ID and X-Gnfd-Redundancy-Index are required');
  }
  const obj = await ctx.chain.headObjectById(BigInt(idHeader));
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `object ${idHeader} is not waiting for replication`);
  const gvg = await replicationGroup(ctx, signer, obj, index);
  // The object's primary streams each piece as its own upload arrives, at its client's pace.
  trustBody(req);
  const k = ctx.params.dataChunks;
  const sizes = segmentSizes(Number(obj.payloadSize), ctx.params.maxSegmentSize).map((s) => Math.ceil(s / k));
  // A full disk refuses here, before the primary streams a byte.
  const writer = await ctx.store.createWriter({ objectId: obj.id, index }, { size: sizes.reduce((a, b) => a + b, 0) });
  try {
    let hashes: Uint8Array[];
    try {
      hashes = await receivePieces(req, sizes, writer);
    } catch (e) {
      if (e instanceof RangeError) throw new InsituError('ERR_SIZE_MISMATCH', `piece stream for object ${obj.id}: ${e.message}`);
      throw e;
    }
    if (!Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(obj.checksums[1 + index]!))) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `piece ${index} of object ${obj.id} does not match its checksum on chain`);
    }
    await writer.commit({ hashes, sizes });
  } catch (e) {
    await writer.abort();
    throw e;
  }
  ctx.logger.debug('piece received', { objectId: obj.id.toString(), index });
  sendJson(res, 200, { objectId: obj.id, index }, { 'x-gnfd-integrity-hash-signature': sealApproval(ctx, gvg.id, obj) });
}
