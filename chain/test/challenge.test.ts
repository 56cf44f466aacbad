// Storage challenges and stake on the state machine: requested and random challenges decided by a
// majority of the chosen challengers, slashing with the payouts and the sum of holdings, a swap-in
// refused when the successor's data fails its challenge, new providers that cannot force an honest
// one out, and a deposit released only after the unbonding period.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { setup, createBucket, createObject, seal, sumBalances, balanceOf, headObject, type Setup } from './state/fixtures.ts';
import { newKey } from './helpers.ts';
import { generateBlsKey, blsPublicKey, blsProofOfPossession } from '@insitu/protocol';
import { SP_DEPOSIT_POOL } from '../src/state/modules/providers.ts';
import { DEFAULT_ACCOUNTABILITY } from '../src/genesis.ts';
import { rng, testSeed, seededBytes } from '@insitu/test/random';

const SUBMIT = '/greenfield.challenge.MsgSubmit';
const ATTEST = '/greenfield.challenge.MsgAttest';
const MIN_DEPOSIT = 10n ** 19n;
const SLASH_MIN = BigInt(DEFAULT_ACCOUNTABILITY.slashMin);

interface Challenge { id: number; spId: number; challengers: number[]; status: string; redundancyIndex: number; segment: number; slashed: string }

const challenge = async (s: Setup, id: number): Promise<Challenge> => (await s.app.query('/insitu.challenge.Query/Challenge', { id })).challenge as Challenge;
const deposit = async (s: Setup, spId: number): Promise<bigint> => BigInt(((await s.app.query('/greenfield.sp.Query/StorageProvider', { id: spId })).storageProvider as { totalDeposit: string }).totalDeposit);
const attest = (s: Setup, spId: number, id: number, voteResult: number) =>
  s.send(s.providers[spId - 1]!, ATTEST, { submitter: s.providers[spId - 1]!.address, challengeId: id, voteResult });

async function sealedObject(s: Setup, bucket: string, name: string, primary = 1): Promise<void> {
  const b = await createBucket(s, s.accounts[1]!, bucket, { primary });
  if (b.result.code !== 0 && b.result.errorCode !== 'ERR_BUCKET_EXISTS') throw new Error(b.result.log);
  const o = await createObject(s, s.accounts[1]!, bucket, name, randomBytes(3000));
  if (o.result.code !== 0) throw new Error(o.result.log);
  const r = await seal(s, bucket, name);
  if (r.result.code !== 0) throw new Error(r.result.log);
}

test('a requested challenge answered correctly passes: the challengers are paid the fee, nobody is slashed', async (t) => {
  const s = await setup(t);
  const bob = s.accounts[2]!;
  await sealedObject(s, 'chal', 'o');
  const total = await sumBalances(s.app);
  const r = await s.send(bob, SUBMIT, { challenger: bob.address, spOperatorAddress: s.providers[0]!.address, bucketName: 'chal', objectName: 'o', segmentIndex: 0, randomIndex: false });
  t.is(r.result.code, 0, r.result.log);
  const id = Number(r.result.responses[0]!.value.challengeId);
  const c = await challenge(s, id);
  t.deepEqual([c.spId, c.redundancyIndex, c.status, c.challengers.length], [1, -1, 'open', 3]);
  t.false(c.challengers.includes(1), 'a provider never checks itself');
  // A provider the chain did not choose cannot vote; a chosen one votes once.
  const outsider = [2, 3, 4, 5, 6, 7].find((id) => !c.challengers.includes(id))!;
  t.is((await attest(s, outsider, id, 0)).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await attest(s, c.challengers[0]!, id, 1)).result.code, 0);
  t.is((await attest(s, c.challengers[0]!, id, 1)).result.errorCode, 'ERR_INVALID_ARGUMENT', 'once');
  t.is((await attest(s, c.challengers[0]!, id, 7)).result.errorCode, 'ERR_INVALID_ARGUMENT');
  const paid = await Promise.all(c.challengers.map((x) => balanceOf(s.app, s.providers[x - 1]!.address)));
  t.is((await attest(s, c.challengers[1]!, id, 1)).result.code, 0);
  t.is((await challenge(s, id)).status, 'passed', 'two of three decide');
  t.is((await attest(s, c.challengers[2]!, id, 0)).result.errorCode, 'ERR_INVALID_ARGUMENT', 'decided');
  t.is(await deposit(s, 1), MIN_DEPOSIT);
  const after = await Promise.all(c.challengers.map((x) => balanceOf(s.app, s.providers[x - 1]!.address)));
  t.true(after[0]! > paid[0]! - 10n ** 15n && after[0]! + after[1]! > paid[0]! + paid[1]! - 2n * 10n ** 15n);
  t.is(await sumBalances(s.app), total);
  // Only objects a provider holds are challenged.
  t.is((await s.send(bob, SUBMIT, { challenger: bob.address, spOperatorAddress: s.providers[0]!.address, bucketName: 'chal', objectName: 'nope', segmentIndex: 0 })).result.errorCode, 'ERR_OBJECT_NOT_FOUND');
  t.is((await s.send(bob, SUBMIT, { challenger: bob.address, spOperatorAddress: s.providers[0]!.address, bucketName: 'chal', objectName: 'o', segmentIndex: 5 })).result.errorCode, 'ERR_INVALID_RANGE');
});

