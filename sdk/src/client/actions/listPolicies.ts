// The policies on a bucket or one object.

import type { ChainClient } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import type { PolicyTarget } from './grantPolicy.ts';

export function listPolicies(ctx: ClientContext, target: PolicyTarget, opts: CallOptions = {}): ReturnType<ChainClient['listPolicies']> {
  return ctx.chain.listPolicies(target.bucket, target.object, sig(opts));
}
