// Paying for storage: stream records, payment accounts, and a bucket's monthly read quota.

import { InsituError } from '@insitu/protocol';
import type { PaymentView, TxResult } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { readQuota as fetchReadQuota, type ReadQuota } from '../../sp/index.ts';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export type { ReadQuota };

/** A bucket's read quota this month (or `month`, YYYY-MM), as its primary counts it. */
export async function bucketQuota(ctx: ClientContext, privateKey: string, bucket: string, opts: CallOptions & { month?: string } = {}): Promise<ReadQuota> {
  const info = await ctx.chain.headBucket(bucket, sig(opts));
  const primary = await ctx.provider(info.primarySpId);
  return fetchReadQuota({ endpoint: primary.endpoint, bucket, privateKey, ...(opts.month ? { month: opts.month } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
}

/** Sets the bytes per month the bucket buys on top of the provider's free quota (0 stops buying). */
export async function buyQuota(ctx: ClientContext, bucket: string, bytesPerMonth: bigint, opts: CallOptions = {}): Promise<TxResult> {
  if (bytesPerMonth < 0n) throw new InsituError('ERR_INVALID_ARGUMENT', 'read quota cannot be negative');
  return ctx.chain.updateBucket(bucket, { chargedReadQuota: bytesPerMonth }, sig(opts));
}

export async function paymentView(ctx: ClientContext, address: Hex, opts: CallOptions = {}): Promise<PaymentView> {
  return ctx.chain.paymentView(address, sig(opts));
}
