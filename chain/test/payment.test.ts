// Stream payments on the state machine: locks at creation, flows at seal, time, freezing and
// resuming, payment accounts, read quota, and the sum of everything the chain holds.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { Hex } from '@insitu/protocol';
import { setup, createBucket, createObject, seal, sumBalances, type Setup } from './state/fixtures.ts';
import { newKey } from './helpers.ts';
import { rng, testSeed } from '@insitu/test/random';
import { RESERVE_TIME_S, VALIDATOR_TAX_POOL, familyPaymentAddress, gvgPaymentAddress } from '../src/state/modules/payment/index.ts';

const MiB = 1024n * 1024n;
const DAY = 86_400_000;

interface Stream { staticBalance: string; netflowRate: string; bufferBalance: string; lockBalance: string; status: number; frozenNetflowRate: string }

const stream = async (s: Setup, account: string): Promise<Stream> =>
  (await s.app.query('/greenfield.payment.Query/DynamicBalance', { account })).streamRecord as Stream;
const dynamic = async (s: Setup, account: string): Promise<bigint> =>
  BigInt((await s.app.query('/greenfield.payment.Query/DynamicBalance', { account })).dynamicBalance as string);

/** The test genesis prices: store 1000, read 10 per byte per second; secondaries 12% of the primary's, six of them; 1% tax. */
const storeRates = (size: bigint) => {
  const charge = size > MiB ? size : MiB;
  const primary = charge * 1000n;
  const secondary = charge * 120n * 6n;
  const tax = ((primary + secondary) * 1n) / 100n;
  return { primary, secondary, tax, total: primary + secondary + tax };
};

test('creating locks the reserve fee; sealing turns it into flows to the family, the group and the tax pool; deleting stops them', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  const total = await sumBalances(s.app);
  t.is((await createBucket(s, alice!, 'pay')).result.code, 0);
  t.is((await createObject(s, alice!, 'pay', 'small', randomBytes(10))).result.code, 0);
  const r = storeRates(10n);
  let rec = await stream(s, alice!.address);
  t.is(BigInt(rec.lockBalance), r.total * RESERVE_TIME_S, 'the lock is ReserveTime of the flows, charged at least 1 MiB');
  t.is(BigInt(rec.netflowRate), 0n);

  t.is((await seal(s, 'pay', 'small')).result.code, 0);
  rec = await stream(s, alice!.address);
  t.is(BigInt(rec.lockBalance), 0n);
  t.is(BigInt(rec.netflowRate), -r.total);
  t.is(BigInt(rec.bufferBalance), r.total * RESERVE_TIME_S);
  const head = (await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'pay', objectName: 'small' })) as { globalVirtualGroup: { id: number; familyId: number } };
  const family = familyPaymentAddress(head.globalVirtualGroup.familyId);
  const group = gvgPaymentAddress(head.globalVirtualGroup.id);
  t.is(BigInt((await stream(s, family)).netflowRate), r.primary);
  t.is(BigInt((await stream(s, group)).netflowRate), r.secondary);
  t.is(BigInt((await stream(s, VALIDATOR_TAX_POOL)).netflowRate), r.tax);

  // Balances move with time: a day later the family has earned a day of the primary's flow.
  const before = await dynamic(s, family);
  s.clock.now += DAY;
  const after = await dynamic(s, family);
  t.true(after - before >= r.primary * 86_400n && after - before <= r.primary * 86_402n);
  t.is(await sumBalances(s.app), total, 'what the payer loses the receivers gain');

  // A big object is charged its size; deleting stops every flow and returns the buffer.
  t.is((await createObject(s, alice!, 'pay', 'big', new Uint8Array(0), { payloadSize: String(5n * MiB), expectChecksums: (await headObjectChecksums(s, 'pay', 'small')) })).result.code, 0);
  t.is(BigInt((await stream(s, alice!.address)).lockBalance), storeRates(5n * MiB).total * RESERVE_TIME_S);
  t.is((await s.send(alice!, '/greenfield.storage.MsgCancelCreateObject', { operator: alice!.address, bucketName: 'pay', objectName: 'big' })).result.code, 0);
  t.is(BigInt((await stream(s, alice!.address)).lockBalance), 0n, 'cancelling unlocks');
  const familyBefore = await dynamic(s, family);
  t.is((await s.send(alice!, '/greenfield.storage.MsgDeleteObject', { operator: alice!.address, bucketName: 'pay', objectName: 'small' })).result.code, 0);
  // Stored a day (and a few seconds) of its 180: the rest of the reserve time is charged at deletion, as on Greenfield.
  const early = (await dynamic(s, family)) - familyBefore;
  t.true(early > r.primary * 178n * 86_400n && early < r.primary * 179n * 86_400n, `the family got ${early / r.primary / 86_400n} more days`);
  rec = await stream(s, alice!.address);
  t.is(BigInt(rec.netflowRate), 0n);
  t.is(BigInt(rec.bufferBalance), 0n);
  t.is(BigInt((await stream(s, family)).netflowRate), 0n);
  t.is(BigInt((await stream(s, group)).netflowRate), 0n);
  t.is(await sumBalances(s.app), total);
});

