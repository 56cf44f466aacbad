// insitu policy grant|revoke|put|rm|ls: who may do what on a bucket or object.

import { Command } from 'commander';
import { InsituError, isAddress } from '@insitu/protocol';
import type { Principal } from '@insitu/protocol/chain';
import { parseStatement, parseTime, formatStatement } from '@insitu/sdk';
import type { CommandContext } from './context.ts';
import { splitTarget } from '../parse.ts';

export function policyCommand({ io, client, out }: CommandContext): Command {
  const policy = new Command('policy').description('grant or revoke access to a bucket or object');
  /** An account address, or group:<id>. */
  const principalOf = (who: string): Principal => {
    const g = /^group:(\d+)$/.exec(who);
    if (g) return { type: 'group', groupId: BigInt(g[1]!) };
    if (!isAddress(who)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${who}" is neither an account address nor group:<id>`);
    return { type: 'account', address: who as `0x${string}` };
  };
  const actionsOf = (text: string) => text.split(',').map((a) => a.trim()).filter(Boolean).map((a) => {
    const map: Record<string, string> = { get: 'get-object', put: 'create-object', create: 'create-object', delete: 'delete-object', list: 'list-object', update: 'update-object', copy: 'copy-object', execute: 'execute-object', all: 'all' };
    const action = map[a] ?? a;
    if (!['get-object', 'create-object', 'delete-object', 'list-object', 'update-object', 'copy-object', 'execute-object', 'all', 'update-bucket', 'delete-bucket'].includes(action)) {
      throw new InsituError('ERR_INVALID_ARGUMENT', `unknown action "${a}" (use get, put, delete, list, update, copy, execute, all)`);
    }
    return action as 'get-object';
  });
  policy.command('grant').argument('<target>', '<bucket>[/<name>]').argument('<address>').requiredOption('--actions <list>', 'comma-separated: get,put,delete,list,update,copy,execute,all')
    .option('--modules <hashes>', 'comma-separated SHA-256 of the only job modules the grantee may run (with execute)')
    .option('--max-output <bytes>', 'output policy (with execute): the most output one job may return')
    .option('--max-output-ratio <fraction>', 'output policy (with execute): the most output per byte of input, e.g. 0.01')
    .action(async (target: string, address: string, o: { actions: string; modules?: string; maxOutput?: string; maxOutputRatio?: string }) => {
      const t = splitTarget(target, false);
      const c = await client();
      const modules = o.modules ? o.modules.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
      if (o.maxOutput !== undefined && !/^\d+$/.test(o.maxOutput)) throw new InsituError('ERR_INVALID_ARGUMENT', `--max-output takes a number of bytes, not "${o.maxOutput}"`);
      const ratio = o.maxOutputRatio === undefined ? undefined : Number(o.maxOutputRatio);
      if (ratio !== undefined && !(ratio >= 0)) throw new InsituError('ERR_INVALID_ARGUMENT', `--max-output-ratio takes a non-negative number, not "${o.maxOutputRatio}"`);
      const tx = await c.policies.grant(t, address as `0x${string}`, actionsOf(o.actions), {
        ...(modules ? { modules } : {}), ...(o.maxOutput !== undefined ? { maxOutputBytes: BigInt(o.maxOutput) } : {}), ...(ratio !== undefined ? { maxOutputRatio: ratio } : {}),
      });
      for (const w of tx.warnings) io.stderr.write(`warning: ${w}\n`);
      out().result(tx, `granted ${o.actions} on ${target} to ${address}`);
    });
  policy.command('revoke').argument('<target>', '<bucket>[/<name>]').argument('<address>')
    .action(async (target: string, address: string) => {
      const t = splitTarget(target, false);
      const c = await client();
      const tx = await c.policies.revoke(t, address as `0x${string}`);
      out().result(tx, `revoked ${address}'s access to ${target}`);
    });
  policy.command('put').argument('<target>', '<bucket>[/<name>]').argument('<principal>', 'the account address the policy is for, or group:<id>')
    .argument('<statements...>', 'each: "allow|deny <actions> [on <names>] [until <date>]", e.g. "allow get,list on reports/*" "deny delete"')
    .option('--expires <date>', 'when the whole policy ends (YYYY-MM-DD or ISO date-time)')
    .description('set the whole policy of an account or a group on a bucket or object (replaces the one it had)')
    .action(async (target: string, who: string, statements: string[], o: { expires?: string }) => {
      const t = splitTarget(target, false);
      const principal = principalOf(who);
      const parsed = statements.map((text) => parseStatement(text, t.bucket));
      const c = await client();
      const tx = await c.policies.put(t, principal, parsed, o.expires ? { expiresAt: parseTime(o.expires) } : {});
      out().result(tx, `policy ${tx.policyId} on ${target} for ${who}:\n${parsed.map((x) => `  ${formatStatement(x)}`).join('\n')}`);
    });
  policy.command('rm').argument('<target>', '<bucket>[/<name>]').argument('<principal>', 'account address or group:<id>').description('remove the policy of an account or a group')
    .action(async (target: string, who: string) => {
      const t = splitTarget(target, false);
      const c = await client();
      const tx = await c.policies.remove(t, principalOf(who));
      out().result(tx, `removed ${who}'s policy on ${target}`);
    });
  policy.command('ls').argument('<target>', '<bucket>[/<name>]').action(async (target: string) => {
    const t = splitTarget(target, false);
    const c = await client();
    const list = await c.policies.list(t);
    out().result(list, list.length ? list.map((p) => `${p.principal.type === 'account' ? p.principal.address : `group ${p.principal.groupId}`}${p.expiresAt ? ` (until ${new Date(p.expiresAt).toISOString()})` : ''}\n${p.statements.map((x) => `  ${formatStatement(x)}`).join('\n')}`).join('\n') : '(no policies)');
  });
  return policy;
}
