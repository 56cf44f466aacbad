// Reading an object as the node: its own copy when that copy is the one the chain sealed, else a
// verified read from the network (the object's primary, or its pieces on the secondaries). Every
// path that serves, runs on or repairs an object's bytes asks here whether this node holds them.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { InsituError, hashOfHashes } from '@insitu/protocol';
import type { ObjectInfo } from '@insitu/protocol/chain';
import type { PieceRange } from '@insitu/protocol/parallel';
import { readObject } from '@insitu/sdk';
import { unitOffset, type PieceKey, type PieceMeta } from './store/types.ts';
import { readContextOf, type NodeContext } from './context.ts';

/** Whether a stored entry is `obj`'s at `index` as the chain sealed it: its hash of hashes is the chain's checksum. */
export function matchesChain(meta: Pick<PieceMeta, 'hashes'>, obj: ObjectInfo, index: number): boolean {
  const expected = obj.checksums[index + 1];
  return expected !== undefined && Buffer.from(hashOfHashes(meta.hashes)).equals(Buffer.from(expected));
}

/**
 * What this node holds of `obj` at `index` (-1: the whole copy, i: data or parity piece i), only
 * when its hash of hashes is the checksum the chain sealed: the one "does this node hold a
 * verified copy" check.
 */
export async function verifiedEntry(ctx: Pick<NodeContext, 'store'>, obj: ObjectInfo, index = -1): Promise<PieceMeta | undefined> {
  const meta = await ctx.store.meta({ objectId: obj.id, index });
  return meta && matchesChain(meta, obj, index) ? meta : undefined;
}

/** Unit `unit` (segment of a copy, piece of a segment) of a verified entry, checked against its hash before it is used. */
export async function readUnit(ctx: Pick<NodeContext, 'store'>, key: PieceKey, meta: PieceMeta, unit: number): Promise<Uint8Array> {
  const data = await ctx.store.read(key, unitOffset(meta, unit), meta.sizes[unit]!);
  if (data.length !== meta.sizes[unit] || !createHash('sha256').update(data).digest().equals(Buffer.from(meta.hashes[unit]!))) {
    const what = key.index === -1 ? `segment ${unit}` : `piece ${key.index} of segment ${unit}`;
    throw new InsituError('ERR_CHECKSUM_MISMATCH', `${what} of object ${key.objectId} failed its hash on this node`);
  }
  return data;
}

/** The primary's endpoint for a network read, or null when this node is the primary (it then reads the secondaries' pieces). */
async function primaryOf(ctx: NodeContext, obj: ObjectInfo): Promise<string | null> {
  const bucket = await ctx.chain.headBucket(obj.bucketName);
  return bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
}

export interface ReadAsNodeOptions {
  /** The job this read is for: another provider's bucket lets this node read for it (provider-role.ts). */
  jobId?: bigint;
}

/** The whole object in memory (modules, side inputs): from this node's verified copy, else verified from the network. */
export async function readAsNode(ctx: NodeContext, obj: ObjectInfo, opts: ReadAsNodeOptions = {}): Promise<Uint8Array> {
  if (obj.payloadSize === 0n) return new Uint8Array();
  const parts: Uint8Array[] = [];
  const meta = await verifiedEntry(ctx, obj);
  if (meta) {
    const key = { objectId: obj.id, index: -1 };
    for (let s = 0; s < meta.sizes.length; s++) parts.push(await readUnit(ctx, key, meta, s));
  } else {
    const readCtx = { ...readContextOf(ctx), ...(opts.jobId !== undefined ? { role: { jobId: opts.jobId } } : {}) };
    for await (const chunk of readObject(readCtx, obj, await primaryOf(ctx, obj))) parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * The object as a file a job's runtime streams: this node's own verified copy where it lies, or
 * a copy read (verified) from the network into `tmpDir`, which the caller removes with `release`.
 */
export async function locateAsNode(ctx: NodeContext, obj: ObjectInfo, tmpDir: string): Promise<{ located: { path: string } | { bytes: Uint8Array }; temporary: boolean }> {
  if (obj.payloadSize === 0n) return { located: { bytes: new Uint8Array() }, temporary: false };
  const key = { objectId: obj.id, index: -1 };
  if (await verifiedEntry(ctx, obj)) return { located: await ctx.store.locate(key), temporary: false };
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `${obj.id}.data`);
  const out = createWriteStream(path);
  for await (const chunk of readObject(readContextOf(ctx), obj, await primaryOf(ctx, obj))) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { located: { path }, temporary: true };
}

/**
 * A reader of data piece `index`'s bytes, one segment's range at a time: this node's own verified
 * piece, or its verified whole copy, or — when it holds neither (the piece's holder is down) — the
 * range rebuilt from the other pieces on the secondaries.
 */
export async function pieceReader(ctx: NodeContext, obj: ObjectInfo, index: number): Promise<(r: PieceRange) => Promise<Uint8Array>> {
  const own = await verifiedEntry(ctx, obj, index);
  if (own) {
    const key = { objectId: obj.id, index };
    return async (r) => (await readUnit(ctx, key, own, r.segment)).subarray(0, r.end - r.start);
  }
  const copy = await verifiedEntry(ctx, obj);
  if (copy) {
    const key = { objectId: obj.id, index: -1 };
    return async (r) => {
      const segStart = unitOffset(copy, r.segment);
      return (await readUnit(ctx, key, copy, r.segment)).subarray(r.start - segStart, r.end - segStart);
    };
  }
  const readCtx = readContextOf(ctx);
  return async (r) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of readObject(readCtx, obj, null, { range: { start: r.start, end: r.end - 1 } })) parts.push(chunk);
    return Buffer.concat(parts);
  };
}
