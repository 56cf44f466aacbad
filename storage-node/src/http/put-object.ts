// PUT /{bucket}/{object} on the bucket's primary: store the object, encode each segment and
// stream piece i to secondary i as it goes, check every checksum against the chain, collect the
// secondaries' BLS approvals and seal the object on chain.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { replicatePiece } from '@insitu/sdk/sp';
import { sealSignDoc, type ObjectInfo, type StorageProvider } from '@insitu/protocol/chain';
import { sameAddress } from '@insitu/protocol';
import type { NodeContext } from '../context.ts';
import { createChannel, type Channel } from '../channel.ts';
import { signerOf } from './access.ts';
import { heardFrom, watchReplication } from './replication-watch.ts';
import { aggregateApprovals, createReplicationBatcher, type ReplicationBatcher } from '../replication-batch.ts';
import { sendJson } from './respond.ts';
import type { PieceWriter } from '../store/types.ts';

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * The end of every upload once the secondaries approved: the approvals checked, the primary's copy
 * committed, the object sealed (seals of concurrent uploads go out together: the chain client
 * batches them), the uploader answered, and where the upload's time went logged: receiving and
 * streaming on, the last secondary's answer, the check, the seal's block.
 */
async function sealAndAnswer(ctx: NodeContext, res: ServerResponse, writer: PieceWriter, meta: { hashes: Uint8Array[]; sizes: number[] }, u: {
  bucket: string; name: string; obj: ObjectInfo; gvgId: number; secondaries: StorageProvider[]; approvals: Uint8Array[]; started: number; received: number; approved: number;
}): Promise<void> {
  const { bucket, name, obj } = u;
  const doc = sealSignDoc({ chainId: ctx.chainId, gvgId: u.gvgId, objectId: obj.id, checksums: obj.checksums });
  const aggregate = aggregateApprovals(u.secondaries, u.approvals, doc, `${bucket}/${name}`);
  await writer.commit(meta);
  const sealing = performance.now();
  await ctx.chain.sealObject({ bucket, name, gvgId: u.gvgId, blsSignature: aggregate });
  answerSealed(ctx, res, { ...u, sealing });
}

/** The uploader answered, and where its upload's time went logged: receiving and streaming on, the secondaries' approvals, the check, the seal's block. */
function answerSealed(ctx: NodeContext, res: ServerResponse, u: { bucket: string; name: string; obj: ObjectInfo; started: number; received: number; approved: number; sealing: number }): void {
  const ms = (a: number, b: number): number => Math.round(b - a);
  ctx.logger.info('object sealed', {
    bucket: u.bucket, object: u.name, objectId: u.obj.id.toString(), size: u.obj.payloadSize.toString(),
    receiveMs: ms(u.started, u.received), approvalsMs: ms(u.received, u.approved), checkMs: ms(u.approved, u.sealing), sealMs: ms(u.sealing, performance.now()),
  });
  sendJson(res, 200, { sealed: true, objectId: u.obj.id });
}

/**
 * A secondary the upload waits on (its piece stream backed up, or its answer due) that is heard
 * from in no way for this long — takes no piece, answers no replication of any upload, answers no
 * health probe (sent once it has been quiet a moment) — fails the upload with ERR_REPLICATION_FAILED instead of
 * holding it for a minute (frozen, cut off without a closed connection). One that is busy (waiting
 * on the chain, syncing) keeps answering something, however late, and is waited for
 * (replication-watch.ts).
 */
export const REPLICATION_STALL_MS = 2_000;

/**
 * Segment buffers an upload cycles through: one being filled, one being written and sent, one
 * whose pieces the replication streams are still handing to their sockets. More buffers let the
 * receiving run further ahead but cost a segment of memory each.
 */
const SEGMENT_BUFFERS = 3;

/**
 * Objects up to this size (one segment) are received whole before their pieces go out, and are
 * replicated and sealed in rounds with other uploads of their group (replication-batch.ts).
 */
export const SMALL_OBJECT_BYTES = 1024 * 1024;

