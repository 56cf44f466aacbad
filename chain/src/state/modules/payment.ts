// Payments: transaction fees, and Greenfield's stream payments for storage and read quota.
//
// Every account that pays or is paid for storage has a stream record: a static balance settled at
// its last change (crud timestamp), a netflow rate (base units per second; negative for a payer),
// a buffer balance that prepays ReserveTime of its outflow, and a lock balance holding the reserve
// fee of objects created but not yet sealed. Its balance at time t is
// static + netflow × (t − crud). Flows go from a bucket's payment account to the virtual payment
// addresses of the primary's family and of the secondaries' global virtual group, and a share to
// the validator tax pool. The rates of all records sum to zero, so the sum of every bank balance
// and every record's settled static, buffer and lock balances is the same at every moment.
//
// The buffer is spent too: when a payer's static and buffer balances together cover only the
// forced settle time (its settle timestamp), the chain tops the static balance up from the
// account's own bank balance (a payment account has none), and if that does not help it freezes
// the record: the buffer joins the static balance and every outflow stops. A deposit (or a
// transfer into an owner's own account) that covers the reserve and the forced settle time again
// resumes it.

import { createHash } from 'node:crypto';
import { checksumAddress, isAddress, sameAddress, type Hex } from '@insitu/protocol';
import { fail, emit, lower, type MsgContext, type MsgHandler, type QueryHandler, type FeedEmit } from '../context.ts';
import type { KV } from '../store.ts';
import { move, getAccount, ensureAccount, accountKey, FEE_COLLECTOR } from './bank.ts';
import { big, toLong } from '../../gnfd.ts';
import { getBucket } from './storage-records.ts';
import { getProvider, getFamily, getGvg, DEFAULT_FREE_READ_QUOTA } from './providers.ts';

/** Charges a transaction's fee to its signer (fails with ERR_INSUFFICIENT_BALANCE). */
export async function chargeFee(kv: KV, payer: Hex, amount: bigint): Promise<void> {
  await move(kv, payer, FEE_COLLECTOR, amount);
}

/** Accounts the chain itself holds funds in; every conservation sum includes them. */
export { FEE_COLLECTOR };

/** Greenfield's default reserve time: a payer prepays 180 days of its outflow. */
export const RESERVE_TIME_S = 180n * 24n * 3600n;
/** Greenfield's default forced settle time: a payer is frozen when its balance covers less than a day. */
export const FORCED_SETTLE_TIME_S = 24n * 3600n;
/** Greenfield's default validator tax rate, 1% of every storage and read flow, in percent. */
export const VALIDATOR_TAX_PERCENT = 1n;
/** Greenfield's validator tax pool address. */
export const VALIDATOR_TAX_POOL = '0x0000000000000000000000000000000000001000' as Hex;

export const STREAM_ACTIVE = 0;
export const STREAM_FROZEN = 1;

export interface StreamRecord {
  account: Hex;
  /** Seconds of chain time at the last settlement. */
  crudTimestamp: bigint;
  netflowRate: bigint;
  staticBalance: bigint;
  bufferBalance: bigint;
  lockBalance: bigint;
  status: number;
  /** When static + buffer covers only the forced settle time at the current rate (0 when it does not fall). */
  settleTimestamp: bigint;
  outFlowCount: number;
  /** The outflow a frozen record would have, restored when it resumes. */
  frozenNetflowRate: bigint;
}

export interface OutFlow {
  to: Hex;
  rate: bigint;
  frozen: boolean;
}

export interface PaymentAccountRecord {
  addr: Hex;
  owner: Hex;
  refundable: boolean;
}

/** One flow a bucket or object adds to its payer's outflows. */
export interface Flow {
  to: Hex;
  rate: bigint;
}

const streamKey = (a: string): string => `stream/${lower(a)}`;
const outFlowKey = (from: string, to: string): string => `outflow/${lower(from)}/${lower(to)}`;
const dueKey = (ts: bigint, a: string): string => `settle-due/${ts.toString().padStart(16, '0')}/${lower(a)}`;
const payAccountKey = (a: string): string => `payacct/${lower(a)}`;
const ownerPayAccountKey = (owner: string, a: string): string => `owner-payacct/${lower(owner)}/${lower(a)}`;

export const seconds = (ms: number): bigint => BigInt(Math.floor(ms / 1000));