async function headObjectChecksums(s: Setup, bucket: string, name: string): Promise<Uint8Array[]> {
  const h = (await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: bucket, objectName: name })) as { objectInfo: { checksums: Uint8Array[] } };
  return h.objectInfo.checksums;
}

/** A fresh account funded with `amount` by the first genesis account. */
async function fundedKey(s: Setup, amount: bigint): Promise<{ address: Hex }> {
  const k = newKey();
  const rec = await s.send(s.accounts[0]!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: s.accounts[0]!.address, toAddress: k.address, amount: [{ denom: 'BNB', amount: amount.toString() }] });
  if (rec.result.code !== 0) throw new Error(rec.result.log);
  return k;
}

const FEE = 120_000n * 5_000_000_000n;

test('an owner whose balance runs out is frozen: its flows stop, it cannot create; a deposit resumes it', async (t) => {
  const s = await setup(t);
  const total = await sumBalances(s.app);
  const r = storeRates(1n);
  const reserve = r.total * RESERVE_TIME_S;
  // Enough for the fees of its two transactions, the reserve, and about four more days of storage.
  const extra = r.total * 4n * 86_400n;
  const poor = await fundedKey(s, 2n * FEE + reserve + extra);
  t.is((await createBucket(s, poor, 'poor')).result.code, 0);
  t.is((await createObject(s, poor, 'poor', 'a', randomBytes(1))).result.code, 0);
  t.is((await seal(s, 'poor', 'a')).result.code, 0);
  const view = (await s.app.query('/insitu.payment.Query/Account', { address: poor.address })) as { runsOutAt: bigint; netflowRate: bigint; frozen: boolean };
  t.is(view.netflowRate, -r.total);
  t.false(view.frozen);
  const now = BigInt(Math.floor(s.clock.now / 1000));
  // The buffer (180 days) is spent too; the account is frozen a day before all is gone.
  t.true(view.runsOutAt > now + 182n * 86_400n && view.runsOutAt < now + 184n * 86_400n, `runs out in ${(view.runsOutAt - now) / 86_400n} days`);
  s.clock.now += 100 * DAY;
  t.falsy(await s.app.tick(), 'nothing to settle yet');
  t.is((await stream(s, poor.address)).status, 0);
  s.clock.now += 84 * DAY;
  const block = await s.app.tick();
  t.truthy(block, 'a settlement block was made');
  const frozen = await stream(s, poor.address);
  t.is(frozen.status, 1);
  t.is(BigInt(frozen.netflowRate), 0n);
  t.is(BigInt(frozen.frozenNetflowRate), -r.total);
  t.is(BigInt(frozen.bufferBalance), 0n, 'the buffer went back to the static balance');
  const left = BigInt(frozen.staticBalance);
  t.true(left >= r.total * 86_400n && left < r.total * 86_401n, 'what is left covers the forced settle time');
  const head = (await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'poor', objectName: 'a' })) as { globalVirtualGroup: { familyId: number } };
  t.is(BigInt((await stream(s, familyPaymentAddress(head.globalVirtualGroup.familyId))).netflowRate), 0n, 'the family no longer receives');
  const frozenEvents = (await s.app.events(0n, 1000)).filter((e) => e.type === 'account-frozen');
  t.deepEqual(frozenEvents.map((e) => e.attributes.account!.toLowerCase()), [poor.address.toLowerCase()]);
  t.is(await sumBalances(s.app), total);

  // Frozen: no new objects (the fee of the attempt needs a balance: send some first).
  const top = await s.send(s.accounts[0]!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: s.accounts[0]!.address, toAddress: poor.address, amount: [{ denom: 'BNB', amount: String(2n * FEE) }] });
  t.is(top.result.code, 0);
  t.is((await stream(s, poor.address)).status, 1, 'a transfer too small for the reserve does not resume it');
  t.is((await createObject(s, poor, 'poor', 'b', randomBytes(1))).result.errorCode, 'ERR_ACCOUNT_FROZEN');

  // A deposit that covers the reserve again resumes every flow.
  const dep = await s.send(s.accounts[0]!, '/greenfield.payment.MsgDeposit', { creator: s.accounts[0]!.address, to: poor.address, amount: String(2n * reserve) });
  t.is(dep.result.code, 0, dep.result.log);
  const resumed = await stream(s, poor.address);
  t.is(resumed.status, 0);
  t.is(BigInt(resumed.netflowRate), -r.total);
  t.is(BigInt(resumed.bufferBalance), reserve);
  t.true(BigInt(resumed.staticBalance) > 0n);
  t.is(BigInt((await stream(s, familyPaymentAddress(head.globalVirtualGroup.familyId))).netflowRate), r.primary);
  t.is(await sumBalances(s.app), total);
});

