// Allows an account some actions on a bucket or one object, optionally until a time.

import type { Action, TxResult } from '../../chain/types.ts';
import type { Hex } from '../../crypto/keys.ts';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface PolicyTarget {
  bucket: string;
  object?: string;
}

export interface GrantOptions extends CallOptions {
  /** Unix seconds after which the grant no longer applies. */
  expiresAt?: number;
}

export function grantPolicy(ctx: ClientContext, target: PolicyTarget, grantee: Hex, actions: Action[], opts: GrantOptions = {}): Promise<TxResult> {
  return ctx.chain.putPolicy({
    principal: { type: 'account', address: grantee },
    bucket: target.bucket,
    ...(target.object ? { object: target.object } : {}),
    statements: [{ effect: 'allow', actions, ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}) }],
  }, sig(opts));
}