test('a failed challenge slashes the deposit, pays the challengers and the requester, and marks the piece', async (t) => {
  const s = await setup(t);
  const bob = s.accounts[2]!;
  await sealedObject(s, 'chal', 'o');
  const head = await headObject(s, 'chal', 'o');
  const secondary = head.globalVirtualGroup!.secondarySpIds[2]!;
  const total = await sumBalances(s.app);
  const bobBefore = await balanceOf(s.app, bob.address);
  const r = await s.send(bob, SUBMIT, { challenger: bob.address, spOperatorAddress: s.providers[secondary - 1]!.address, bucketName: 'chal', objectName: 'o', segmentIndex: 0 });
  t.is(r.result.code, 0, r.result.log);
  const id = Number(r.result.responses[0]!.value.challengeId);
  const c = await challenge(s, id);
  t.is(c.redundancyIndex, 2, 'the piece the secondary holds');
  const before = await Promise.all(c.challengers.map((x) => balanceOf(s.app, s.providers[x - 1]!.address)));
  for (const x of c.challengers.slice(0, 2)) t.is((await attest(s, x, id, 0)).result.code, 0);
  const done = await challenge(s, id);
  t.is(done.status, 'failed');
  // A 3000-byte object: one started GiB at 0.0085 BNB, clamped up to the 0.01 BNB minimum.
  t.is(BigInt(done.slashed), SLASH_MIN);
  t.is(await deposit(s, secondary), MIN_DEPOSIT - SLASH_MIN);
  const after = await Promise.all(c.challengers.map((x) => balanceOf(s.app, s.providers[x - 1]!.address)));
  const gasCost = 120_000n * 5_000_000_000n;
  t.is(after[0]! - before[0]! + gasCost, ((SLASH_MIN - SLASH_MIN / 10n) / 2n), 'the voters share nine tenths');
  t.is(after[2], before[2], 'the third did not vote and gets nothing');
  // The requester paid its fee and the gas, got the fee back and a tenth of the slash.
  t.is(await balanceOf(s.app, bob.address), bobBefore - gasCost + SLASH_MIN / 10n);
  const events = await s.app.events(0n, 10_000);
  const failed = events.find((e) => e.type === 'challenge-failed')!;
  t.deepEqual([failed.attributes.sp_id, failed.attributes.redundancy_index], [String(secondary), '2']);
  t.true(events.some((e) => e.type === 'provider-slashed' && e.attributes.sp_id === String(secondary)));
  t.is(await sumBalances(s.app), total, 'slashes move money; none is created or lost');
});