test('payment accounts: several per owner, funded by deposits, paying for buckets; withdrawals only while refundable', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const total = await sumBalances(s.app);
  const create = async () => String((await s.send(alice!, '/greenfield.payment.MsgCreatePaymentAccount', { creator: alice!.address })).result.responses[0]!.value.addr);
  const pa1 = await create();
  const pa2 = await create();
  t.not(pa1, pa2);
  t.deepEqual((await s.app.query('/greenfield.payment.Query/PaymentAccountsByOwner', { owner: alice!.address })).paymentAccounts, [pa1, pa2].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  // Bob cannot make his bucket pay from Alice's payment account.
  const bobs = await s.send(bob!, '/greenfield.storage.MsgCreateBucket', { creator: bob!.address, bucketName: 'bobs', visibility: 2, paymentAddress: pa1, primarySpAddress: s.providers[0]!.address, chargedReadQuota: '0' });
  t.is(bobs.result.errorCode, 'ERR_PERMISSION_DENIED');
  // An unfunded payment account cannot carry an object; funded, it does, and the owner's own record is untouched.
  const mk = await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'via-pa', visibility: 2, paymentAddress: pa1, primarySpAddress: s.providers[0]!.address, chargedReadQuota: '0' });
  t.is(mk.result.code, 0, mk.result.log);
  t.is((await createObject(s, alice!, 'via-pa', 'x', randomBytes(4))).result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  t.is((await s.send(alice!, '/greenfield.payment.MsgDeposit', { creator: alice!.address, to: pa1, amount: String(10n ** 17n) })).result.code, 0);
  t.is((await createObject(s, alice!, 'via-pa', 'x', randomBytes(4))).result.code, 0);
  t.is((await seal(s, 'via-pa', 'x')).result.code, 0);
  t.is(BigInt((await stream(s, pa1)).netflowRate), -storeRates(4n).total);
  t.is((await s.app.query('/greenfield.payment.Query/DynamicBalance', { account: alice!.address })).streamRecord !== undefined, true);
  t.is(BigInt((await stream(s, alice!.address)).netflowRate), 0n);
  // Switching the bucket to the other account moves its flows.
  t.is((await s.send(alice!, '/greenfield.payment.MsgDeposit', { creator: alice!.address, to: pa2, amount: String(10n ** 17n) })).result.code, 0);
  t.is((await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'via-pa', paymentAddress: pa2 })).result.code, 0);
  t.is(BigInt((await stream(s, pa1)).netflowRate), 0n);
  t.is(BigInt((await stream(s, pa2)).netflowRate), -storeRates(4n).total);
  // Withdraw from pa1 (nothing flows from it now), not by Bob, not more than it has, not after refunds are disabled.
  const w = (who: { address: Hex }, from: string, amount: bigint) => s.send(who, '/greenfield.payment.MsgWithdraw', { creator: who.address, from, amount: String(amount) });
  t.is((await w(bob!, pa1, 1n)).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await w(alice!, pa1, 10n ** 18n)).result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  t.is((await w(alice!, pa1, 10n ** 16n)).result.code, 0);
  t.is((await s.send(alice!, '/greenfield.payment.MsgDisableRefund', { owner: alice!.address, addr: pa1 })).result.code, 0);
  t.is((await w(alice!, pa1, 1n)).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is(await sumBalances(s.app), total);
});