/** A derived address that holds no key: virtual payment addresses and payment accounts. */
function derivedAddress(...parts: (string | number | bigint)[]): Hex {
  const h = createHash('sha256').update(['insitu', ...parts.map(String)].join('/')).digest();
  return checksumAddress(`0x${h.subarray(12).toString('hex')}`);
}

/** The virtual payment address of a family: the primary's storage and read income collects here. */
export const familyPaymentAddress = (familyId: number): Hex => derivedAddress('vgf', familyId);
/** The virtual payment address of a global virtual group: the secondaries' income collects here. */
export const gvgPaymentAddress = (gvgId: number): Hex => derivedAddress('gvg', gvgId);

export async function getStreamRecord(kv: KV, account: string): Promise<StreamRecord | undefined> {
  return kv.get<StreamRecord>(streamKey(account));
}

async function loadRecord(kv: KV, account: string, now: bigint): Promise<StreamRecord> {
  return (await getStreamRecord(kv, account)) ?? {
    account: checksumAddress(account), crudTimestamp: now, netflowRate: 0n, staticBalance: 0n, bufferBalance: 0n,
    lockBalance: 0n, status: STREAM_ACTIVE, settleTimestamp: 0n, outFlowCount: 0, frozenNetflowRate: 0n,
  };
}

/** Brings the static balance to time t (t may precede the last settlement: the math is linear). */
function settleTo(r: StreamRecord, t: bigint): void {
  r.staticBalance += r.netflowRate * (t - r.crudTimestamp);
  r.crudTimestamp = t;
}

/**
 * As Greenfield: how long `funds` last at a (negative) rate, less ForcedSettleTime — the seconds
 * until a payer is settled and, if nothing more comes in, frozen.
 */
function settleAfter(funds: bigint, rate: bigint): bigint {
  const left = funds > 0n ? funds / -rate : 0n;
  return left > FORCED_SETTLE_TIME_S ? left - FORCED_SETTLE_TIME_S : 0n;
}

function saveRecord(kv: KV, r: StreamRecord): void {
  if (r.settleTimestamp !== 0n) kv.del(dueKey(r.settleTimestamp, r.account));
  r.settleTimestamp = 0n;
  if (r.status === STREAM_ACTIVE && r.netflowRate < 0n) {
    r.settleTimestamp = r.crudTimestamp + settleAfter(r.staticBalance + r.bufferBalance, r.netflowRate);
    kv.put(dueKey(r.settleTimestamp, r.account), 1);
  }
  kv.put(streamKey(r.account), r);
}

export async function getPaymentAccount(kv: KV, addr: string): Promise<PaymentAccountRecord | undefined> {
  return kv.get<PaymentAccountRecord>(payAccountKey(addr));
}

/**
 * Moves up to `need` from an owner's own bank balance into its stream record (Greenfield's
 * auto-transfer). Payment accounts have no bank balance of their own: they are funded by deposits.
 * Returns what was moved.
 */
async function topUpFromBank(kv: KV, r: StreamRecord, need: bigint): Promise<bigint> {
  if (need <= 0n) return 0n;
  const bank = await ownBank(kv, r.account);
  const amount = bank < need ? bank : need;
  if (amount <= 0n) return 0n;
  const acct = (await getAccount(kv, r.account))!;
  acct.balance -= amount;
  kv.put(accountKey(r.account), acct);
  r.staticBalance += amount;
  return amount;
}

/** The bank balance that auto-transfer may draw on: an owner's own; none for a payment account. */
async function ownBank(kv: KV, account: string): Promise<bigint> {
  if (await getPaymentAccount(kv, account)) return 0n;
  return (await getAccount(kv, account))?.balance ?? 0n;
}

/** Credits an account's bank balance with money taken out of a stream record. */
async function credit(kv: KV, to: string, amount: bigint): Promise<void> {
  if (amount <= 0n) return;
  const dst = await ensureAccount(kv, to);
  dst.balance += amount;
  kv.put(accountKey(to), dst);
}

/** Changes a receiver's (or a resuming or freezing payer's receiver's) rate from time `at`. */
async function shiftRate(kv: KV, account: string, delta: bigint, at: bigint): Promise<void> {
  const r = await loadRecord(kv, account, at);
  settleTo(r, at);
  r.netflowRate += delta;
  saveRecord(kv, r);
}