test('the chain issues random challenges each interval from block randomness, and unanswered ones lapse', async (t) => {
  const s = await setup(t, { accountability: { challengeIntervalMs: DEFAULT_ACCOUNTABILITY.challengeIntervalMs } });
  await sealedObject(s, 'chal', 'a');
  await sealedObject(s, 'chal', 'b');
  s.clock.now += DEFAULT_ACCOUNTABILITY.challengeIntervalMs;
  await s.app.tick();
  const issued = (await s.app.events(0n, 10_000)).filter((e) => e.type === 'challenge-issued');
  t.is(issued.length, 1);
  const id = Number(issued[0]!.attributes.challenge_id);
  const c = await challenge(s, id);
  t.is(c.status, 'open');
  t.true(c.redundancyIndex >= -1 && c.redundancyIndex < 6);
  const open = (await s.app.query('/insitu.challenge.Query/Challenges', { challenger: c.challengers[0] })).challenges as Challenge[];
  t.deepEqual(open.map((x) => x.id), [id]);
  s.clock.now += DEFAULT_ACCOUNTABILITY.challengeExpiryMs + 1000;
  await s.app.tick();
  t.is((await challenge(s, id)).status, 'expired');
  t.is((await attest(s, c.challengers[0]!, id, 1)).result.errorCode, 'ERR_INVALID_ARGUMENT');
});