test('read quota is a monthly flow from the payer to the primary\'s family, changed by updating the bucket', async (t) => {
  const s = await setup(t);
  const [alice] = s.accounts;
  const quota = 3n * 1024n * MiB;
  const mk = await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'reads', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[0]!.address, chargedReadQuota: quota.toString() });
  t.is(mk.result.code, 0, mk.result.log);
  const rate = quota * 10n + (quota * 10n) / 100n;
  t.is(BigInt((await stream(s, alice!.address)).netflowRate), -rate);
  t.is((await s.send(alice!, '/greenfield.storage.MsgUpdateBucketInfo', { operator: alice!.address, bucketName: 'reads', chargedReadQuota: { value: String(quota * 2n) } })).result.code, 0);
  t.is(BigInt((await stream(s, alice!.address)).netflowRate), -2n * rate);
  t.is((await s.send(alice!, '/greenfield.storage.MsgDeleteBucket', { operator: alice!.address, bucketName: 'reads' })).result.code, 0);
  t.is(BigInt((await stream(s, alice!.address)).netflowRate), 0n);
});

test('money is conserved over random uploads, seals, deletions, quota changes, payer switches, deposits, withdrawals, freezes and time', async (t) => {
  const s = await setup(t, { accounts: 3 });
  const seed = testSeed('INSITU_PAYMENT_SEED');
  t.log(`seed ${seed} — replay with INSITU_PAYMENT_SEED=${seed} npx ava chain/test/payment.test.ts`);
  const rand = rng(seed);
  const total = await sumBalances(s.app);
  // Two rich owners and two that run out.
  const r1 = storeRates(1n).total * RESERVE_TIME_S;
  const owners: { address: Hex }[] = [s.accounts[0]!, s.accounts[1]!, await fundedKey(s, 40n * FEE + 3n * r1), await fundedKey(s, 40n * FEE + 2n * r1)];
  const buckets: { name: string; owner: { address: Hex } }[] = [];
  const objects: { bucket: string; name: string; owner: { address: Hex }; sealed: boolean }[] = [];
  const payAccounts = new Map<string, string[]>();
  const outcomes = new Map<string, number>();
  const note = (what: string, code: string | undefined) => outcomes.set(`${what}:${code ?? 'ok'}`, (outcomes.get(`${what}:${code ?? 'ok'}`) ?? 0) + 1);
  for (let step = 0; step < 250; step++) {
    const owner = owners[rand(owners.length)]!;
    const op = rand(11);
    if (op === 0 || buckets.length === 0) {
      const name = `bucket-${step}`;
      const pas = payAccounts.get(owner.address) ?? [];
      const payer = pas.length && rand(2) ? pas[rand(pas.length)]! : '';
      const rec = await s.send(owner, '/greenfield.storage.MsgCreateBucket', { creator: owner.address, bucketName: name, visibility: 2, paymentAddress: payer, primarySpAddress: s.providers[rand(7)]!.address, chargedReadQuota: String(BigInt(rand(3)) * 64n * MiB) });
      if (rec.result.code === 0) buckets.push({ name, owner });
      note('bucket', rec.result.errorCode);
    } else if (op <= 3) {
      const b = buckets[rand(buckets.length)]!;
      const size = BigInt(rand(4) === 0 ? 0 : 1 + rand(8 * 1024 * 1024));
      const name = `o${step}`;
      const rec = size === 0n
        ? await createObject(s, b.owner, b.name, name, new Uint8Array(0))
        : await createObject(s, b.owner, b.name, name, new Uint8Array(0), { payloadSize: size.toString(), expectChecksums: Array.from({ length: 7 }, () => randomBytes(32)) });
      if (rec.result.code === 0) objects.push({ bucket: b.name, name, owner: b.owner, sealed: size === 0n });
      note('create', rec.result.errorCode);
    } else if (op <= 5 && objects.some((o) => !o.sealed)) {
      const waiting = objects.filter((o) => !o.sealed);
      const o = waiting[rand(waiting.length)]!;
      const rec = await seal(s, o.bucket, o.name);
      if (rec.result.code === 0) o.sealed = true;
      note('seal', rec.result.errorCode);
    } else if (op === 6 && objects.length) {
      const i = rand(objects.length);
      const o = objects[i]!;
      const rec = await s.send(o.owner, '/greenfield.storage.MsgDeleteObject', { operator: o.owner.address, bucketName: o.bucket, objectName: o.name });
      if (rec.result.code === 0) objects.splice(i, 1);
      note('delete', rec.result.errorCode);
    } else if (op === 7) {
      const b = buckets[rand(buckets.length)]!;
      const pas = payAccounts.get(b.owner.address) ?? [];
      const value: Record<string, unknown> = { operator: b.owner.address, bucketName: b.name };
      if (rand(2)) value.chargedReadQuota = { value: String(BigInt(rand(4)) * 32n * MiB) };
      else value.paymentAddress = pas.length && rand(3) ? pas[rand(pas.length)]! : b.owner.address;
      note('update', (await s.send(b.owner, '/greenfield.storage.MsgUpdateBucketInfo', value)).result.errorCode);
    } else if (op === 8) {
      const rec = await s.send(owner, '/greenfield.payment.MsgCreatePaymentAccount', { creator: owner.address });
      if (rec.result.code === 0) payAccounts.set(owner.address, [...(payAccounts.get(owner.address) ?? []), String(rec.result.responses[0]!.value.addr)]);
      note('payment-account', rec.result.errorCode);
    } else if (op === 9) {
      const pas = payAccounts.get(owner.address) ?? [];
      const to = pas.length && rand(2) ? pas[rand(pas.length)]! : owner.address;
      const amount = BigInt(1 + rand(1000)) * 10n ** 13n;
      if (rand(3) === 0) note('withdraw', (await s.send(owner, '/greenfield.payment.MsgWithdraw', { creator: owner.address, from: to, amount: amount.toString() })).result.errorCode);
      else note('deposit', (await s.send(owner, '/greenfield.payment.MsgDeposit', { creator: owner.address, to, amount: amount.toString() })).result.errorCode);
    } else {
      s.clock.now += rand(40) * DAY + rand(86_400) * 1000;
      if (await s.app.tick()) note('settlement-block', undefined);
    }
    t.is(await sumBalances(s.app), total, `step ${step} (seed ${seed})`);
  }
  const events = await s.app.events(0n, 100_000);
  for (const type of ['account-frozen', 'account-resumed']) note(type, String(events.filter((e) => e.type === type).length));
  t.log(Object.fromEntries([...outcomes.entries()].sort()));
  t.true((outcomes.get('seal:ok') ?? 0) > 0 && (outcomes.get('delete:ok') ?? 0) > 0);
});