const frozenError = (account: string, what = ''): never =>
  fail('ERR_ACCOUNT_FROZEN', `the payment account ${account}${what ? ` of ${what}` : ''} is frozen: its balance ran out; deposit to resume it`);

/** Who may make a bucket pay from `payer`: the owner itself or a payment account it owns. */
export async function requirePayer(kv: KV, owner: string, payer: string): Promise<Hex> {
  if (!isAddress(payer)) fail('ERR_INVALID_ARGUMENT', `bad payment address ${payer}`);
  if (sameAddress(owner, payer)) return checksumAddress(payer);
  const pa = await getPaymentAccount(kv, payer);
  if (!pa) return fail('ERR_INVALID_ARGUMENT', `${payer} is neither the owner nor one of its payment accounts`);
  if (!sameAddress(pa.owner, owner)) fail('ERR_PERMISSION_DENIED', `payment account ${payer} belongs to ${pa.owner}, not ${owner}`);
  return pa.addr;
}

export async function isFrozen(kv: KV, account: string): Promise<boolean> {
  return (await getStreamRecord(kv, account))?.status === STREAM_FROZEN;
}

export async function requireNotFrozen(kv: KV, account: string, what: string): Promise<void> {
  if (await isFrozen(kv, account)) frozenError(account, what);
}

/** Storage flows of an object of `chargeSize` bytes at the given prices (base units per byte per second). */
export function storeFlows(opts: { chargeSize: bigint; primaryPrice: bigint; secondaryPrice: bigint; secondaries: number; familyId: number; gvgId: number }): Flow[] {
  const primary = opts.chargeSize * opts.primaryPrice;
  const secondary = opts.chargeSize * opts.secondaryPrice * BigInt(opts.secondaries);
  return withTax([{ to: familyPaymentAddress(opts.familyId), rate: primary }, { to: gvgPaymentAddress(opts.gvgId), rate: secondary }]);
}

/** Read-quota flow of a bucket: charged quota × read price, to the primary's family. */
export function readFlows(opts: { quota: bigint; readPrice: bigint; familyId: number }): Flow[] {
  return withTax([{ to: familyPaymentAddress(opts.familyId), rate: opts.quota * opts.readPrice }]);
}

export const totalRate = (flows: Flow[]): bigint => flows.reduce((s, f) => s + f.rate, 0n);

function withTax(flows: Flow[]): Flow[] {
  return [...flows, { to: VALIDATOR_TAX_POOL, rate: (totalRate(flows) * VALIDATOR_TAX_PERCENT) / 100n }].filter((f) => f.rate > 0n);
}

/**
 * Adds (sign 1) or removes (sign −1) flows from `payer`, settling every record touched at `now`.
 * Adding needs the payer active (unless `frozenAllowed`) and able to prepay ReserveTime of the
 * new outflow.
 */
export async function changeFlows(kv: KV, payer: string, flows: Flow[], sign: 1 | -1, now: bigint, opts: { frozenAllowed?: boolean } = {}): Promise<void> {
  if (flows.length === 0) return;
  const p = await loadRecord(kv, payer, now);
  settleTo(p, now);
  const delta = totalRate(flows) * BigInt(sign);
  const frozen = p.status === STREAM_FROZEN;
  // A seal on a frozen account still records its flows: they start when the account resumes.
  if (frozen && delta > 0n && !opts.frozenAllowed) frozenError(p.account);
  for (const f of flows) {
    const key = outFlowKey(p.account, f.to);
    const existing = await kv.get<OutFlow>(key);
    const out = existing ?? { to: f.to, rate: 0n, frozen };
    out.rate += f.rate * BigInt(sign);
    if (out.rate < 0n) fail('ERR_INTERNAL', `outflow ${p.account} → ${f.to} would turn negative`);
    if (out.rate === 0n) {
      kv.del(key);
      p.outFlowCount -= 1;
    } else {
      if (!existing) p.outFlowCount += 1;
      kv.put(key, out);
    }
    if (!out.frozen) await shiftRate(kv, f.to, f.rate * BigInt(sign), now);
  }
  if (frozen) {
    p.frozenNetflowRate -= delta;
  } else {
    p.netflowRate -= delta;
    const buffer = delta * RESERVE_TIME_S;
    p.bufferBalance += buffer;
    p.staticBalance -= buffer;
    if (p.staticBalance < 0n) await topUpFromBank(kv, p, -p.staticBalance);
    if (p.staticBalance < 0n && delta > 0n) {
      fail('ERR_INSUFFICIENT_BALANCE', `the payment account ${p.account} cannot prepay ${RESERVE_TIME_S / 86400n} days of its new outflow (${buffer} base units)`);
    }
  }
  saveRecord(kv, p);
}