test('a successor without the data cannot complete a swap-in: its challenge fails, it is slashed and the place stays free', async (t) => {
  const s = await setup(t, { providers: 8 });
  const [admin] = s.accounts;
  await sealedObject(s, 'swap', 'o', 3);
  const head = await headObject(s, 'swap', 'o');
  const g = head.globalVirtualGroup!;
  const target = g.secondarySpIds[0]!;
  const successor = [1, 2, 3, 4, 5, 6, 7, 8].find((id) => id !== g.primarySpId && !g.secondarySpIds.includes(id))!;
  const sp = (id: number) => s.providers[id - 1]!;
  t.is((await s.send(admin!, '/greenfield.virtualgroup.MsgStorageProviderForcedExit', { authority: admin!.address, storageProvider: sp(target).address })).result.code, 0);
  t.is((await s.send(sp(successor), '/greenfield.virtualgroup.MsgReserveSwapIn', { storageProvider: sp(successor).address, targetSpId: target, globalVirtualGroupFamilyId: 0, globalVirtualGroupId: g.id })).result.code, 0);
  const done = await s.send(sp(successor), '/greenfield.virtualgroup.MsgCompleteSwapIn', { storageProvider: sp(successor).address, globalVirtualGroupFamilyId: 0, globalVirtualGroupId: g.id });
  t.is(done.result.code, 0, done.result.log);
  t.is(done.result.responses[0]!.value.status, 'verifying');
  const id = Number(done.result.responses[0]!.value.challengeId);
  const c = await challenge(s, id);
  t.deepEqual([c.spId, c.redundancyIndex], [successor, 0]);
  t.false(c.challengers.includes(target));
  const group = async () => (await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroup', { globalVirtualGroupId: g.id })).globalVirtualGroup as { secondarySpIds: number[] };
  t.deepEqual((await group()).secondarySpIds, g.secondarySpIds, 'nothing moves while the challenge is open');
  for (const x of c.challengers.slice(0, 2)) t.is((await attest(s, x, id, 0)).result.code, 0);
  t.deepEqual((await group()).secondarySpIds, g.secondarySpIds, 'a failed challenge completes nothing');
  t.deepEqual((await s.app.query('/insitu.virtualgroup.Query/SwapIns', {})).swapIns, [], 'the reservation is dropped');
  t.true(await deposit(s, successor) < MIN_DEPOSIT, 'the successor is slashed');
  // A successor that passes takes the place.
  t.is((await s.send(sp(successor), '/greenfield.virtualgroup.MsgReserveSwapIn', { storageProvider: sp(successor).address, targetSpId: target, globalVirtualGroupFamilyId: 0, globalVirtualGroupId: g.id })).result.code, 0);
  const again = await s.send(sp(successor), '/greenfield.virtualgroup.MsgCompleteSwapIn', { storageProvider: sp(successor).address, globalVirtualGroupFamilyId: 0, globalVirtualGroupId: g.id });
  const id2 = Number(again.result.responses[0]!.value.challengeId);
  for (const x of (await challenge(s, id2)).challengers.slice(0, 2)) t.is((await attest(s, x, id2, 1)).result.code, 0);
  t.deepEqual((await group()).secondarySpIds, g.secondarySpIds.map((x) => (x === target ? successor : x)));
});

test('new providers that put an honest one into groups of their own cannot force it out', async (t) => {
  const s = await setup(t);
  const [admin] = s.accounts;
  const victim = 1;
  const fakes = Array.from({ length: 7 }, newKey);
  for (const f of fakes) {
    await s.send(admin!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: admin!.address, toAddress: f.address, amount: [{ denom: 'BNB', amount: (2n * MIN_DEPOSIT).toString() }] });
    const bls = generateBlsKey();
    const r = await s.send(f, '/greenfield.sp.MsgCreateStorageProvider', {
      creator: f.address, spAddress: f.address, fundingAddress: f.address, sealAddress: f.address, approvalAddress: f.address, gcAddress: f.address,
      description: { moniker: 'x' }, endpoint: 'http://localhost:9999', deposit: { denom: 'BNB', amount: MIN_DEPOSIT.toString() }, readPrice: '1', storePrice: '1',
      blsKey: Buffer.from(blsPublicKey(bls)).toString('hex'), blsProof: Buffer.from(blsProofOfPossession(bls)).toString('hex'),
    });
    t.is(r.result.code, 0, r.result.log);
  }
  const ids = [8, 9, 10, 11, 12, 13, 14];
  const report = (i: number) => s.send(fakes[i]!, '/insitu.virtualgroup.MsgReportProviderDown', { reporter: fakes[i]!.address, spId: victim });
  // Not admitted: no group with the victim and no vote.
  t.is((await s.send(fakes[0]!, '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', { storageProvider: fakes[0]!.address, familyId: 0, secondarySpIds: [victim, 9, 10, 11, 12, 13], deposit: { denom: 'BNB', amount: '0' } })).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await report(0)).result.errorCode, 'ERR_PERMISSION_DENIED');
  // Even admitted, and in groups of their own with the victim, they vote nothing.
  for (const id of ids) t.is((await s.send(admin!, '/insitu.sp.MsgAdmitStorageProvider', { authority: admin!.address, spId: id })).result.code, 0);
  for (let i = 0; i < 7; i++) {
    const secondaries = [victim, ...ids.filter((x) => x !== ids[i]).slice(0, 5)];
    const r = await s.send(fakes[i]!, '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', { storageProvider: fakes[i]!.address, familyId: 0, secondarySpIds: secondaries, deposit: { denom: 'BNB', amount: '0' } });
    t.is(r.result.code, 0, r.result.log);
  }
  for (let i = 0; i < 7; i++) t.is((await report(i)).result.errorCode, 'ERR_PERMISSION_DENIED');
  const status = async () => ((await s.app.query('/greenfield.sp.Query/StorageProvider', { id: victim })).storageProvider as { status: number }).status;
  t.is(await status(), 0, 'the honest provider stays in service');
  // Its genesis peers still can (a majority of them).
  for (const reporter of [2, 3, 4, 5]) t.is((await s.send(s.providers[reporter - 1]!, '/insitu.virtualgroup.MsgReportProviderDown', { reporter: s.providers[reporter - 1]!.address, spId: victim })).result.code, 0);
  t.is(await status(), 4);
});

