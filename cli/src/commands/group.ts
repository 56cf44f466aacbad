// insitu group create|rm|add|remove|leave|ls|members: groups of accounts that policies can name.

import { Command } from 'commander';
import { InsituError, isAddress } from '@insitu/protocol';
import { parseTime } from '@insitu/sdk';
import type { CommandContext } from './context.ts';
import { formatDate, table } from '../format.ts';

export function groupCommand({ client, out }: CommandContext): Command {
  const group = new Command('group').description('groups of accounts that policies can name');
  group.command('create').argument('<name>').option('--extra <text>', 'a note kept with the group').action(async (name: string, o: { extra?: string }) => {
    const c = await client();
    const tx = await c.groups.create(name, o.extra ? { extra: o.extra } : {});
    out().result({ ...tx, groupId: tx.groupId }, `created group ${name} (id ${tx.groupId}); name it in policies as group:${tx.groupId}`);
  });
  group.command('rm').argument('<name>').description('delete one of your groups (its policies go with it)').action(async (name: string) => {
    const c = await client();
    out().result(await c.groups.delete(name), `deleted group ${name}`);
  });
  group.command('add').argument('<name>').argument('<addresses...>').option('--until <date>', 'membership ends then (YYYY-MM-DD or ISO date-time)')
    .description('add members to one of your groups').action(async (name: string, addresses: string[], o: { until?: string }) => {
      for (const a of addresses) if (!isAddress(a)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${a}" is not an account address`);
      const expiresAt = o.until ? parseTime(o.until) : undefined;
      const c = await client();
      const tx = await c.groups.add(name, addresses.map((member) => ({ member: member as `0x${string}`, ...(expiresAt ? { expiresAt } : {}) })));
      out().result(tx, `added ${addresses.length} member(s) to ${name}${o.until ? ` until ${o.until}` : ''}`);
    });
  group.command('remove').argument('<name>').argument('<addresses...>').description('remove members from one of your groups').action(async (name: string, addresses: string[]) => {
    const c = await client();
    out().result(await c.groups.remove(name, addresses as `0x${string}`[]), `removed ${addresses.length} member(s) from ${name}`);
  });
  group.command('leave').argument('<owner>', 'the group owner\'s address').argument('<name>').description('leave a group you are a member of').action(async (owner: string, name: string) => {
    const c = await client();
    out().result(await c.groups.leave(owner as `0x${string}`, name), `left ${name}`);
  });
  group.command('ls').option('--member', 'the groups you belong to, not the ones you own').action(async (o: { member?: boolean }) => {
    const c = await client();
    const list = await c.groups.list(o.member ? { member: c.address } : { owner: c.address });
    out().result(list, list.length ? table(['ID', 'NAME', 'MEMBERS', 'NOTE'], list.map((g) => [g.id, g.name, g.members.length, g.extra ?? ''])) : '(no groups)');
  });
  group.command('members').argument('<name>').description('the members of one of your groups').action(async (name: string) => {
    const c = await client();
    const g = (await c.groups.list({ owner: c.address })).find((x) => x.name === name);
    if (!g) throw new InsituError('ERR_NOT_FOUND', `you own no group ${name}`);
    out().result(g.members, g.members.length ? table(['MEMBER', 'UNTIL'], g.members.map((m) => [m.member, m.expiresAt ? formatDate(m.expiresAt) : '-'])) : '(no members)');
  });
  return group;
}