/**
 * Greenfield charges an object deleted before ReserveTime for the rest of it: the payer pays each
 * receiver its flow's rate × the time left, at once.
 */
export async function chargeEarlyDelete(kv: KV, payer: string, flows: Flow[], storedFor: bigint, now: bigint): Promise<bigint> {
  const left = RESERVE_TIME_S - storedFor;
  if (left <= 0n || flows.length === 0) return 0n;
  const p = await loadRecord(kv, payer, now);
  settleTo(p, now);
  let total = 0n;
  for (const f of flows) {
    const amount = f.rate * left;
    const r = await loadRecord(kv, f.to, now);
    settleTo(r, now);
    r.staticBalance += amount;
    saveRecord(kv, r);
    total += amount;
  }
  p.staticBalance -= total;
  if (p.staticBalance < 0n) await topUpFromBank(kv, p, -p.staticBalance);
  saveRecord(kv, p);
  return total;
}

/** Locks an object's reserve fee in the payer's record (taken from its bank balance if needed). */
export async function lockFee(kv: KV, payer: string, amount: bigint, now: bigint): Promise<void> {
  if (amount <= 0n) return;
  const p = await loadRecord(kv, payer, now);
  if (p.status === STREAM_FROZEN) frozenError(p.account);
  settleTo(p, now);
  // The static balance may have gone negative as the buffer is spent: the lock comes on top.
  if (p.staticBalance < amount) await topUpFromBank(kv, p, amount - p.staticBalance);
  if (p.staticBalance < amount) fail('ERR_INSUFFICIENT_BALANCE', `the payment account ${p.account} cannot lock the reserve fee of ${amount} base units`);
  p.staticBalance -= amount;
  p.lockBalance += amount;
  saveRecord(kv, p);
}

export async function unlockFee(kv: KV, payer: string, amount: bigint, now: bigint): Promise<void> {
  if (amount <= 0n) return;
  const p = await loadRecord(kv, payer, now);
  settleTo(p, now);
  if (p.lockBalance < amount) fail('ERR_INTERNAL', `payment account ${p.account} has ${p.lockBalance} locked, not ${amount}`);
  p.lockBalance -= amount;
  p.staticBalance += amount;
  saveRecord(kv, p);
}

async function freeze(kv: KV, p: StreamRecord, at: bigint): Promise<void> {
  p.staticBalance += p.bufferBalance;
  p.bufferBalance = 0n;
  for (const [key, out] of await kv.list<OutFlow>(`outflow/${lower(p.account)}/`)) {
    if (out.frozen) continue;
    await shiftRate(kv, out.to, -out.rate, at);
    kv.put(key, { ...out, frozen: true });
  }
  p.frozenNetflowRate += p.netflowRate;
  p.netflowRate = 0n;
  p.status = STREAM_FROZEN;
}

/** Resumes a frozen record if its balance (with its own bank balance) covers the reserve again. */
export async function tryResume(kv: KV, account: string, now: bigint, feed?: FeedEmit[]): Promise<boolean> {
  const p = await getStreamRecord(kv, account);
  if (!p || p.status !== STREAM_FROZEN) return false;
  settleTo(p, now);
  // As Greenfield's TryResumeStreamRecord: the balance must cover the reserve and the forced settle time.
  const need = -p.frozenNetflowRate * (RESERVE_TIME_S + FORCED_SETTLE_TIME_S);
  if (p.staticBalance < need) {
    // Take from the bank only when that is enough to resume.
    if (p.staticBalance + (await ownBank(kv, p.account)) < need) return false;
    await topUpFromBank(kv, p, need - p.staticBalance);
  }
  const buffer = -p.frozenNetflowRate * RESERVE_TIME_S;
  p.staticBalance -= buffer;
  p.bufferBalance += buffer;
  for (const [key, out] of await kv.list<OutFlow>(`outflow/${lower(p.account)}/`)) {
    if (!out.frozen) continue;
    await shiftRate(kv, out.to, out.rate, now);
    kv.put(key, { ...out, frozen: false });
  }
  p.netflowRate = p.frozenNetflowRate;
  p.frozenNetflowRate = 0n;
  p.status = STREAM_ACTIVE;
  saveRecord(kv, p);
  feed?.push({ type: 'account-resumed', attributes: { account: p.account, netflow_rate: String(p.netflowRate) } });
  return true;
}

