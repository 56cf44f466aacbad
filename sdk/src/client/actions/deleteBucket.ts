// Deletes an empty bucket.

import type { TxResult } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function deleteBucket(ctx: ClientContext, name: string, opts: CallOptions = {}): Promise<TxResult> {
  return ctx.chain.deleteBucket(name, sig(opts));
}
