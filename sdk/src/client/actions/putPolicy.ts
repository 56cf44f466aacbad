// Full policies: a principal, statements with effect, actions, resources and expiry, and the
// policy's own expiry — plus a readable statement syntax for people:
//
//   allow get,list                      on the policy's resource
//   allow get on reports/*,logs/2026-*  object names (wildcards) inside the bucket
//   deny delete until 2027-01-01        a statement that ends
//   allow execute on module:<sha256>    execute limited to one job module
//
// Actions: get, put (create), delete, list, update, copy, execute, all.

import { InsituError } from '@insitu/protocol';
import type { Action, Principal, Statement, TxResult } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import { moduleResource, type PolicyTarget } from './grantPolicy.ts';

const ACTIONS: Record<string, Action> = {
  get: 'get-object', put: 'create-object', create: 'create-object', delete: 'delete-object', list: 'list-object',
  update: 'update-object', copy: 'copy-object', execute: 'execute-object', all: 'all',
};

/** Milliseconds since the epoch of an ISO date or date-time; a clear error otherwise. */
export function parseTime(text: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${text}" is not a date (use YYYY-MM-DD or an ISO date-time)`);
  return ms;
}

/** Parses one readable statement; `bucket` turns object-name patterns into resources. */
export function parseStatement(text: string, bucket: string): Statement {
  const m = /^\s*(allow|deny)\s+([a-z,\s-]+?)(?:\s+on\s+(\S+))?(?:\s+until\s+(\S+))?\s*$/i.exec(text);
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `cannot read statement "${text}": write "allow|deny <actions> [on <names>] [until <date>]"`);
  const actions = m[2]!.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean).map((a) => {
    const action = ACTIONS[a];
    if (!action) throw new InsituError('ERR_INVALID_ARGUMENT', `unknown action "${a}" (use ${Object.keys(ACTIONS).join(', ')})`);
    return action;
  });
  const resources = m[3] ? m[3].split(',').filter(Boolean).map((r) => (r.startsWith('module:') ? moduleResource(r.slice(7)) : `grn:o::${bucket}/${r}`)) : [];
  return {
    effect: m[1]!.toLowerCase() === 'deny' ? 'deny' : 'allow',
    actions,
    ...(resources.length ? { resources } : {}),
    ...(m[4] ? { expiresAt: parseTime(m[4]) } : {}),
  };
}

/** The readable form of a statement (what parseStatement reads). */
export function formatStatement(s: Statement): string {
  const names = Object.fromEntries(Object.entries(ACTIONS).filter(([k]) => k !== 'create').map(([k, v]) => [v, k]));
  const on = (s.resources ?? []).map((r) => (r.startsWith('grn:insitu:module::') ? `module:${r.slice(19)}` : r.replace(/^grn:o::[^/]+\//, ''))).join(',');
  return `${s.effect} ${s.actions.map((a) => names[a] ?? a).join(',')}${on ? ` on ${on}` : ''}${s.expiresAt ? ` until ${new Date(s.expiresAt).toISOString()}` : ''}`;
}

export interface PutPolicyOptions extends CallOptions {
  /** When the whole policy ends (ms since the epoch). */
  expiresAt?: number;
}

export async function putPolicy(ctx: ClientContext, target: PolicyTarget, principal: Principal, statements: (Statement | string)[], opts: PutPolicyOptions = {}): Promise<TxResult & { policyId: bigint }> {
  if (statements.length === 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'a policy needs at least one statement');
  const parsed = statements.map((s) => (typeof s === 'string' ? parseStatement(s, target.bucket) : s));
  return ctx.chain.putPolicy({
    principal, bucket: target.bucket, ...(target.object ? { object: target.object } : {}), statements: parsed,
    ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
  }, sig(opts));
}