/**
 * Greenfield's auto-settle (its EndBlocker): every payer whose settle timestamp has passed (static
 * + buffer cover only the forced settle time) is settled at that moment; what its static balance
 * lacks is taken from its own bank balance, and if nothing could be taken or it still covers no
 * more than the forced settle time, it is frozen. Returns the feed events it caused.
 */
export async function settleDue(kv: KV, now: bigint): Promise<FeedEmit[]> {
  const events: FeedEmit[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const [first] = await kv.list<number>('settle-due/', { limit: 1 });
    if (!first) break;
    const [, ts, addr] = first[0].split('/');
    const at = BigInt(ts!);
    if (at > now) break;
    const p = await getStreamRecord(kv, addr!);
    if (!p || p.settleTimestamp !== at) {
      kv.del(first[0]);
      continue;
    }
    settleTo(p, at);
    // Greenfield's auto-transfer: an owner's own bank balance pays what the static balance lacks.
    const topped = p.staticBalance < 0n ? await topUpFromBank(kv, p, -p.staticBalance) : 0n;
    if (topped === 0n || settleAfter(p.staticBalance + p.bufferBalance, p.netflowRate) === 0n) {
      await freeze(kv, p, at);
      events.push({ type: 'account-frozen', attributes: { account: p.account, at: String(at), frozen_netflow_rate: String(p.frozenNetflowRate) } });
    }
    saveRecord(kv, p);
  }
  return events;
}

/** The balance of a record at `now`, without changing it. */
export function dynamicBalance(r: StreamRecord, now: bigint): bigint {
  return r.staticBalance + r.netflowRate * (now - r.crudTimestamp);
}

/** Sum of every stream record's static (settled to `now`), buffer and lock balances. */
export async function streamHoldings(kv: KV, now: bigint): Promise<{ total: bigint; records: number }> {
  let total = 0n;
  let records = 0;
  for (const [, r] of await kv.list<StreamRecord>('stream/')) {
    total += dynamicBalance(r, now) + r.bufferBalance + r.lockBalance;
    records++;
  }
  return { total, records };
}

// --- messages ---------------------------------------------------------------------------------

const nowS = (ctx: MsgContext): bigint => seconds(ctx.now);

const amountOf = (v: unknown): bigint => {
  let n: bigint;
  try {
    n = big(v);
  } catch {
    return fail('ERR_INVALID_ARGUMENT', `not an amount: ${String(v)}`);
  }
  if (n <= 0n) fail('ERR_INVALID_ARGUMENT', `the amount must be positive, not ${n}`);
  return n;
};

/** Greenfield caps payment accounts per owner (params.payment_account_count_limit, default 200). */
export const MAX_PAYMENT_ACCOUNTS = 200;

const msgCreatePaymentAccount: MsgHandler = async (ctx) => {
  const owned = await ctx.kv.list<number>(`owner-payacct/${lower(ctx.signer)}/`);
  if (owned.length >= MAX_PAYMENT_ACCOUNTS) fail('ERR_INVALID_ARGUMENT', `an owner may have at most ${MAX_PAYMENT_ACCOUNTS} payment accounts`);
  const count = (await ctx.kv.get<number>(`payacct-count/${lower(ctx.signer)}`)) ?? 0;
  const addr = derivedAddress('payment-account', lower(ctx.signer), count);
  ctx.kv.put(`payacct-count/${lower(ctx.signer)}`, count + 1);
  const rec: PaymentAccountRecord = { addr, owner: checksumAddress(ctx.signer), refundable: true };
  ctx.kv.put(payAccountKey(addr), rec);
  ctx.kv.put(ownerPayAccountKey(ctx.signer, addr), count);
  await ensureAccount(ctx.kv, addr);
  emit(ctx, 'payment-account-created', { addr, owner: rec.owner, index: count });
  return { addr };
};

