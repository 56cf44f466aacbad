// PUT /{bucket}/{object} on the bucket's primary: store the object, encode each segment and
// stream piece i to secondary i as it goes, check every checksum against the chain, collect the
// secondaries' BLS approvals and seal the object on chain.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/sdk/errors.ts';
import { segmentStream, hashOfHashes } from '@insitu/sdk/integrity/index.ts';
import { replicatePiece } from '@insitu/sdk/sp/index.ts';
import { blsAggregate, blsVerify } from '@insitu/sdk/crypto/bls.ts';
import { sealSignDoc } from '@insitu/sdk/chain/seal.ts';
import { sameAddress } from '@insitu/sdk/crypto/keys.ts';
import type { NodeContext } from '../context.ts';
import { createChannel, type Channel } from '../channel.ts';
import { signerOf } from './access.ts';
import { sendJson } from './respond.ts';

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * A secondary that takes nothing for this long while its piece stream is backed up, or does not
 * answer in this long (plus time to sync what it still holds) once the stream has ended, is
 * stalled (frozen, unreachable without a closed connection): the upload fails at once with
 * ERR_REPLICATION_FAILED instead of waiting on it for a minute.
 */
export const REPLICATION_STALL_MS = 2_000;
/** The slowest disk sync speed a secondary is allowed at the end of a stream, bytes per second. */
const SYNC_BYTES_PER_SECOND = 64 * 1024 * 1024;

export async function putObject(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, bucket: string, name: string): Promise<void> {
  const signer = signerOf(req, true)!;
  const info = await ctx.chain.headBucket(bucket);
  if (info.primarySpId !== ctx.spId) throw new InsituError('ERR_BAD_REQUEST', `this node is not the primary of bucket ${bucket} (provider ${info.primarySpId} is)`);
  const obj = await ctx.chain.headObject(bucket, name);
  if (!sameAddress(signer, obj.creator)) throw new InsituError('ERR_PERMISSION_DENIED', `only ${obj.creator}, who created ${bucket}/${name}, may upload its bytes`);
  if (obj.status === 'sealed' && obj.payloadSize === 0n) return sendJson(res, 200, { sealed: true, objectId: obj.id });
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `${bucket}/${name} is already sealed`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && BigInt(declared) !== obj.payloadSize) {
    throw new InsituError('ERR_SIZE_MISMATCH', `Content-Length ${declared} differs from the ${obj.payloadSize} bytes registered on chain`);
  }
  if (ctx.uploads.has(obj.id)) throw new InsituError('ERR_OBJECT_EXISTS', `an upload of ${bucket}/${name} is already in progress`);
  ctx.uploads.add(obj.id);
  let gvg, secondaries, writer;
  try {
    gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId);
    secondaries = await Promise.all(gvg.secondarySpIds.map((id) => ctx.provider(id)));
    // A full disk refuses here, before a byte is read or sent on.
    writer = await ctx.store.createWriter({ objectId: obj.id, index: -1 }, { size: Number(obj.payloadSize) });
  } catch (e) {
    ctx.uploads.delete(obj.id);
    throw e;
  }
  const channels: Channel<Uint8Array>[] = secondaries.map(() => createChannel<Uint8Array>(2));
  const stalls = secondaries.map(() => new AbortController());
  const stalled = (j: number, what: string): InsituError => {
    const sp = secondaries![j]!;
    const e = new InsituError('ERR_REPLICATION_FAILED', `secondary ${sp.id} (${sp.endpoint}) ${what}; piece ${j} of ${bucket}/${name} could not be replicated`);
    stalls[j]!.abort(e);
    return e;
  };
  const replications = secondaries.map((sp, j) => {
    const p = replicatePiece({ endpoint: sp.endpoint, objectId: obj.id, index: j, body: channels[j]!.iterate(), privateKey: ctx.operatorKey, signal: stalls[j]!.signal }).catch((e: unknown) => {
      if (stalls[j]!.signal.aborted) throw stalls[j]!.signal.reason;
      // The uploader hears why: a secondary out of disk keeps its own code, named.
      if (e instanceof InsituError && e.code === 'ERR_NODE_DISK_FULL') {
        throw new InsituError('ERR_NODE_DISK_FULL', `secondary ${sp.id} (${sp.endpoint}) is out of disk space and cannot take piece ${j} of ${bucket}/${name}: ${e.message}`, { cause: e });
      }
      throw e;
    });
    p.catch((e) => channels[j]!.fail(e));
    return p;
  });
  try {
    const hashes: Uint8Array[] = [];
    const sizes: number[] = [];
    let total = 0n;
    for await (const segment of segmentStream(req, ctx.params.maxSegmentSize)) {
      total += BigInt(segment.length);
      if (total > obj.payloadSize) throw new InsituError('ERR_SIZE_MISMATCH', `more than the ${obj.payloadSize} bytes registered on chain`);
      hashes.push(new Uint8Array(createHash('sha256').update(segment).digest()));
      sizes.push(segment.length);
      await writer.write(segment);
      const pieces = ctx.codec.encode(segment);
      await Promise.all(pieces.map((p, j) => channels[j]!.push(p, {
        stallMs: REPLICATION_STALL_MS,
        onStall: () => stalled(j, `took nothing of its piece stream for ${REPLICATION_STALL_MS / 1000} s`),
      })));
    }
    if (total !== obj.payloadSize) throw new InsituError('ERR_SIZE_MISMATCH', `received ${total} of the ${obj.payloadSize} bytes registered on chain`);
    if (!equal(hashOfHashes(hashes), obj.checksums[0]!)) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `the bytes of ${bucket}/${name} do not match the checksum registered on chain`);
    }
    for (const c of channels) c.close();
    // Each secondary still hashes, writes and syncs what it holds, then answers: a deadline for that.
    const pieceBytes = Number(obj.payloadSize) / ctx.params.dataChunks;
    const answerMs = REPLICATION_STALL_MS + Math.ceil((pieceBytes / SYNC_BYTES_PER_SECOND) * 1000);
    const timers = stalls.map((_, j) => setTimeout(() => stalled(j, `did not answer within ${answerMs} ms of the end of its piece stream`), answerMs));
    const approvals = await Promise.all(replications).finally(() => timers.forEach(clearTimeout));
    const doc = sealSignDoc({ chainId: ctx.chainId, gvgId: gvg.id, objectId: obj.id, checksums: obj.checksums });
    approvals.forEach((sig, j) => {
      if (!blsVerify(sig, doc, secondaries[j]!.blsKey)) {
        throw new InsituError('ERR_REPLICATION_FAILED', `secondary ${secondaries[j]!.id} returned an approval that does not verify`);
      }
    });
    await writer.commit({ hashes, sizes });
    await ctx.chain.sealObject({ bucket, name, gvgId: gvg.id, blsSignature: blsAggregate(approvals) });
    ctx.logger.info('object sealed', { bucket, object: name, objectId: obj.id.toString(), size: obj.payloadSize.toString() });
    sendJson(res, 200, { sealed: true, objectId: obj.id });
  } catch (e) {
    for (const c of channels) c.fail(e instanceof Error ? e : new Error(String(e)));
    await writer.abort();
    await Promise.allSettled(replications);
    const err = e instanceof InsituError ? e : new InsituError('ERR_REPLICATION_FAILED', `upload of ${bucket}/${name} failed: ${(e as Error).message}`, { cause: e });
    throw err;
  } finally {
    ctx.uploads.delete(obj.id);
  }
}
