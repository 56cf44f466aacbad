// Uploads an object: the 7 checksums are computed over the source first (a file is read twice,
// anything else is spooled to a temp file), the object is created on chain with them, the bytes
// are streamed to the bucket's primary, and the call returns once the chain has sealed it.
// A name holding an unsealed object left by an upload that died is resumed when the bytes are the
// same; with other bytes it fails with ERR_OBJECT_EXISTS and a hint, or is cancelled and
// replaced when `replaceStale` is set. A failure reported by the primary (or a broken connection
// to it) is checked against the chain first: an object the chain sealed is reported sealed.

import { setTimeout as sleep } from 'node:timers/promises';
import { InsituError, toAbortError } from '@insitu/protocol';
import type { ObjectInfo, Visibility } from '@insitu/protocol/chain';
import { computeChecksums } from '@insitu/protocol';
import { putObject as sendObject } from '../../sp/index.ts';
import { createObjectTx } from '../../chain/writer.ts';
import { validateBucketName, validateObjectName } from '@insitu/protocol';
import { prepareSource, counted, type ObjectSource } from '../source.ts';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface PutOptions extends CallOptions {
  visibility?: Visibility;
  contentType?: string;
  /** Called as bytes go out to the primary. */
  onProgress?: (sent: bigint, total: bigint) => void;
  /** Cancel an unsealed object of different content under this name and upload anew. */
  replaceStale?: boolean;
  /** How long to wait for the seal after the primary has the bytes (default 60 s). */
  sealTimeoutMs?: number;
}

/** The chain's object, or the error it gave; a chain that does not answer is asked again until the deadline. */
async function headUntil(ctx: ClientContext, bucket: string, name: string, deadline: number, opts: PutOptions): Promise<ObjectInfo | InsituError> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await ctx.chain.headObject(bucket, name, sig(opts));
    } catch (e) {
      if (opts.signal?.aborted || (e as InsituError).code !== 'ERR_CHAIN_UNAVAILABLE' || Date.now() + delay > deadline) return e as InsituError;
    }
    await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}

/**
 * The primary answers once it has sealed the object, but the seal is the chain's to record: poll
 * until it is visible there (it normally already is), the object is gone, or time runs out.
 */
async function waitSealed(ctx: ClientContext, bucket: string, name: string, opts: PutOptions): Promise<ObjectInfo> {
  const deadline = Date.now() + (opts.sealTimeoutMs ?? 60_000);
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const info = await headUntil(ctx, bucket, name, deadline, opts);
    if (info instanceof Error) throw info;
    if (info.status === 'sealed') return info;
    if (Date.now() + delay > deadline) {
      throw new InsituError('ERR_REPLICATION_FAILED', `${bucket}/${name} was uploaded but the chain has not sealed it (status ${info.status}); put it again to retry`);
    }
    await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}

/**
 * The primary reported a failure, or the connection to it broke: the seal may have been recorded
 * all the same (the primary lost the chain after sending it). Before reporting anything, ask the
 * chain — again while it does not answer, and for a while if the object is still waiting for its
 * seal — and return the object if it is sealed with these bytes.
 */
async function sealedAfterAll(ctx: ClientContext, bucket: string, name: string, checksums: Uint8Array[], failure: unknown, opts: PutOptions): Promise<ObjectInfo | undefined> {
  // Only a lost chain or a lost connection leaves a seal possibly in flight; other refusals get one look.
  const inFlight = ['ERR_CHAIN_UNAVAILABLE', 'ERR_TX_TIMEOUT', 'ERR_NODE_UNAVAILABLE'].includes((failure as InsituError).code);
  const deadline = Date.now() + (inFlight ? Math.min(opts.sealTimeoutMs ?? 60_000, 20_000) : 0);
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    const info = await headUntil(ctx, bucket, name, deadline, opts);
    if (info instanceof Error) return undefined;
    if (info.status === 'sealed') return sameChecksums(info.checksums, checksums) ? info : undefined;
    if (Date.now() + delay > deadline) return undefined;
    await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}

/** How long a failed upload waits for the chain to say whether its bucket's primary moved. */
const REASK_MS = 5_000;

/**
 * Each client's buckets' primaries, remembered across uploads instead of asked of the chain for
 * each (a bucket's primary changes only when a provider is swapped in for it). Forgotten when an
 * upload fails, so the next one asks the chain again.
 */
const primaries = new WeakMap<ClientContext, Map<string, Promise<number>>>();

function primaryOf(ctx: ClientContext, bucket: string): Promise<number> {
  let known = primaries.get(ctx);
  if (!known) primaries.set(ctx, (known = new Map()));
  const map = known;
  let id = map.get(bucket);
  if (!id) {
    // Shared by concurrent uploads, so no one caller's signal cancels it.
    const asked = ctx.chain.headBucket(bucket).then((b) => b.primarySpId);
    map.set(bucket, (id = asked));
    asked.catch(() => {
      if (map.get(bucket) === asked) map.delete(bucket);
    });
  }
  return id;
}

/** Forgets a bucket's remembered primary (an upload through it failed, or the name was given to a new bucket). */
export const forgetPrimary = (ctx: ClientContext, bucket: string): void => void primaries.get(ctx)?.delete(bucket);

