// What the recovery activities share: the node's context with the options and the stop signal,
// the chain's view of what this node should hold, a byte-rate limiter, and the rebuild of one
// entry (a primary's copy or a secondary's piece) from verified data elsewhere.

import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import { hashOfHashes } from '@insitu/protocol';
import { readObject } from '@insitu/sdk';
import type { GlobalVirtualGroup, ObjectInfo } from '@insitu/protocol/chain';
import { readContextOf, type NodeContext } from '../context.ts';
import { matchesChain } from '../read-object.ts';
import { unitOffset, type PieceKey } from '../store/types.ts';
import type { ResolvedRecoveryOptions } from './options.ts';

export interface RecoveryDeps {
  ctx: NodeContext;
  opts: ResolvedRecoveryOptions;
  /** Aborted when the node stops; every loop and rebuild listens on it. */
  signal: AbortSignal;
}

export const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
export const keyId = (key: PieceKey): string => `${key.objectId}/${key.index}`;
export const errorText = (e: unknown): string => String((e as Error)?.message ?? e);

/** Resolves after ms, or at once when the signal fires. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** The chain's checksum for index (-1: the object's, else piece index's). */
export const expectedChecksum = (obj: ObjectInfo, index: number): Uint8Array => obj.checksums[index + 1]!;

/** The index this node holds in a group: -1 as its primary, else its secondary slot; null if none. */
export const slotIn = (spId: number, g: GlobalVirtualGroup): number | null =>
  g.primarySpId === spId ? -1 : g.secondarySpIds.includes(spId) ? g.secondarySpIds.indexOf(spId) : null;

/** Sealed objects of one group, paged through the chain. */
export async function objectsOf(ctx: NodeContext, gvgId: number): Promise<{ id: bigint; payloadSize: bigint }[]> {
  const out: { id: bigint; payloadSize: bigint }[] = [];
  let after = 0n;
  for (;;) {
    const page = await ctx.chain.objectsInGroup(gvgId, { afterId: after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page.at(-1)!.id;
  }
}

/** What the chain says this node holds: one entry per non-empty sealed object of every group it is in. */
export async function* expectedEntries(ctx: NodeContext, signal: AbortSignal): AsyncGenerator<{ key: PieceKey; gvg: GlobalVirtualGroup; payloadSize: bigint }> {
  for (const g of await ctx.chain.listGlobalVirtualGroups(ctx.spId)) {
    const index = slotIn(ctx.spId, g);
    if (index === null) continue;
    for (const o of await objectsOf(ctx, g.id)) {
      if (signal.aborted) return;
      if (o.payloadSize === 0n) continue;
      yield { key: { objectId: o.id, index }, gvg: g, payloadSize: o.payloadSize };
    }
  }
}

/** Bytes an entry takes on disk: the whole object for a copy, one piece per segment otherwise. */
export function entryBytes(ctx: NodeContext, index: number, payloadSize: bigint): number {
  const size = Number(payloadSize);
  if (index === -1) return size;
  const seg = ctx.params.maxSegmentSize;
  let total = 0;
  for (let at = 0; at < size; at += seg) total += Math.ceil(Math.min(seg, size - at) / ctx.params.dataChunks);
  return total;
}

/**
 * A token bucket over bytes: take(n) waits until n bytes fit in the rate. One second of burst,
 * so short transfers are not slowed and long ones average to the rate.
 */
export function createRateLimiter(bytesPerSecond: number): { take(n: number, signal: AbortSignal): Promise<void> } {
  let tokens = bytesPerSecond;
  let last = performance.now();
  return {
    async take(n, signal) {
      if (bytesPerSecond <= 0) return;
      const now = performance.now();
      tokens = Math.min(bytesPerSecond, tokens + ((now - last) / 1000) * bytesPerSecond);
      last = now;
      tokens -= n;
      if (tokens < 0) await sleep((-tokens / bytesPerSecond) * 1000, signal);
    },
  };
}

/**
 * The state of one committed entry, cheaply (`quick`: the index matches the chain and the file's
 * last byte is there) or fully (every unit re-hashed, at `pace` if given). Given the entry's size
 * instead of the object (`{ bytes }`), its bytes are checked against the hashes its commit checked
 * against the chain, and its size against the one the chain lists, without asking for the object.
 */
export async function checkEntry(ctx: NodeContext, key: PieceKey, obj: ObjectInfo | { bytes: number }, mode: { quick: true } | { quick: false; pace?: (n: number) => Promise<void>; onBytes?: (n: number) => void }): Promise<'ok' | 'corrupt' | 'missing'> {
  const meta = await ctx.store.meta(key);
  if (!meta) return 'missing';
  if ('bytes' in obj ? meta.size !== obj.bytes : !matchesChain(meta, obj, key.index)) return 'corrupt';
  if (mode.quick) {
    try {
      const tail = await ctx.store.read(key, Math.max(0, meta.size - 1), 1);
      return tail.length === 1 || meta.size === 0 ? 'ok' : 'corrupt';
    } catch {
      return 'missing';
    }
  }
  for (let u = 0; u < meta.sizes.length; u++) {
    let data: Uint8Array;
    try {
      data = await ctx.store.read(key, unitOffset(meta, u), meta.sizes[u]!);
    } catch {
      return 'missing';
    }
    mode.onBytes?.(data.length);
    if (data.length !== meta.sizes[u] || !sha(data).equals(Buffer.from(meta.hashes[u]!))) return 'corrupt';
    await mode.pace?.(data.length);
  }
  return 'ok';
}

/**
 * Rebuilds entry (obj, index) from the primary's verified copy or, failing that, from verified
 * pieces elsewhere (the SDK's degraded read), checks it against the chain and commits it.
 * `pace` is called with the bytes received, to bound the bandwidth repairs take.
 */
export async function rebuild(deps: RecoveryDeps, obj: ObjectInfo, index: number, pace?: (n: number) => Promise<void>): Promise<number> {
  const { ctx, signal } = deps;
  if (obj.payloadSize === 0n) return 0;
  const bucket = await ctx.chain.headBucket(obj.bucketName);
  const primary = index === -1 || bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
  const writer = await ctx.store.createWriter({ objectId: obj.id, index });
  const hashes: Uint8Array[] = [];
  const sizes: number[] = [];
  let bytes = 0;
  try {
    const segSize = ctx.params.maxSegmentSize;
    const size = Number(obj.payloadSize);
    let pending: Uint8Array[] = [];
    let have = 0;
    let s = 0;
    const flush = async (seg: Uint8Array): Promise<void> => {
      const unit = index === -1 ? seg : ctx.codec.encode(seg)[index]!;
      hashes.push(new Uint8Array(sha(unit)));
      sizes.push(unit.length);
      bytes += unit.length;
      await writer.write(unit);
    };
    for await (const chunk of readObject(readContextOf(ctx), obj, primary, { signal })) {
      await pace?.(chunk.length);
      pending.push(chunk);
      have += chunk.length;
      for (;;) {
        const want = Math.min(segSize, size - s * segSize);
        if (have < want || want <= 0) break;
        const all = Buffer.concat(pending);
        await flush(all.subarray(0, want));
        pending = [all.subarray(want)];
        have -= want;
        s++;
      }
    }
    if (!same(hashOfHashes(hashes), expectedChecksum(obj, index))) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `rebuilt ${index === -1 ? 'copy' : `piece ${index}`} of object ${obj.id} does not match the chain`);
    }
    await writer.commit({ hashes, sizes });
    return bytes;
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
