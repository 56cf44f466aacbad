// Groups and policies with Greenfield's evaluation order, through the chain and enforced by the
// nodes: an account's own policy decides when it says anything; otherwise the policies of the
// groups it is an unexpired member of apply — a deny from any of them wins.

import test from 'ava';
import type { InsituClient } from '@insitu/sdk';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
let alice: InsituClient;
let bob: InsituClient;
let carol: InsituClient;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 3 });
  [alice, bob, carol] = (await Promise.all([0, 1, 2].map((i) => net.client(i)))) as [InsituClient, InsituClient, InsituClient];
  await alice.buckets.create('team');
  for (const name of ['docs/a.txt', 'docs/secret.txt', 'other/b.txt']) await alice.objects.put('team', name, Buffer.from(`${name}\n`));
});
test.after.always(async () => {
  await net?.stop();
});

const read = async (c: InsituClient, name: string): Promise<string> => {
  try {
    const parts: Uint8Array[] = [];
    for await (const chunk of c.objects.get('team', name)) parts.push(chunk);
    return Buffer.concat(parts).toString().trim();
  } catch (e) {
    return (e as { code: string }).code;
  }
};
const DENIED = 'ERR_PERMISSION_DENIED';

test.serial('group policies apply to unexpired members; deny wins; an account\'s own policy comes first; leaving and deleting take effect', async (t) => {
  const { groupId: readers } = await alice.chain.createGroup('readers', { extra: 'people who read docs' });
  const { groupId: blocked } = await alice.chain.createGroup('blocked');
  await alice.chain.updateGroupMembers('readers', { add: [{ member: bob.address }, { member: carol.address, expiresAt: Date.now() + 3600_000 }] });
  await alice.chain.updateGroupMembers('blocked', { add: [{ member: carol.address }] });
  await alice.policies.put({ bucket: 'team' }, { type: 'group', groupId: readers }, ['allow get,list on docs/*']);
  await alice.policies.put({ bucket: 'team' }, { type: 'group', groupId: blocked }, ['deny get on docs/secret*']);

  const table: [string, InsituClient, string, string][] = [
    ['a member reads what the group may', bob, 'docs/a.txt', 'docs/a.txt'],
    ['not beyond the names', bob, 'other/b.txt', DENIED],
    ['a member of both: the group allow', carol, 'docs/a.txt', 'docs/a.txt'],
    ['a member of both: the group deny wins', carol, 'docs/secret.txt', DENIED],
    ['a member of one group only', bob, 'docs/secret.txt', 'docs/secret.txt'],
  ];
  for (const [why, who, name, want] of table) t.is(await read(who, name), want, why);

  // On one resource the account's own policy decides first: an allow for carol herself on the
  // bucket beats her group's deny there. Across resources a deny wins: the bucket's group deny
  // still beats an allow on the object (Greenfield checks the bucket, then the object).
  await alice.policies.put({ bucket: 'team', object: 'docs/secret.txt' }, { type: 'account', address: carol.address }, ['allow get']);
  t.is(await read(carol, 'docs/secret.txt'), DENIED, 'the bucket-level deny wins over an object-level allow');
  await alice.policies.put({ bucket: 'team' }, { type: 'account', address: carol.address }, ['allow get on docs/secret*']);
  t.is(await read(carol, 'docs/secret.txt'), 'docs/secret.txt', 'own policy before group policies on the same resource');
  await alice.policies.remove({ bucket: 'team' }, { type: 'account', address: carol.address });
  t.is(await read(carol, 'docs/secret.txt'), DENIED);

  // Membership expires by the chain's clock (block time): the development clock moves past it.
  t.is(await read(carol, 'docs/a.txt'), 'docs/a.txt', 'still a member before the expiry');
  await alice.chain.advanceTime(2 * 3600);
  t.is(await read(carol, 'docs/a.txt'), DENIED, 'an expired member gets nothing from the group');

  // Leaving and deleting.
  t.deepEqual((await bob.chain.listGroups({ member: bob.address })).map((g) => g.name), ['readers']);
  await bob.chain.leaveGroup(alice.address, 'readers');
  t.is(await read(bob, 'docs/a.txt'), DENIED, 'left the group');
  await alice.chain.deleteGroup('blocked');
  t.deepEqual((await alice.chain.listGroups({ owner: alice.address })).map((g) => g.id), [readers]);
  t.false((await alice.policies.list({ bucket: 'team' })).some((p) => p.principal.type === 'group' && p.principal.groupId === blocked), 'its policies went with it');

  // Bad input.
  const code = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as { code?: string }).code;
  t.is(await code(alice.chain.createGroup('readers')), 'ERR_INVALID_ARGUMENT', 'names are unique per owner');
  t.is(await code(alice.chain.createGroup('x')), 'ERR_INVALID_NAME');
  t.is(await code(bob.chain.updateGroupMembers('readers', { add: [{ member: bob.address }] })), 'ERR_NOT_FOUND', 'bob owns no such group');
  t.is(await code(alice.policies.put({ bucket: 'team' }, { type: 'group', groupId: 999n }, ['allow get'])), 'ERR_NOT_FOUND');
  t.is(await code(bob.chain.leaveGroup(alice.address, 'readers')), 'ERR_NOT_FOUND', 'not a member any more');
});
