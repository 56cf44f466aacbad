// Reads are paid for: a bucket whose payment account is frozen is not read, and the node that
// serves a bucket's objects (its primary) counts the bytes it sends per bucket and month against
// the provider's free quota plus the quota the owner bought (Greenfield's read quota). Counts are
// kept in the node's store, so they survive restarts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { InsituError } from '@insitu/protocol';
import type { BucketReadState } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';
import { signerOf, authorize } from './access.ts';
import { sendJson } from './respond.ts';

const counterName = (bucketId: bigint, month: string): string => `read-quota/${bucketId}/${month}`;

/** One write at a time per counter: concurrent reads must not both spend the last bytes. */
const chains = new WeakMap<NodeContext, Map<string, Promise<unknown>>>();

function serial<T>(ctx: NodeContext, key: string, fn: () => Promise<T>): Promise<T> {
  let m = chains.get(ctx);
  if (!m) chains.set(ctx, (m = new Map()));
  const prev = m.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  m.set(key, tail);
  void tail.then(() => {
    if (m!.get(key) === tail) m!.delete(key);
  });
  return run;
}

async function consumed(ctx: NodeContext, state: BucketReadState, month = state.month): Promise<bigint> {
  return BigInt((await ctx.store.getState(counterName(state.bucketId, month))) ?? '0');
}

export function requireNotFrozen(state: BucketReadState): void {
  if (state.frozen) {
    throw new InsituError('ERR_ACCOUNT_FROZEN', `the payment account ${state.paymentAddress} of bucket ${state.bucketName} is frozen: its balance ran out; deposit to it to read again`);
  }
}

/**
 * Checks that `bytes` more may be read from the bucket this month and counts them. Refuses with
 * ERR_ACCOUNT_FROZEN or ERR_QUOTA_EXCEEDED, counting nothing.
 */
export async function spendReadQuota(ctx: NodeContext, bucket: string, bytes: number): Promise<BucketReadState> {
  const state = await ctx.chain.bucketReadState(bucket);
  requireNotFrozen(state);
  const limit = state.freeReadQuota + state.chargedReadQuota;
  await serial(ctx, counterName(state.bucketId, state.month), async () => {
    const used = await consumed(ctx, state);
    if (used + BigInt(bytes) > limit) {
      throw new InsituError('ERR_QUOTA_EXCEEDED', `bucket ${bucket} has read ${used} of its ${limit} bytes for ${state.month} (${state.freeReadQuota} free + ${state.chargedReadQuota} bought); this read needs ${bytes}: buy more with insitu bucket quota --buy`);
    }
    await ctx.store.setState(counterName(state.bucketId, state.month), String(used + BigInt(bytes)));
  });
  return state;
}

/**
 * GET /{bucket}?read-quota[&year-month=YYYY-MM]: the month's quota and what was read (owner or a
 * reader of the bucket); Greenfield's XML, or JSON with `Accept: application/json`.
 */
export async function readQuota(ctx: NodeContext, req: IncomingMessage, res: ServerResponse, bucket: string, url: URL): Promise<void> {
  const signer = signerOf(req, true);
  const info = await ctx.chain.headBucket(bucket);
  if (!signer || signer.toLowerCase() !== info.owner.toLowerCase()) await authorize(ctx, signer, bucket, undefined, 'list-object');
  const state = await ctx.chain.bucketReadState(bucket);
  const month = url.searchParams.get('year-month') || state.month;
  if (!/^\d{4}-\d{2}$/.test(month)) throw new InsituError('ERR_INVALID_ARGUMENT', `year-month must look like 2026-11, not ${month}`);
  const used = await consumed(ctx, state, month);
  const freeUsed = used < state.freeReadQuota ? used : state.freeReadQuota;
  const body = {
    bucketName: state.bucketName,
    bucketId: state.bucketId.toString(),
    yearMonth: month,
    readQuotaSize: state.chargedReadQuota.toString(),
    spFreeReadQuotaSize: state.freeReadQuota.toString(),
    readConsumedSize: (used - freeUsed).toString(),
    freeConsumedSize: freeUsed.toString(),
    totalConsumedSize: used.toString(),
    remaining: (state.freeReadQuota + state.chargedReadQuota - used).toString(),
    frozen: state.frozen,
    paymentAddress: state.paymentAddress,
  };
  if (String(req.headers.accept ?? '').includes('application/json')) {
    sendJson(res, 200, body);
    return;
  }
  // Greenfield's GetReadQuotaResult, as greenfield-js-sdk's getBucketReadQuota parses it.
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<GetReadQuotaResult version="1.0"><BucketName>${body.bucketName}</BucketName><BucketID>${body.bucketId}</BucketID>`
    + `<ReadQuotaSize>${body.readQuotaSize}</ReadQuotaSize><SPFreeReadQuotaSize>${body.spFreeReadQuotaSize}</SPFreeReadQuotaSize>`
    + `<ReadConsumedSize>${body.readConsumedSize}</ReadConsumedSize><FreeConsumedSize>${body.freeConsumedSize}</FreeConsumedSize>`
    + `<MonthlyFreeQuota>0</MonthlyFreeQuota><MonthlyQuotaConsumedSize>0</MonthlyQuotaConsumedSize></GetReadQuotaResult>`;
  res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}
