// Creates a bucket, private unless asked otherwise, on a chosen or the chain's default primary.

import type { BucketInfo, Visibility } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { validateBucketName } from '@insitu/protocol';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import { forgetPrimary } from './putObject.ts';

export interface CreateBucketOptions extends CallOptions {
  /** Default: private. */
  visibility?: Visibility;
  /** Operator address of the primary storage provider. */
  primarySp?: Hex;
  /** Who pays: the owner (default) or one of its payment accounts. */
  paymentAddress?: Hex;
  /** Read quota bought per month, bytes, on top of the provider's free quota. */
  chargedReadQuota?: bigint;
}

export async function createBucket(ctx: ClientContext, name: string, opts: CreateBucketOptions = {}): Promise<BucketInfo> {
  validateBucketName(name);
  const r = await ctx.chain.createBucket({ name, visibility: opts.visibility ?? 'private', ...(opts.primarySp ? { primarySp: opts.primarySp } : {}),
    ...(opts.paymentAddress ? { paymentAddress: opts.paymentAddress } : {}), ...(opts.chargedReadQuota !== undefined ? { chargedReadQuota: opts.chargedReadQuota } : {}) }, sig(opts));
  // A name used before may have had another primary.
  forgetPrimary(ctx, name);
  return r.bucket;
}