test('a provider that left gets its deposit back only after the unbonding period', async (t) => {
  const s = await setup(t, { providers: 8 });
  const leaver = s.providers[7]!;
  const total = await sumBalances(s.app);
  t.is((await s.send(leaver, '/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: leaver.address })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'not exiting');
  t.is((await s.send(leaver, '/greenfield.virtualgroup.MsgStorageProviderExit', { storageProvider: leaver.address })).result.code, 0);
  t.is((await s.send(leaver, '/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: leaver.address })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'still in groups');
  // Successors take each place it held (groups hold no objects: the swaps complete at once).
  const groups = (await s.app.query('/insitu.virtualgroup.Query/ProviderGroups', { spId: 8 })).groups as { id: number; familyId: number; primarySpId: number; secondarySpIds: number[] }[];
  for (const g of groups) {
    const members = [g.primarySpId, ...g.secondarySpIds];
    const taker = [1, 2, 3, 4, 5, 6, 7].find((id) => !members.includes(id))!;
    const sp = s.providers[taker - 1]!;
    const family = g.primarySpId === 8 ? g.familyId : 0;
    const gvg = family ? 0 : g.id;
    t.is((await s.send(sp, '/greenfield.virtualgroup.MsgReserveSwapIn', { storageProvider: sp.address, targetSpId: 8, globalVirtualGroupFamilyId: family, globalVirtualGroupId: gvg })).result.code, 0);
    const r = await s.send(sp, '/greenfield.virtualgroup.MsgCompleteSwapIn', { storageProvider: sp.address, globalVirtualGroupFamilyId: family, globalVirtualGroupId: gvg });
    t.is(r.result.code, 0, r.result.log);
  }
  const funding = await balanceOf(s.app, leaver.address);
  const done = await s.send(leaver, '/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: leaver.address });
  t.is(done.result.code, 0, done.result.log);
  const gas = 120_000n * 5_000_000_000n;
  s.clock.now += DEFAULT_ACCOUNTABILITY.unbondingPeriodMs / 2;
  await s.app.tick();
  t.is(await balanceOf(s.app, leaver.address), funding - gas, 'locked while unbonding');
  s.clock.now += DEFAULT_ACCOUNTABILITY.unbondingPeriodMs;
  await s.app.tick();
  t.is(await balanceOf(s.app, leaver.address), funding - gas + MIN_DEPOSIT);
  t.is(await deposit(s, 8), 0n);
  t.is(await sumBalances(s.app), total);
  t.is(await balanceOf(s.app, SP_DEPOSIT_POOL), 7n * MIN_DEPOSIT);
});

test('money is conserved over random registrations, admissions, deposits, challenges, verdicts, exits, unbonding and time', async (t) => {
  const seed = testSeed('INSITU_STAKE_SEED');
  t.log(`seed ${seed} — replay with INSITU_STAKE_SEED=${seed} npx ava chain/test/challenge.test.ts`);
  const rand = rng(seed);
  const s = await setup(t, { accountability: { challengeIntervalMs: DEFAULT_ACCOUNTABILITY.challengeIntervalMs } });
  const [admin, owner, requester] = s.accounts;
  await createBucket(s, owner!, 'cons');
  const objects: string[] = [];
  const newcomers: { key: ReturnType<typeof newKey>; id?: number; admitted: boolean; exited: boolean }[] = [];
  const total = await sumBalances(s.app);
  const outcomes = new Map<string, number>();
  const note = (what: string, code: string | undefined) => outcomes.set(`${what}:${code ?? 'ok'}`, (outcomes.get(`${what}:${code ?? 'ok'}`) ?? 0) + 1);
  const providers = async () => (await s.app.query('/insitu.sp.Query/Stake', {})).providers as { id: number; deposit: string; operatorAddress: string }[];
  for (let step = 0; step < 120; step++) {
    const op = rand(9);
    if (op === 0 || objects.length === 0) {
      const name = `o${step}`;
      await createObject(s, owner!, 'cons', name, seededBytes(rand, 1 + rand(5000)));
      const r = await seal(s, 'cons', name);
      if (r.result.code === 0) objects.push(name);
      note('object', r.result.errorCode);
    } else if (op === 1) {
      const key = newKey();
      await s.send(admin!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: admin!.address, toAddress: key.address, amount: [{ denom: 'BNB', amount: (3n * MIN_DEPOSIT).toString() }] });
      const bls = generateBlsKey();
      const deposit = rand(4) === 0 ? MIN_DEPOSIT - 1n - BigInt(rand(1000)) : MIN_DEPOSIT + BigInt(rand(1000));
      const r = await s.send(key, '/greenfield.sp.MsgCreateStorageProvider', {
        creator: key.address, spAddress: key.address, fundingAddress: key.address, sealAddress: key.address, approvalAddress: key.address, gcAddress: key.address,
        description: { moniker: 'n' }, endpoint: 'http://localhost:9999', deposit: { denom: 'BNB', amount: deposit.toString() }, readPrice: String(rand(100)), storePrice: String(rand(10_000)),
        blsKey: Buffer.from(blsPublicKey(bls)).toString('hex'), blsProof: Buffer.from(blsProofOfPossession(bls)).toString('hex'),
      });
      if (r.result.code === 0) newcomers.push({ key, id: (await providers()).find((p) => p.operatorAddress === key.address)!.id, admitted: false, exited: false });
      note('register', r.result.errorCode);
    } else if (op === 2 && newcomers.length) {
      const n = newcomers[rand(newcomers.length)]!;
      const by = rand(3) === 0 ? n.key : admin!;
      const r = await s.send(by, '/insitu.sp.MsgAdmitStorageProvider', { authority: by.address, spId: n.id });
      if (r.result.code === 0) n.admitted = true;
      note('admit', r.result.errorCode);
    } else if (op === 3 && newcomers.length) {
      const n = newcomers[rand(newcomers.length)]!;
      note('top-up', (await s.send(n.key, '/greenfield.sp.MsgDeposit', { creator: n.key.address, spAddress: n.key.address, deposit: { denom: 'BNB', amount: String(1 + rand(10 ** 6)) } })).result.errorCode);
    } else if (op === 4) {
      const holder = s.providers[rand(7)]!;
      const r = await s.send(requester!, SUBMIT, { challenger: requester!.address, spOperatorAddress: holder.address, bucketName: 'cons', objectName: objects[rand(objects.length)]!, segmentIndex: 0 });
      note('challenge', r.result.errorCode);
    } else if (op <= 6) {
      const open = new Set<number>();
      for (let sp = 1; sp <= 7 + newcomers.length; sp++) for (const c of (await s.app.query('/insitu.challenge.Query/Challenges', { challenger: sp })).challenges as Challenge[]) open.add(c.id);
      if (open.size === 0) continue;
      const c = await challenge(s, [...open][rand(open.size)]!);
      const who = c.challengers[rand(c.challengers.length)]!;
      const signer = who <= 7 ? s.providers[who - 1]! : newcomers.find((n) => n.id === who)!.key;
      note('attest', (await s.send(signer, ATTEST, { submitter: signer.address, challengeId: c.id, voteResult: rand(2) })).result.errorCode);
    } else if (op === 7 && newcomers.some((n) => n.admitted && !n.exited)) {
      const n = newcomers.filter((x) => x.admitted && !x.exited)[0]!;
      await s.send(n.key, '/greenfield.virtualgroup.MsgStorageProviderExit', { storageProvider: n.key.address });
      const r = await s.send(n.key, '/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: n.key.address });
      if (r.result.code === 0) n.exited = true;
      note('exit', r.result.errorCode);
    } else {
      s.clock.now += rand(4) === 0 ? 1 + rand(10) * 86_400_000 : 1 + rand(30 * 60_000);
      if (await s.app.tick()) note('block', undefined);
    }
    t.is(await sumBalances(s.app), total, `step ${step} (seed ${seed})`);
    const held = (await providers()).reduce((sum, p) => sum + BigInt(p.deposit), 0n);
    t.is(await balanceOf(s.app, SP_DEPOSIT_POOL), held, `the pool holds every deposit, step ${step} (seed ${seed})`);
    t.is((await s.app.query('/insitu.audit.Query/Holdings', {})).deposits, held, 'the holdings show the deposits');
  }
  const events = await s.app.events(0n, 100_000);
  for (const type of ['provider-slashed', 'challenge-passed', 'challenge-failed', 'challenge-expired', 'provider-deposit-released']) note(type, String(events.filter((e) => e.type === type).length));
  t.log(Object.fromEntries([...outcomes.entries()].sort()));
  t.true((outcomes.get('challenge:ok') ?? 0) > 0 && (outcomes.get('attest:ok') ?? 0) > 0);
});
