// Cancels an object that was created on chain but never sealed (an upload that did not finish),
// so its name can be used again.

import type { TxResult } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function cancelObject(ctx: ClientContext, bucket: string, name: string, opts: CallOptions = {}): Promise<TxResult> {
  return ctx.chain.cancelCreateObject(bucket, name, sig(opts));
}