const msgDeposit: MsgHandler = async (ctx, msg) => {
  const to = String(msg.to);
  if (!isAddress(to)) fail('ERR_INVALID_ARGUMENT', `not an address: ${to}`);
  const amount = amountOf(msg.amount);
  const acct = await getAccount(ctx.kv, ctx.signer);
  if (!acct || acct.balance < amount) fail('ERR_INSUFFICIENT_BALANCE', `account ${ctx.signer} has ${acct?.balance ?? 0n} base units, needs ${amount}`);
  acct!.balance -= amount;
  ctx.kv.put(accountKey(ctx.signer), acct);
  const r = await loadRecord(ctx.kv, to, nowS(ctx));
  settleTo(r, nowS(ctx));
  r.staticBalance += amount;
  saveRecord(ctx.kv, r);
  emit(ctx, 'deposit', { from: ctx.signer, to: r.account, amount });
  await tryResume(ctx.kv, to, nowS(ctx), ctx.feed);
  return {};
};

const msgWithdraw: MsgHandler = async (ctx, msg) => {
  const from = String(msg.from);
  if (!isAddress(from)) fail('ERR_INVALID_ARGUMENT', `not an address: ${from}`);
  const amount = amountOf(msg.amount);
  if (!sameAddress(from, ctx.signer)) {
    const pa = await getPaymentAccount(ctx.kv, from);
    if (!pa) return fail('ERR_PERMISSION_DENIED', `${from} is not a payment account`);
    if (!sameAddress(pa.owner, ctx.signer)) fail('ERR_PERMISSION_DENIED', `payment account ${from} belongs to ${pa.owner}`);
    if (!pa.refundable) fail('ERR_PERMISSION_DENIED', `payment account ${from} is not refundable`);
  }
  const r = await getStreamRecord(ctx.kv, from);
  if (!r) return fail('ERR_INSUFFICIENT_BALANCE', `${from} has no stream record`);
  if (r.status === STREAM_FROZEN) frozenError(r.account);
  settleTo(r, nowS(ctx));
  if (r.staticBalance < amount) fail('ERR_INSUFFICIENT_BALANCE', `${from} has ${r.staticBalance > 0n ? r.staticBalance : 0n} base units free to withdraw, not ${amount}`);
  r.staticBalance -= amount;
  saveRecord(ctx.kv, r);
  await credit(ctx.kv, ctx.signer, amount);
  emit(ctx, 'withdraw', { from: r.account, to: ctx.signer, amount });
  return {};
};

const msgDisableRefund: MsgHandler = async (ctx, msg) => {
  const pa = await getPaymentAccount(ctx.kv, String(msg.addr));
  if (!pa) return fail('ERR_ACCOUNT_NOT_FOUND', `${String(msg.addr)} is not a payment account`);
  if (!sameAddress(pa.owner, ctx.signer)) fail('ERR_PERMISSION_DENIED', `payment account ${pa.addr} belongs to ${pa.owner}`);
  pa.refundable = false;
  ctx.kv.put(payAccountKey(pa.addr), pa);
  emit(ctx, 'payment-account-refund-disabled', { addr: pa.addr });
  return {};
};

/** Takes what a virtual payment address has earned by `now` out of its stream record. */
async function drain(kv: KV, vpa: Hex, now: bigint): Promise<{ record: StreamRecord; amount: bigint }> {
  const r = await loadRecord(kv, vpa, now);
  settleTo(r, now);
  const amount = r.staticBalance > 0n ? r.staticBalance : 0n;
  return { record: r, amount };
}

/**
 * Greenfield's virtualgroup MsgSettle (anyone may send it, as after Greenfield's Pampas upgrade):
 * what a family's virtual payment address has earned goes to its primary's funding address; what
 * a group's has earned is split evenly among its secondaries' funding addresses (the remainder
 * stays for the next settlement).
 */