test('providers are paid: MsgSettle moves a family\'s earnings to its primary and a group\'s to its secondaries, evenly', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const total = await sumBalances(s.app);
  t.is((await createBucket(s, alice!, 'earn')).result.code, 0);
  t.is((await createObject(s, alice!, 'earn', 'o', randomBytes(100))).result.code, 0);
  t.is((await seal(s, 'earn', 'o')).result.code, 0);
  const head = (await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'earn', objectName: 'o' })) as { globalVirtualGroup: { id: number; familyId: number; primarySpId: number; secondarySpIds: number[] } };
  const g = head.globalVirtualGroup;
  s.clock.now += 10 * DAY;
  const balance = async (spId: number) => BigInt(((await s.app.query('/cosmos.bank.v1beta1.Query/Balance', { address: s.providers[spId - 1]!.address, denom: 'BNB' })).balance as { amount: string }).amount);
  const primaryBefore = await balance(g.primarySpId);
  const secondaryBefore = await Promise.all(g.secondarySpIds.map(balance));
  const income = (await s.app.query('/insitu.payment.Query/ProviderIncome', { spId: g.primarySpId })) as { unsettled: bigint; ratePerSecond: bigint };
  t.true(income.unsettled >= storeRates(100n).primary * 10n * 86_400n, 'ten days of the primary\'s flow are waiting');
  // Anyone may send it (Bob here); the money goes to the providers' funding addresses.
  const rec = await s.send(bob!, '/greenfield.virtualgroup.MsgSettle', { storageProvider: bob!.address, globalVirtualGroupFamilyId: g.familyId, globalVirtualGroupIds: [g.id] });
  t.is(rec.result.code, 0, rec.result.log);
  const r = storeRates(100n);
  const primaryGain = (await balance(g.primarySpId)) - primaryBefore;
  t.true(primaryGain >= r.primary * 10n * 86_400n && primaryGain <= r.primary * (10n * 86_400n + 10n), `primary earned ${primaryGain}`);
  const gains = await Promise.all(g.secondarySpIds.map(async (id, i) => (await balance(id)) - secondaryBefore[i]!));
  t.true(gains.every((x) => x === gains[0]), 'the secondaries share evenly');
  t.true(gains[0]! * 6n >= r.secondary * 10n * 86_400n - 6n);
  t.true(BigInt(((await stream(s, familyPaymentAddress(g.familyId))).staticBalance)) < r.primary * 5n, 'the family record was emptied');
  t.is(await sumBalances(s.app), total);
});
