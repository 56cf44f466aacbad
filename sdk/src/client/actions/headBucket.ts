// One bucket's record on chain.

import type { BucketInfo } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function headBucket(ctx: ClientContext, name: string, opts: CallOptions = {}): Promise<BucketInfo> {
  return ctx.chain.headBucket(name, sig(opts));
}
