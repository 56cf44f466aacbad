// The caller's buckets.

import type { BucketInfo } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function listBuckets(ctx: ClientContext, opts: CallOptions = {}): Promise<BucketInfo[]> {
  return ctx.chain.listBuckets(ctx.chain.address, sig(opts));
}