const sameChecksums = (a: Uint8Array[], b: Uint8Array[]): boolean =>
  a.length === b.length && a.every((c, i) => Buffer.from(c).equals(Buffer.from(b[i]!)));

async function existingObject(ctx: ClientContext, bucket: string, name: string, opts: CallOptions): Promise<ObjectInfo | undefined> {
  try {
    return await ctx.chain.headObject(bucket, name, sig(opts));
  } catch (e) {
    if ((e as InsituError).code === 'ERR_OBJECT_NOT_FOUND') return undefined;
    throw e;
  }
}

export async function putObject(ctx: ClientContext, bucket: string, name: string, source: ObjectSource, opts: PutOptions = {}): Promise<ObjectInfo> {
  validateBucketName(bucket);
  validateObjectName(name);
  const p = await ctx.params();
  const src = await prepareSource(source, opts.signal);
  // Whether the name is taken is asked while the checksums are computed: a creation the chain
  // refuses for a taken name would still cost its fee, and a re-put or a resumed upload costs none.
  const named = existingObject(ctx, bucket, name, opts);
  named.catch(() => undefined);
  try {
    const redundancy = { segmentSize: p.maxSegmentSize, dataShards: p.dataChunks, parityShards: p.parityChunks };
    // computeChecksums is done with each segment before it asks for the next: a file is read into one reused buffer.
    const { checksums, size } = await computeChecksums(src.segments?.(p.maxSegmentSize) ?? src.open(), redundancy, { ...sig(opts), codec: ctx.codec });
    // The bucket's primary is looked up while the object is checked and created on chain.
    const primaryId = primaryOf(ctx, bucket);
    primaryId.catch(() => undefined);
    const input = {
      bucket, name, payloadSize: size, checksums,
      ...(opts.visibility ? { visibility: opts.visibility } : {}),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    };
    let txHash: string | undefined;
    let existing = await named;
    // A new name is created without reading the object back; only a name taken meanwhile is
    // looked at again. An empty object is sealed by its creation, so it is read back as before.
    if (!existing && size > 0n) {
      try {
        txHash = (await createObjectTx(ctx.chain, input, sig(opts))).txHash;
      } catch (e) {
        if ((e as InsituError).code !== 'ERR_OBJECT_EXISTS') throw e;
        existing = await existingObject(ctx, bucket, name, opts);
      }
    }
    if (existing) {
      const sameBytes = existing.payloadSize === size && sameChecksums(existing.checksums, checksums);
      if (existing.status === 'sealed') {
        if (sameBytes) return existing;
        throw new InsituError('ERR_OBJECT_EXISTS', `${bucket}/${name} already exists; delete it first (insitu rm ${bucket}/${name})`);
      }
      if (!sameBytes) {
        if (!opts.replaceStale) {
          throw new InsituError('ERR_OBJECT_EXISTS',
            `${bucket}/${name} has an unfinished upload of different content; cancel it first (insitu cancel ${bucket}/${name}) or put with --replace-stale`);
        }
        await ctx.chain.cancelCreateObject(bucket, name, sig(opts));
        existing = undefined;
      }
      // Otherwise the same bytes were registered by an upload that did not finish: resume it.
    }
    if (!existing && !txHash) {
      const created = await ctx.chain.createObject(input, sig(opts));
      existing = created.object;
      txHash = created.txHash;
    }
    if (existing?.status === 'sealed') return existing;
    let sent = 0n;
    const send = async (primaryId: number): Promise<void> => {
      const primary = await ctx.provider(primaryId);
      sent = 0n;
      await sendObject({
        endpoint: primary.endpoint, bucket, object: name, size, privateKey: ctx.privateKey,
        body: counted(src.open(), (n) => {
          sent += BigInt(n);
          opts.onProgress?.(sent, size);
        }, opts.signal),
        ...(txHash ? { txHash } : {}),
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        ...sig(opts),
      });
    };
    const used = await primaryId;
    try {
      await send(used);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      // The remembered primary may be out of date (a provider was swapped in for it): when it is
      // gone or refuses as not the primary, the chain is asked again (briefly: a chain that does
      // not answer leaves the failure as it is), and a different primary is sent the bytes once more.
      forgetPrimary(ctx, bucket);
      const moved = ['ERR_NODE_UNAVAILABLE', 'ERR_BAD_REQUEST'].includes((e as InsituError).code);
      const now = moved ? await Promise.race([primaryOf(ctx, bucket).catch(() => used), sleep(REASK_MS, used, { ref: false })]) : used;
      let failure: unknown = e;
      if (now !== used) {
        try {
          await send(now);
          failure = undefined;
        } catch (again) {
          if (opts.signal?.aborted) throw again;
          failure = again;
        }
      }
      if (failure !== undefined) {
        const sealed = await sealedAfterAll(ctx, bucket, name, checksums, failure, opts);
        if (sealed) return sealed;
        throw failure;
      }
    }
    return await waitSealed(ctx, bucket, name, opts);
  } catch (e) {
    forgetPrimary(ctx, bucket);
    // Whatever layer noticed the abort first, the caller sees ERR_ABORTED.
    if (opts.signal?.aborted) throw toAbortError(opts.signal.reason);
    throw e;
  } finally {
    await src.cleanup();
  }
}