/** Each node's batcher of small objects' pieces. */
const batchers = new WeakMap<NodeContext, ReplicationBatcher>();
const batcherOf = (ctx: NodeContext): ReplicationBatcher => {
  let b = batchers.get(ctx);
  if (!b) batchers.set(ctx, (b = createReplicationBatcher({ operatorKey: ctx.operatorKey, stallMs: ctx.stallMs, chainId: ctx.chainId, chain: ctx.chain })));
  return b;
};

/**
 * A small object: its bytes are received whole and checked against the chain before anything is
 * sent on, then encoded once, written, and handed to the round of its group (replication-batch.ts):
 * its pieces go to the secondaries with the round's, the round is approved with one signature per
 * secondary and sealed with one MsgSealObjects, and the uploader is answered once it is sealed.
 */
async function putSmall(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, u: {
  bucket: string; name: string; obj: ObjectInfo; gvgId: number; secondaries: StorageProvider[]; writer: PieceWriter; started: number;
}): Promise<void> {
  const { bucket, name, obj, secondaries, writer } = u;
  let written: Promise<void> | undefined;
  let committed: Promise<void> | undefined;
  let sealSent = false;
  try {
    const size = Number(obj.payloadSize);
    const data = Buffer.allocUnsafe(size);
    let at = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (at + chunk.length > size) throw new InsituError('ERR_SIZE_MISMATCH', `more than the ${obj.payloadSize} bytes registered on chain`);
      chunk.copy(data, at);
      at += chunk.length;
    }
    if (at !== size) throw new InsituError('ERR_SIZE_MISMATCH', `received ${at} of the ${obj.payloadSize} bytes registered on chain`);
    const hash = new Uint8Array(createHash('sha256').update(data).digest());
    if (!equal(hashOfHashes([hash]), obj.checksums[0]!)) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `the bytes of ${bucket}/${name} do not match the checksum registered on chain`);
    }
    written = writer.write(data);
    written.catch(() => undefined);
    const pieces = ctx.codec.encode(data);
    const received = performance.now();
    const w = written;
    // Replicated, approved, committed and sealed with the other uploads of its round.
    const { approved, sealing } = await batcherOf(ctx).seal({
      objectId: obj.id, checksums: obj.checksums, gvgId: u.gvgId, secondaries, pieces, what: `${bucket}/${name}`,
      commit: () => (committed = (async () => {
        await w;
        await writer.commit({ hashes: [hash], sizes: [size] });
      })()),
      sealing: () => {
        sealSent = true;
      },
    });
    answerSealed(ctx, res, { bucket, name, obj, started: u.started, received, approved, sealing });
  } catch (e) {
    // The group may have changed under a failed upload (a swap-in): it is asked for anew next time.
    ctx.groups.forget();
    await written?.catch(() => undefined);
    await writer.abort();
    // The copy committed while the round replicated is not kept for an upload that failed before
    // its seal was sent; once sent, the object may be sealed (its block committed, the answer
    // lost), so the copy stays (it is the chain's bytes; a retry replaces it, a cancellation drops it).
    if (committed && !sealSent && (await committed.then(() => true, () => false))) await ctx.store.delete(obj.id).catch(() => undefined);
    throw e instanceof InsituError ? e : new InsituError('ERR_REPLICATION_FAILED', `upload of ${bucket}/${name} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    ctx.uploads.delete(obj.id);
  }
}

/** How long the primary waits for an upload's creation to reach the validator it asks. */
const CREATION_WAIT_MS = 3_000;

/**
 * The object, as the chain has it. Validators driven by CometBFT apply a block one after another:
 * the one this node asks may be a moment behind the one the uploader heard its creation from.
 * An object not found whose upload names its creation's transaction (X-Gnfd-Txn-Hash, as
 * Greenfield's SDKs send it) is asked for again once that transaction is in this node's chain
 * (waited for at most CREATION_WAIT_MS); the embedded chain, which has no lag, answers that at once.
 */
async function headCreated(ctx: NodeContext, bucket: string, name: string, txHash: string | string[] | undefined): Promise<ObjectInfo> {
  try {
    return await ctx.chain.headObject(bucket, name);
  } catch (e) {
    if ((e as InsituError).code !== 'ERR_OBJECT_NOT_FOUND' || typeof txHash !== 'string' || !/^(0x)?[0-9a-fA-F]{64}$/.test(txHash)) throw e;
    try {
      await ctx.chain.waitForTx(`0x${txHash.replace(/^0x/, '')}`, { timeoutMs: CREATION_WAIT_MS });
    } catch {
      throw e;
    }
    return ctx.chain.headObject(bucket, name);
  }
}

export async function putObject(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, bucket: string, name: string): Promise<void> {
  const started = performance.now();
  const signer = signerOf(req, true)!;
  // The bucket's primary is its groups' primary: the object's group, as remembered, answers
  // whether this node is it. The bucket itself is asked only to refuse (no such bucket or
  // object, another primary), so a refusal always stands on the chain as it is now.
  const notPrimary = async (): Promise<void> => {
    const info = await ctx.chain.headBucket(bucket);
    if (info.primarySpId !== ctx.spId) throw new InsituError('ERR_BAD_REQUEST', `this node is not the primary of bucket ${bucket} (provider ${info.primarySpId} is)`);
  };
  let obj;
  try {
    obj = await headCreated(ctx, bucket, name, req.headers['x-gnfd-txn-hash']);
  } catch (e) {
    await notPrimary();
    throw e;
  }
  let gvg = await ctx.groups.get(obj.gvgId);
  if (gvg.primarySpId !== ctx.spId) {
    await notPrimary();
    gvg = await ctx.groups.get(obj.gvgId, true);
  }
  if (!sameAddress(signer, obj.creator)) throw new InsituError('ERR_PERMISSION_DENIED', `only ${obj.creator}, who created ${bucket}/${name}, may upload its bytes`);
  if (obj.status === 'sealed' && obj.payloadSize === 0n) return sendJson(res, 200, { sealed: true, objectId: obj.id });
  if (obj.status !== 'created') throw new InsituError('ERR_OBJECT_ALREADY_SEALED', `${bucket}/${name} is already sealed`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && BigInt(declared) !== obj.payloadSize) {
    throw new InsituError('ERR_SIZE_MISMATCH', `Content-Length ${declared} differs from the ${obj.payloadSize} bytes registered on chain`);
  }
  if (ctx.uploads.has(obj.id)) throw new InsituError('ERR_OBJECT_EXISTS', `an upload of ${bucket}/${name} is already in progress`);
  ctx.uploads.add(obj.id);
  let secondaries, writer;
  try {
    secondaries = await Promise.all(gvg.secondarySpIds.map((id) => ctx.provider(id)));
    // A full disk refuses here, before a byte is read or sent on.
    writer = await ctx.store.createWriter({ objectId: obj.id, index: -1 }, { size: Number(obj.payloadSize) });
  } catch (e) {
    ctx.uploads.delete(obj.id);
    throw e;
  }
  if (obj.payloadSize > 0n && obj.payloadSize <= BigInt(Math.min(SMALL_OBJECT_BYTES, ctx.params.maxSegmentSize))) {
    return putSmall(ctx, req, res, { bucket, name, obj, gvgId: gvg.id, secondaries, writer, started });
  }
  const channels: Channel<Uint8Array>[] = secondaries.map(() => createChannel<Uint8Array>(2));
  const stalls = secondaries.map(() => new AbortController());
  // Pieces handed to replication j and not yet taken by its stream; whether every piece was handed on.
  const pending = secondaries.map(() => 0);
  const finished = secondaries.map(() => false);
  let streamEnded = false;
  const watches = secondaries.map((sp, j) => watchReplication({
    endpoint: sp.endpoint,
    stallMs: ctx.stallMs,
    waiting: () => !finished[j] && (streamEnded || pending[j]! > 0),
    onStall: () => {
      const what = streamEnded ? 'has not answered since the end of its piece stream' : 'has taken nothing of its piece stream';
      const e = new InsituError('ERR_REPLICATION_FAILED', `secondary ${sp.id} (${sp.endpoint}) ${what} for ${ctx.stallMs / 1000} s and answers nothing else; piece ${j} of ${bucket}/${name} could not be replicated`);
      stalls[j]!.abort(e);
      channels[j]!.fail(e);
    },
  }));
  /** Replication j's pieces as its stream takes them: each one taken is progress. */
  async function* taken(j: number): AsyncGenerator<Uint8Array> {
    for await (const piece of channels[j]!.iterate()) {
      pending[j]!--;
      watches[j]!.progress();
      yield piece;
    }
  }
  const replications = secondaries.map((sp, j) => {
    const p = replicatePiece({ endpoint: sp.endpoint, objectId: obj.id, index: j, body: taken(j), privateKey: ctx.operatorKey, signal: stalls[j]!.signal }).finally(() => {
      finished[j] = true;
      watches[j]!.stop();
      // Any answer, even a refusal, shows the secondary alive to the other uploads' watches.
      if (!stalls[j]!.signal.aborted) heardFrom(sp.endpoint);
    }).catch((e: unknown) => {
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
    // Segments are gathered in a ring of SEGMENT_BUFFERS buffers, and their parity encoded into a
    // ring beside it. The pieces sent on are views of those, so a buffer is filled again only once
    // its disk write is done and every replication stream has handed its pieces to its socket
    // (Channel.passed).
    const segSize = ctx.params.maxSegmentSize;
    const ring: Uint8Array[] = [];
    const parity: Uint8Array[] = [];
    const ringSize = SEGMENT_BUFFERS;
    const released: Promise<unknown>[] = [];
    let index = 0;
    let buf: Uint8Array | undefined;
    let fill = 0;
    const flush = async (segment: Uint8Array): Promise<void> => {
      hashes.push(new Uint8Array(createHash('sha256').update(segment).digest()));
      sizes.push(segment.length);
      // The disk write runs while the segment is encoded and its pieces go out; both finish
      // before the next segment is read.
      const written = writer.write(segment);
      written.catch(() => undefined);
      const pieces = ctx.codec.encode(segment, parity[index % ringSize] ??= new Uint8Array(ctx.params.parityChunks * Math.ceil(ring[0]!.length / ctx.params.dataChunks)));
      const n = index;
      released[n] = Promise.all([written, ...pieces.map((_, j) => channels[j]!.passed(n))]).catch(() => undefined);
      await Promise.all([written, ...pieces.map((p, j) => {
        pending[j]!++;
        return channels[j]!.push(p);
      })]);
      index++;
    };
    for await (const chunk of req as AsyncIterable<Uint8Array>) {
      total += BigInt(chunk.length);
      if (total > obj.payloadSize) throw new InsituError('ERR_SIZE_MISMATCH', `more than the ${obj.payloadSize} bytes registered on chain`);
      for (let at = 0; at < chunk.length;) {
        if (!buf) {
          await released[index - ringSize];
          buf = ring[index % ringSize] ??= new Uint8Array(Math.min(segSize, Number(obj.payloadSize)));
        }
        const n = Math.min(segSize - fill, chunk.length - at);
        buf.set(n === chunk.length ? chunk : chunk.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === segSize) {
          const segment = buf;
          buf = undefined;
          fill = 0;
          await flush(segment);
        }
      }
    }
    if (buf && fill > 0) await flush(buf.subarray(0, fill));
    if (total !== obj.payloadSize) throw new InsituError('ERR_SIZE_MISMATCH', `received ${total} of the ${obj.payloadSize} bytes registered on chain`);
    if (!equal(hashOfHashes(hashes), obj.checksums[0]!)) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `the bytes of ${bucket}/${name} do not match the checksum registered on chain`);
    }
    for (const c of channels) c.close();
    // Each secondary still hashes, writes and syncs what it holds, then answers; its watch waits
    // for that answer, or any other sign of life, from here on.
    streamEnded = true;
    const received = performance.now();
    const approvals = await Promise.all(replications);
    const approved = performance.now();
    await sealAndAnswer(ctx, res, writer, { hashes, sizes }, { bucket, name, obj, gvgId: gvg.id, secondaries, approvals, started, received, approved });
  } catch (e) {
    // The group may have changed under a failed upload (a swap-in): it is asked for anew next time.
    ctx.groups.forget();
    for (const c of channels) c.fail(e instanceof Error ? e : new Error(String(e)));
    await writer.abort();
    await Promise.allSettled(replications);
    const err = e instanceof InsituError ? e : new InsituError('ERR_REPLICATION_FAILED', `upload of ${bucket}/${name} failed: ${(e as Error).message}`, { cause: e });
    throw err;
  } finally {
    for (const w of watches) w.stop();
    ctx.uploads.delete(obj.id);
  }
}
