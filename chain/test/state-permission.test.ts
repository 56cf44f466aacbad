import test from 'ava';
import { randomBytes } from 'node:crypto';
import { setup, createBucket, createObject, seal, type Setup } from './state/fixtures.ts';

const A = { UPDATE_BUCKET_INFO: 1, DELETE_BUCKET: 2, CREATE_OBJECT: 3, DELETE_OBJECT: 4, COPY_OBJECT: 5, GET_OBJECT: 6, EXECUTE_OBJECT: 7, LIST_OBJECT: 8, ALL: 99 } as const;
const ALLOW = 1;
const DENY = 2;
const ACCOUNT = 1;

const verify = async (s: Setup, who: string | null, bucket: string, object: string | null, action: number): Promise<number> =>
  (await s.app.query('/greenfield.storage.Query/VerifyPermission', { operator: who ?? '', bucketName: bucket, objectName: object ?? '', actionType: action })).effect as number;

const putPolicy = (s: Setup, owner: { address: `0x${string}` }, principal: string, resource: string, statements: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  s.send(owner, '/greenfield.storage.MsgPutPolicy', { operator: owner.address, principal: { type: ACCOUNT, value: principal }, resource, statements, ...extra });

test('VerifyPermission follows visibility, ownership and policies in Greenfield order', async (t) => {
  const s = await setup(t);
  const [alice, bob, carol] = s.accounts;
  const [a, b, c] = [alice!.address, bob!.address, carol!.address];
  await createBucket(s, alice!, 'priv', { visibility: 2 });
  await createBucket(s, alice!, 'pub', { visibility: 1 });
  for (const [bucket, name, visibility] of [['priv', 'inherit', 3], ['priv', 'open', 1], ['pub', 'inherit', 3], ['pub', 'closed', 2], ['priv', 'pub/a', 0], ['priv', 'secret', 0]] as const) {
    const r = await createObject(s, alice!, bucket, name, randomBytes(16), { visibility });
    t.is(r.result.code, 0, r.result.log);
  }
  // Bob may read everything under pub/ in the private bucket, and get/list anything.
  t.is((await putPolicy(s, alice!, b, 'grn:b::priv', [
    { effect: 1, actions: [A.GET_OBJECT], resources: ['grn:o::priv/pub/*'] },
    { effect: 1, actions: [A.LIST_OBJECT], resources: [] },
  ])).result.code, 0);
  // Carol may do anything in the private bucket except touch 'secret'.
  t.is((await putPolicy(s, alice!, c, 'grn:b::priv', [{ effect: 1, actions: [A.ALL], resources: [] }])).result.code, 0);
  t.is((await putPolicy(s, alice!, c, 'grn:o::priv/secret', [{ effect: 2, actions: [A.GET_OBJECT, A.DELETE_OBJECT], resources: [] }])).result.code, 0);
  // Bob is denied everything in the public bucket by a bucket policy, but an object policy allows 'closed'.
  t.is((await putPolicy(s, alice!, b, 'grn:b::pub', [{ effect: 2, actions: [A.DELETE_OBJECT, A.GET_OBJECT], resources: [] }])).result.code, 0);
  t.is((await putPolicy(s, alice!, b, 'grn:o::pub/closed', [{ effect: 1, actions: [A.GET_OBJECT, A.DELETE_OBJECT], resources: [] }])).result.code, 0);

  const stranger = s.providers[5]!.address;
  const table: [string, string | null, string, string | null, number, number][] = [
    // who, caller, bucket, object, action, expected
    ['owner gets private', a, 'priv', 'secret', A.GET_OBJECT, ALLOW],
    ['owner deletes', a, 'priv', 'secret', A.DELETE_OBJECT, ALLOW],
    ['owner updates bucket', a, 'priv', null, A.UPDATE_BUCKET_INFO, ALLOW],
    ['anonymous, private', null, 'priv', 'secret', A.GET_OBJECT, DENY],
    ['anonymous, inherited private', null, 'priv', 'inherit', A.GET_OBJECT, DENY],
    ['anonymous, public object in private bucket', null, 'priv', 'open', A.GET_OBJECT, ALLOW],
    ['anonymous, public object, execute', null, 'priv', 'open', A.EXECUTE_OBJECT, ALLOW],
    ['anonymous, public object, copy', null, 'priv', 'open', A.COPY_OBJECT, ALLOW],
    ['anonymous, public object, delete', null, 'priv', 'open', A.DELETE_OBJECT, DENY],
    ['anonymous, public bucket, inherited', null, 'pub', 'inherit', A.GET_OBJECT, ALLOW],
    ['anonymous, public bucket, list', null, 'pub', null, A.LIST_OBJECT, ALLOW],
    ['anonymous, public bucket, create', null, 'pub', null, A.CREATE_OBJECT, DENY],
    ['anonymous, private object in public bucket', null, 'pub', 'closed', A.GET_OBJECT, DENY],
    ['an account without policies, private object', stranger, 'pub', 'closed', A.GET_OBJECT, DENY],
    ['bob, resource wildcard match', b, 'priv', 'pub/a', A.GET_OBJECT, ALLOW],
    ['bob, resource wildcard miss', b, 'priv', 'secret', A.GET_OBJECT, DENY],
    ['bob, unlisted action', b, 'priv', 'pub/a', A.DELETE_OBJECT, DENY],
    ['bob, list', b, 'priv', null, A.LIST_OBJECT, ALLOW],
    ['carol, all actions', c, 'priv', 'inherit', A.DELETE_OBJECT, ALLOW],
    ['carol, all actions on bucket', c, 'priv', null, A.DELETE_BUCKET, ALLOW],
    ['carol, object deny beats bucket allow', c, 'priv', 'secret', A.GET_OBJECT, DENY],
    ['carol, object deny is per action', c, 'priv', 'secret', A.EXECUTE_OBJECT, ALLOW],
    ['bob, bucket deny beats object allow', b, 'pub', 'closed', A.GET_OBJECT, DENY],
    ['bob, public read is checked first', b, 'pub', 'inherit', A.GET_OBJECT, ALLOW],
  ];
  for (const [what, who, bucket, object, action, expected] of table) {
    t.is(await verify(s, who, bucket, object, action), expected, what);
  }
});

test('expired statements and policies grant nothing', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  await createBucket(s, alice!, 'temp');
  await createObject(s, alice!, 'temp', 'f', randomBytes(8));
  const inSeconds = (d: number) => ({ seconds: String(Math.floor(s.clock.now / 1000) + d), nanos: 0 });
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:b::temp', [
    { effect: 1, actions: [A.GET_OBJECT], resources: [], expirationTime: inSeconds(60) },
    { effect: 1, actions: [A.LIST_OBJECT], resources: [] },
  ])).result.code, 0);
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:o::temp/f', [{ effect: 1, actions: [A.DELETE_OBJECT], resources: [] }], { expirationTime: inSeconds(600) })).result.code, 0);
  t.is(await verify(s, bob!.address, 'temp', 'f', A.GET_OBJECT), ALLOW);
  t.is(await verify(s, bob!.address, 'temp', 'f', A.DELETE_OBJECT), ALLOW);
  s.clock.now += 120_000;
  t.is(await verify(s, bob!.address, 'temp', 'f', A.GET_OBJECT), DENY, 'the statement expired');
  t.is(await verify(s, bob!.address, 'temp', null, A.LIST_OBJECT), ALLOW, 'the other statement did not');
  t.is(await verify(s, bob!.address, 'temp', 'f', A.DELETE_OBJECT), ALLOW);
  s.clock.now += 600_000;
  t.is(await verify(s, bob!.address, 'temp', 'f', A.DELETE_OBJECT), DENY, 'the whole policy expired');
  const r = await s.send(bob!, '/greenfield.storage.MsgDeleteObject', { operator: bob!.address, bucketName: 'temp', objectName: 'f' });
  t.is(r.result.errorCode, 'ERR_PERMISSION_DENIED', 'messages check the same rules');
});