const msgSettle: MsgHandler = async (ctx, msg) => {
  const now = nowS(ctx);
  let paid = 0n;
  const familyId = Number(msg.globalVirtualGroupFamilyId ?? 0);
  if (familyId !== 0) {
    const family = await getFamily(ctx.kv, familyId);
    if (!family) return fail('ERR_NOT_FOUND', `no virtual group family ${familyId}`);
    const primary = await getProvider(ctx.kv, family.primarySpId);
    const { record, amount } = await drain(ctx.kv, familyPaymentAddress(familyId), now);
    record.staticBalance -= amount;
    saveRecord(ctx.kv, record);
    await credit(ctx.kv, primary!.fundingAddress, amount);
    paid += amount;
    emit(ctx, 'storage-income-settled', { family_id: familyId, sp_id: family.primarySpId, amount });
  }
  for (const raw of (msg.globalVirtualGroupIds as unknown[] | undefined) ?? []) {
    const gvgId = Number(raw);
    const gvg = await getGvg(ctx.kv, gvgId);
    if (!gvg) return fail('ERR_NOT_FOUND', `no global virtual group ${gvgId}`);
    const { record, amount } = await drain(ctx.kv, gvgPaymentAddress(gvgId), now);
    const share = amount / BigInt(gvg.secondarySpIds.length);
    for (const spId of gvg.secondarySpIds) {
      const sp = await getProvider(ctx.kv, spId);
      await credit(ctx.kv, sp!.fundingAddress, share);
      emit(ctx, 'storage-income-settled', { gvg_id: gvgId, sp_id: spId, amount: share });
    }
    record.staticBalance -= share * BigInt(gvg.secondarySpIds.length);
    saveRecord(ctx.kv, record);
    paid += share * BigInt(gvg.secondarySpIds.length);
  }
  return { paid: paid.toString() };
};

export const paymentMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.payment.MsgCreatePaymentAccount': { handler: msgCreatePaymentAccount, signer: (m) => String(m.creator) },
  '/greenfield.payment.MsgDeposit': { handler: msgDeposit, signer: (m) => String(m.creator) },
  '/greenfield.payment.MsgWithdraw': { handler: msgWithdraw, signer: (m) => String(m.creator) },
  '/greenfield.payment.MsgDisableRefund': { handler: msgDisableRefund, signer: (m) => String(m.owner) },
  '/greenfield.virtualgroup.MsgSettle': { handler: msgSettle, signer: (m) => String(m.storageProvider) },
};

// --- queries ----------------------------------------------------------------------------------

function streamResponse(r: StreamRecord): Record<string, unknown> {
  return {
    account: r.account,
    crudTimestamp: toLong(r.crudTimestamp),
    netflowRate: r.netflowRate.toString(),
    staticBalance: r.staticBalance.toString(),
    bufferBalance: r.bufferBalance.toString(),
    lockBalance: r.lockBalance.toString(),
    status: r.status,
    settleTimestamp: toLong(r.settleTimestamp),
    outFlowCount: toLong(BigInt(r.outFlowCount)),
    frozenNetflowRate: r.frozenNetflowRate.toString(),
  };
}

/** An account's payment picture at `now`: what `insitu account` prints. */
export async function accountView(kv: KV, address: string, now: bigint): Promise<Record<string, unknown>> {
  const r = await getStreamRecord(kv, address);
  const bank = (await getAccount(kv, address))?.balance ?? 0n;
  const balance = r ? dynamicBalance(r, now) : 0n;
  const rate = r?.netflowRate ?? 0n;
  const pa = await getPaymentAccount(kv, address);
  // With auto-transfer from the bank, an owner's own record runs out when both are spent.
  const spendable = balance + (r?.bufferBalance ?? 0n) + (await ownBank(kv, address));
  const runsOutAt = rate < 0n ? now + settleAfter(spendable, rate) : null;
  return {
    address: checksumAddress(address),
    bankBalance: bank,
    streamRecord: r ?? null,
    staticBalance: balance,
    bufferBalance: r?.bufferBalance ?? 0n,
    lockBalance: r?.lockBalance ?? 0n,
    netflowRate: rate,
    frozen: r?.status === STREAM_FROZEN,
    frozenNetflowRate: r?.frozenNetflowRate ?? 0n,
    runsOutAt,
    now,
    paymentAccount: pa ?? null,
  };
}

