// Allows an account some actions on a bucket or one object, optionally until a time.

import type { Action, TxResult } from '../../chain/types.ts';
import type { Hex } from '../../crypto/keys.ts';
import { InsituError } from '../../errors.ts';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

/** The policy resource naming one job module (project extension to Greenfield's GRNs). */
export function moduleResource(hash: string): string {
  const h = hash.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{64}$/.test(h)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${hash}" is not a module hash (64 hex digits of SHA-256)`);
  return `grn:insitu:module::${h}`;
}

export interface PolicyTarget {
  bucket: string;
  object?: string;
}

export interface GrantOptions extends CallOptions {
  /** When the grant stops applying (milliseconds since the epoch, as Date.getTime()). */
  expiresAt?: number;
  /**
   * Job modules (SHA-256 hex) the grant is limited to: with any listed, the statement lets the
   * grantee run only those modules over the data (compute-to-data with approved code).
   */
  modules?: string[];
}

export async function grantPolicy(ctx: ClientContext, target: PolicyTarget, grantee: Hex, actions: Action[], opts: GrantOptions = {}): Promise<TxResult> {
  return ctx.chain.putPolicy({
    principal: { type: 'account', address: grantee },
    bucket: target.bucket,
    ...(target.object ? { object: target.object } : {}),
    statements: [{
      effect: 'allow', actions,
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
      ...(opts.modules?.length ? { resources: opts.modules.map(moduleResource) } : {}),
    }],
  }, sig(opts));
}