test('policies are written by the owner only, can be read back and deleted, and go with their object', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  await createBucket(s, alice!, 'pol');
  await createObject(s, alice!, 'pol', 'o', randomBytes(8));
  t.is((await seal(s, 'pol', 'o')).result.code, 0);
  t.is((await putPolicy(s, bob!, bob!.address, 'grn:b::pol', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }])).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:b::nope', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }])).result.errorCode, 'ERR_BUCKET_NOT_FOUND');
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:o::pol/missing', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }])).result.errorCode, 'ERR_OBJECT_NOT_FOUND');
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:x::pol', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }])).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:b::pol', [])).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await putPolicy(s, alice!, bob!.address, 'grn:b::pol', [{ effect: 1, actions: [6], resources: ['a', 'b', 'c', 'd', 'e', 'f'] }])).result.errorCode, 'ERR_INVALID_ARGUMENT');
  const group = await s.send(alice!, '/greenfield.storage.MsgPutPolicy', { operator: alice!.address, principal: { type: 2, value: '1' }, resource: 'grn:b::pol', statements: [{ effect: 1, actions: [6], resources: [] }] });
  t.is(group.result.errorCode, 'ERR_NOT_FOUND', 'a group principal must name an existing group');

  const put = await putPolicy(s, alice!, bob!.address, 'grn:o::pol/o', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }]);
  t.is(put.result.code, 0, put.result.log);
  const policyId = (put.result.responses[0]!.value as { policyId: string }).policyId;
  const forAccount = await s.app.query('/greenfield.storage.Query/QueryPolicyForAccount', { resource: 'grn:o::pol/o', principalAddress: bob!.address });
  t.is((forAccount.policy as { id: string }).id, policyId);
  t.deepEqual((forAccount.policy as { statements: { actions: number[] }[] }).statements[0]!.actions, [A.GET_OBJECT]);
  const byId = await s.app.query('/greenfield.storage.Query/QueryPolicyById', { policyId });
  t.is((byId.policy as { resourceType: number }).resourceType, 2);
  // Putting again replaces the statements and keeps the id.
  const again = await putPolicy(s, alice!, bob!.address, 'grn:o::pol/o', [{ effect: 1, actions: [A.GET_OBJECT, A.EXECUTE_OBJECT], resources: [] }]);
  t.is((again.result.responses[0]!.value as { policyId: string }).policyId, policyId);
  t.is(await verify(s, bob!.address, 'pol', 'o', A.EXECUTE_OBJECT), ALLOW);

  const del = (resource: string) => s.send(alice!, '/greenfield.storage.MsgDeletePolicy', { operator: alice!.address, principal: { type: ACCOUNT, value: bob!.address }, resource });
  t.is((await del('grn:b::pol')).result.errorCode, 'ERR_NOT_FOUND');
  t.is((await del('grn:o::pol/o')).result.code, 0);
  t.is(await verify(s, bob!.address, 'pol', 'o', A.GET_OBJECT), DENY);
  await t.throwsAsync(s.app.query('/greenfield.storage.Query/QueryPolicyById', { policyId }), { message: /no policy/ });

  // An object's policies go when it is deleted; a new object of that name starts with none.
  const p2 = await putPolicy(s, alice!, bob!.address, 'grn:o::pol/o', [{ effect: 1, actions: [A.GET_OBJECT], resources: [] }]);
  const id2 = (p2.result.responses[0]!.value as { policyId: string }).policyId;
  await s.send(alice!, '/greenfield.storage.MsgDeleteObject', { operator: alice!.address, bucketName: 'pol', objectName: 'o' });
  await createObject(s, alice!, 'pol', 'o', randomBytes(8));
  t.is(await verify(s, bob!.address, 'pol', 'o', A.GET_OBJECT), DENY);
  await t.throwsAsync(s.app.query('/greenfield.storage.Query/QueryPolicyById', { policyId: id2 }), { message: /no policy/ });
  t.deepEqual((await s.app.events(0n, 100)).filter((e) => e.type.startsWith('policy-')).map((e) => e.type), ['policy-put', 'policy-put', 'policy-deleted', 'policy-put']);
});