export const paymentQueries: Record<string, QueryHandler> = {
  '/greenfield.payment.Query/StreamRecord': async (ctx, req) => {
    const r = await getStreamRecord(ctx.kv, String(req.account));
    if (!r) fail('ERR_ACCOUNT_NOT_FOUND', `no stream record for ${String(req.account)}`);
    return { streamRecord: streamResponse(r!) };
  },
  '/greenfield.payment.Query/DynamicBalance': async (ctx, req) => {
    const now = seconds(ctx.now);
    const r = await loadRecord(ctx.kv, String(req.account), now);
    const bank = (await getAccount(ctx.kv, String(req.account)))?.balance ?? 0n;
    const dyn = dynamicBalance(r, now);
    return {
      dynamicBalance: dyn.toString(),
      streamRecord: streamResponse(r),
      currentTimestamp: toLong(now),
      bankBalance: bank.toString(),
      availableBalance: (dyn + bank).toString(),
      lockedFee: r.lockBalance.toString(),
      changeRate: r.netflowRate.toString(),
    };
  },
  '/greenfield.payment.Query/PaymentAccount': async (ctx, req) => {
    const pa = await getPaymentAccount(ctx.kv, String(req.addr));
    if (!pa) fail('ERR_ACCOUNT_NOT_FOUND', `${String(req.addr)} is not a payment account`);
    return { paymentAccount: pa };
  },
  '/greenfield.payment.Query/PaymentAccountsByOwner': async (ctx, req) => {
    const rows = await ctx.kv.list<number>(`owner-payacct/${lower(String(req.owner))}/`);
    const addrs = await Promise.all(rows.map(async ([k]) => (await getPaymentAccount(ctx.kv, k.split('/')[2]!))!.addr));
    return { paymentAccounts: addrs };
  },
  '/greenfield.payment.Query/OutFlows': async (ctx, req) => {
    const rows = await ctx.kv.list<OutFlow>(`outflow/${lower(String(req.account))}/`);
    return { outFlows: rows.map(([, o]) => ({ toAddress: o.to, rate: o.rate.toString(), status: o.frozen ? 1 : 0 })) };
  },
  /**
   * Project extension (JSON): what a primary needs to serve a read of a bucket — whether its
   * payment account is frozen, its charged and free monthly read quota, and the month (UTC, chain time).
   */
  '/insitu.payment.Query/BucketRead': async (ctx, req) => {
    const b = await getBucket(ctx.kv, String(req.bucketName));
    if (!b) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(req.bucketName)} not found`);
    const primary = await getProvider(ctx.kv, b.primarySpId);
    return {
      bucketName: b.name,
      bucketId: b.id,
      paymentAddress: b.paymentAddress,
      frozen: await isFrozen(ctx.kv, b.paymentAddress),
      chargedReadQuota: b.chargedReadQuota,
      freeReadQuota: BigInt(primary?.freeReadQuota ?? DEFAULT_FREE_READ_QUOTA),
      primarySpId: b.primarySpId,
      month: new Date(ctx.now).toISOString().slice(0, 7),
      now: ctx.now,
    };
  },
  /**
   * Project extension (JSON): a provider's storage income not yet settled — its family's earnings
   * and its share of each group it is a secondary of — and the flows feeding them now.
   */
  '/insitu.payment.Query/ProviderIncome': async (ctx, req) => {
    const now = seconds(ctx.now);
    const spId = Number(req.spId);
    const familyId = await ctx.kv.get<number>(`sp-family/${spId}`);
    let unsettled = 0n;
    let rate = 0n;
    if (familyId !== undefined) {
      const r = await getStreamRecord(ctx.kv, familyPaymentAddress(familyId));
      if (r) {
        unsettled += dynamicBalance(r, now);
        rate += r.netflowRate;
      }
    }
    const groups: number[] = [];
    for (const [, g] of await ctx.kv.list<{ id: number; secondarySpIds: number[] }>('gvg/')) {
      if (!g.secondarySpIds.includes(spId)) continue;
      groups.push(g.id);
      const r = await getStreamRecord(ctx.kv, gvgPaymentAddress(g.id));
      if (r) {
        unsettled += dynamicBalance(r, now) / BigInt(g.secondarySpIds.length);
        rate += r.netflowRate / BigInt(g.secondarySpIds.length);
      }
    }
    return { spId, familyId: familyId ?? 0, gvgIds: groups, unsettled, ratePerSecond: rate, now };
  },
  /** Project extension (JSON): balance, flow rate, when it runs out, and the payment accounts owned. */
  '/insitu.payment.Query/Account': async (ctx, req) => {
    const now = seconds(ctx.now);
    const view = await accountView(ctx.kv, String(req.address), now);
    const rows = await ctx.kv.list<number>(`owner-payacct/${lower(String(req.address))}/`);
    const paymentAccounts = await Promise.all(rows.map(async ([k]) => accountView(ctx.kv, k.split('/')[2]!, now)));
    return { ...view, paymentAccounts };
  },
};
