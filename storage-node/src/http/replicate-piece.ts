// PUT /greenfield/receiver/v1/replicate-piece on a secondary: accept piece i of every segment of
// an object from the object's primary (checked by its operator signature), verify every byte
// against the chain's checksum for index i, keep it, and answer with a BLS approval to seal.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { blsSign } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { sameAddress } from '@insitu/protocol';
import { segmentSizes, type NodeContext } from '../context.ts';
import { cutStream } from '../channel.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';
import { trustBody } from './limits.ts';

export async function replicatePiece(ctx: NodeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const signer = signerOf(req, true)!;
  const idHeader = String(req.headers['x-gnfd-object-id'] ?? '');
  const index = Number(req.headers['x-gnfd-redundancy-index']);
  if (!/^\d+$/.test(idHeader) || !Number.isInteger(index) || index < 0) {
    throw new InsituError('ERR_BAD_REQUEST', 'X-Gnfd-Object-ID and X-Gnfd-Redundancy-Index are required');
  }
  const obj = await ctx.chain.headObjectById(BigInt(idHeader));
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `object ${idHeader} is not waiting for replication`);
  const gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId);
  const primary = await ctx.provider(gvg.primarySpId);
  if (!sameAddress(signer, primary.operatorAddress)) {
    throw new InsituError('ERR_PERMISSION_DENIED', `only the primary of group ${gvg.id} (${primary.operatorAddress}) may replicate to it`);
  }
  // The object's primary streams each piece as its own upload arrives, at its client's pace.
  trustBody(req);
  if (gvg.secondarySpIds[index] !== ctx.spId) {
    throw new InsituError('ERR_BAD_REQUEST', `this node does not hold piece ${index} of group ${gvg.id}`);
  }
  const k = ctx.params.dataChunks;
  const sizes = segmentSizes(Number(obj.payloadSize), ctx.params.maxSegmentSize).map((s) => Math.ceil(s / k));
  // A full disk refuses here, before the primary streams a byte.
  const writer = await ctx.store.createWriter({ objectId: obj.id, index }, { size: sizes.reduce((a, b) => a + b, 0) });
  try {
    const hashes: Uint8Array[] = [];
    try {
      for await (const piece of cutStream(req, sizes)) {
        hashes.push(new Uint8Array(createHash('sha256').update(piece).digest()));
        await writer.write(piece);
      }
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
  const signature = blsSign(sealSignDoc({ chainId: ctx.chainId, gvgId: gvg.id, objectId: obj.id, checksums: obj.checksums }), ctx.blsSecret);
  ctx.logger.debug('piece received', { objectId: obj.id.toString(), index });
  sendJson(res, 200, { objectId: obj.id, index }, { 'x-gnfd-integrity-hash-signature': Buffer.from(signature).toString('hex') });
}
