// Payment messages: transaction fees, payment accounts, deposits and withdrawals, and the
// settlement of providers' storage income (virtualgroup MsgSettle).

import { checksumAddress, isAddress, sameAddress, type Hex } from '@insitu/protocol';
import { fail, emit, lower, type MsgContext, type MsgHandler } from '../../context.ts';
import type { KV } from '../../store.ts';
import { move, getAccount, ensureAccount, accountKey, FEE_COLLECTOR } from '../bank.ts';
import { big } from '../../../gnfd.ts';
import { getProvider, getFamily, getGvg } from '../providers.ts';
import {
  STREAM_FROZEN, type PaymentAccountRecord, type StreamRecord, seconds, derivedAddress, familyPaymentAddress, gvgPaymentAddress,
  getStreamRecord, loadRecord, settleTo, saveRecord, getPaymentAccount, credit, frozenError, payAccountKey, ownerPayAccountKey,
} from './stream.ts';
import { tryResume } from './freeze.ts';

/** Charges a transaction's fee to its signer (fails with ERR_INSUFFICIENT_BALANCE). */
export async function chargeFee(kv: KV, payer: Hex, amount: bigint): Promise<void> {
  await move(kv, payer, FEE_COLLECTOR, amount);
}


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
