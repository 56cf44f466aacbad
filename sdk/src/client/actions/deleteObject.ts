// Deletes a sealed object; its pieces are collected by the nodes that hold them.

import type { TxResult } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function deleteObject(ctx: ClientContext, bucket: string, name: string, opts: CallOptions = {}): Promise<TxResult> {
  return ctx.chain.deleteObject(bucket, name, sig(opts));
}
