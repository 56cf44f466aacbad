// Removes an account's policy on a bucket or one object.

import type { TxResult } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import type { PolicyTarget } from './grantPolicy.ts';

export function revokePolicy(ctx: ClientContext, target: PolicyTarget, grantee: Hex, opts: CallOptions = {}): Promise<TxResult> {
  return ctx.chain.deletePolicy({ principal: { type: 'account', address: grantee }, bucket: target.bucket, ...(target.object ? { object: target.object } : {}) }, sig(opts));
}
