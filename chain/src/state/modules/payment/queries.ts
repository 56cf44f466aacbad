// Payment queries: Greenfield's stream record, dynamic balance, payment account and outflow
// queries, and the project's JSON views of an account, a bucket's read state and a provider's income.

import { checksumAddress } from '@insitu/protocol';
import type { PaymentView } from '@insitu/protocol/chain';
import { fail, lower, type QueryTable } from '../../context.ts';
import type { KV } from '../../store.ts';
import { getAccount } from '../bank.ts';
import { toLong } from '../../../gnfd.ts';
import { getBucket } from '../storage-records.ts';
import { getProvider, getGvg, DEFAULT_FREE_READ_QUOTA } from '../providers.ts';
import {
  STREAM_FROZEN, type StreamRecord, type OutFlow, seconds, familyPaymentAddress, gvgPaymentAddress,
  getStreamRecord, loadRecord, settleAfter, getPaymentAccount, ownBank, dynamicBalance,
} from './stream.ts';
import { isFrozen } from './freeze.ts';

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
export async function accountView(kv: KV, address: string, now: bigint): Promise<PaymentView> {
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

export const paymentQueries: QueryTable = {
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
    // The provider's own groups through its group index, not every group of the chain.
    for (const [, id] of await ctx.kv.list<number>(`sp-gvg/${spId}/`)) {
      const g = await getGvg(ctx.kv, id);
      if (!g || !g.secondarySpIds.includes(spId)) continue;
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
