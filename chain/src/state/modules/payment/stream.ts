// Stream payments, the records and their math (Greenfield's stream payments for storage and read
// quota); freezing and resuming are in freeze.ts, the messages and queries beside them.
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
import { fail, lower } from '../../context.ts';
import type { KV } from '../../store.ts';
import { getAccount, ensureAccount, accountKey } from '../bank.ts';
import type { Flow } from '@insitu/protocol/chain';
export type { Flow };

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

export const streamKey = (a: string): string => `stream/${lower(a)}`;
export const outFlowKey = (from: string, to: string): string => `outflow/${lower(from)}/${lower(to)}`;
export const dueKey = (ts: bigint, a: string): string => `settle-due/${ts.toString().padStart(16, '0')}/${lower(a)}`;
export const payAccountKey = (a: string): string => `payacct/${lower(a)}`;
export const ownerPayAccountKey = (owner: string, a: string): string => `owner-payacct/${lower(owner)}/${lower(a)}`;

export const seconds = (ms: number): bigint => BigInt(Math.floor(ms / 1000));

/** A derived address that holds no key: virtual payment addresses and payment accounts. */
export function derivedAddress(...parts: (string | number | bigint)[]): Hex {
  const path = ['insitu', ...parts.map(String)].join('/');
  const known = derived.get(path);
  if (known) return known;
  const h = createHash('sha256').update(path).digest();
  const address = checksumAddress(`0x${h.subarray(12).toString('hex')}`);
  if (derived.size >= DERIVED_KEPT) derived.delete(derived.keys().next().value!);
  derived.set(path, address);
  return address;
}

/**
 * Derived addresses by their path: every object's flows name its family's and group's payment
 * addresses, and a SHA-256 and a keccak checksum for each cost more than the flow arithmetic.
 */
const derived = new Map<string, Hex>();
const DERIVED_KEPT = 4096;

/** The virtual payment address of a family: the primary's storage and read income collects here. */
export const familyPaymentAddress = (familyId: number): Hex => derivedAddress('vgf', familyId);
/** The virtual payment address of a global virtual group: the secondaries' income collects here. */
export const gvgPaymentAddress = (gvgId: number): Hex => derivedAddress('gvg', gvgId);

export async function getStreamRecord(kv: KV, account: string): Promise<StreamRecord | undefined> {
  return kv.get<StreamRecord>(streamKey(account));
}

export async function loadRecord(kv: KV, account: string, now: bigint): Promise<StreamRecord> {
  return (await getStreamRecord(kv, account)) ?? {
    account: checksumAddress(account), crudTimestamp: now, netflowRate: 0n, staticBalance: 0n, bufferBalance: 0n,
    lockBalance: 0n, status: STREAM_ACTIVE, settleTimestamp: 0n, outFlowCount: 0, frozenNetflowRate: 0n,
  };
}

/** Brings the static balance to time t (t may precede the last settlement: the math is linear). */
export function settleTo(r: StreamRecord, t: bigint): void {
  r.staticBalance += r.netflowRate * (t - r.crudTimestamp);
  r.crudTimestamp = t;
}

/**
 * As Greenfield: how long `funds` last at a (negative) rate, less ForcedSettleTime — the seconds
 * until a payer is settled and, if nothing more comes in, frozen.
 */
export function settleAfter(funds: bigint, rate: bigint): bigint {
  const left = funds > 0n ? funds / -rate : 0n;
  return left > FORCED_SETTLE_TIME_S ? left - FORCED_SETTLE_TIME_S : 0n;
}

export function saveRecord(kv: KV, r: StreamRecord): void {
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
export async function topUpFromBank(kv: KV, r: StreamRecord, need: bigint): Promise<bigint> {
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
export async function ownBank(kv: KV, account: string): Promise<bigint> {
  if (await getPaymentAccount(kv, account)) return 0n;
  return (await getAccount(kv, account))?.balance ?? 0n;
}

/** Credits an account's bank balance with money taken out of a stream record. */
export async function credit(kv: KV, to: string, amount: bigint): Promise<void> {
  if (amount <= 0n) return;
  const dst = await ensureAccount(kv, to);
  dst.balance += amount;
  kv.put(accountKey(to), dst);
}

/** Changes a receiver's (or a resuming or freezing payer's receiver's) rate from time `at`. */
export async function shiftRate(kv: KV, account: string, delta: bigint, at: bigint): Promise<void> {
  const r = await loadRecord(kv, account, at);
  settleTo(r, at);
  r.netflowRate += delta;
  saveRecord(kv, r);
}

export const frozenError = (account: string, what = ''): never =>
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
