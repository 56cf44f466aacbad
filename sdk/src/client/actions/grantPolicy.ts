// Allows an account some actions on a bucket or one object, optionally until a time.

import type { Action, TxResult } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { InsituError } from '@insitu/protocol';
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
  /** Output policy of an execute grant: the most output one job over the data may return (bytes). */
  maxOutputBytes?: bigint | number;
  /** Output policy: the most output per byte of input (e.g. 0.01 = 1 %), in millionths. */
  maxOutputRatio?: number;
}

/** What an execute grant without listed modules lets a grantee that may not download do. */
export const ANY_MODULE_WARNING = 'this execute grant lists no modules: the grantee may run any module it likes, including one that copies the data out in its output. List the approved modules (and an output cap) to keep the data in place.';

/** The policy resources of an output policy (project extension to Greenfield's GRNs). */
export function outputPolicyResources(o: Pick<GrantOptions, 'maxOutputBytes' | 'maxOutputRatio'>): string[] {
  const out: string[] = [];
  if (o.maxOutputBytes !== undefined) {
    const v = BigInt(o.maxOutputBytes);
    if (v < 0n) throw new InsituError('ERR_INVALID_ARGUMENT', 'maxOutputBytes must not be negative');
    out.push(`grn:insitu:output-max::${v}`);
  }
  if (o.maxOutputRatio !== undefined) {
    if (!(o.maxOutputRatio >= 0 && o.maxOutputRatio <= 1e12)) throw new InsituError('ERR_INVALID_ARGUMENT', 'maxOutputRatio must be a non-negative number');
    out.push(`grn:insitu:output-ratio::${Math.floor(o.maxOutputRatio * 1_000_000)}`);
  }
  return out;
}

/**
 * Grants; an execute grant without listed modules to a grantee that may not download the data
 * comes back with a plain warning (`warnings`), since any module can copy the data out.
 */
export async function grantPolicy(ctx: ClientContext, target: PolicyTarget, grantee: Hex, actions: Action[], opts: GrantOptions = {}): Promise<TxResult & { warnings: string[] }> {
  const warnings: string[] = [];
  const executes = actions.includes('execute-object' as Action) || actions.includes('all' as Action);
  if (executes && !opts.modules?.length && !actions.includes('get-object' as Action) && !actions.includes('all' as Action)) {
    const mayGet = await ctx.chain.verifyPermission({ bucket: target.bucket, ...(target.object ? { object: target.object } : {}), operator: grantee, action: 'get-object' as Action }, sig(opts))
      .then((e) => e === 'allow').catch(() => false);
    if (!mayGet) warnings.push(ANY_MODULE_WARNING);
  }
  const resources = [...(opts.modules?.length ? opts.modules.map(moduleResource) : []), ...outputPolicyResources(opts)];
  const tx = await ctx.chain.putPolicy({
    principal: { type: 'account', address: grantee },
    bucket: target.bucket,
    ...(target.object ? { object: target.object } : {}),
    statements: [{
      effect: 'allow', actions,
      ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
      ...(resources.length ? { resources } : {}),
    }],
  }, sig(opts));
  return { ...tx, warnings };
}
