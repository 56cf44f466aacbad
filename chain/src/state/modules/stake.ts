// Providers' stake: admission by the admin/governance account, deposits held in the deposit pool,
// slashing, the unbonding period after exit, and the global prices recomputed once per period
// from admitted providers only, each period moving them by a bounded step.

import { sameAddress, type Hex } from '@insitu/protocol';
import { move, ensureAccount } from './bank.ts';
import { fail, emit, type MsgContext, type MsgHandler, type QueryTable } from '../context.ts';
import type { KV } from '../store.ts';
import { accountabilityOf, adminOf, type Genesis, type GenesisProvider } from '../../genesis.ts';
import {
  addProvider, getProvider, listProviders, medianPrices, providerByOperator, isActive, GLOBAL_PRICE_KEY, SP_DEPOSIT_POOL,
  STATUS_IN_MAINTENANCE, STATUS_IN_SERVICE, type GlobalPriceRecord, type ProviderRecord,
} from './providers.ts';

const pad = (n: number): string => String(n).padStart(16, '0');

/**
 * A genesis provider: admitted and in service, its deposit (default: the minimum) moved from its
 * funding account's genesis balance into the pool — as much of it as that balance holds — so the
 * chain's holdings are still the genesis balances.
 */
export async function addGenesisProvider(kv: KV, genesis: Genesis, p: GenesisProvider): Promise<ProviderRecord> {
  const want = BigInt(p.deposit ?? accountabilityOf(genesis).minDeposit);
  const funding = await ensureAccount(kv, p.fundingAddress);
  const deposit = funding.balance < want ? funding.balance : want;
  const rec = await addProvider(kv, p, { deposit: deposit.toString(), admitted: true, createdAt: genesis.genesisTime, admittedAt: genesis.genesisTime });
  await move(kv, p.fundingAddress, SP_DEPOSIT_POOL, deposit);
  return rec;
}

export function requireAdmin(ctx: MsgContext): void {
  const admin = adminOf(ctx.genesis);
  if (!admin || !sameAddress(admin, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the admin/governance account ${admin ?? '(none)'} may do this`);
}

/**
 * Slashes up to `amount` from a provider's deposit (never more than it holds) and pays it to the
 * beneficiaries in equal shares (the remainder to the first). Returns what was taken. Exported for
 * every module that punishes a provider (storage challenges, disputed job receipts).
 */
export async function slash(ctx: MsgContext, provider: ProviderRecord | number, amount: bigint, beneficiary: Hex | Hex[], reason = ''): Promise<bigint> {
  const sp = typeof provider === 'number' ? await getProvider(ctx.kv, provider) : await getProvider(ctx.kv, provider.id);
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${typeof provider === 'number' ? provider : provider.id}`);
  const held = BigInt(sp.deposit ?? '0');
  const take = amount < 0n ? 0n : amount > held ? held : amount;
  const to = Array.isArray(beneficiary) ? beneficiary : [beneficiary];
  if (take === 0n || to.length === 0) return 0n;
  sp.deposit = (held - take).toString();
  ctx.kv.put(`sp/${sp.id}`, sp);
  const share = take / BigInt(to.length);
  for (let i = 0; i < to.length; i++) await move(ctx.kv, SP_DEPOSIT_POOL, to[i]!, share + (i === 0 ? take - share * BigInt(to.length) : 0n));
  emit(ctx, 'provider-slashed', { sp_id: sp.id, amount: take, deposit: sp.deposit, to: to.join(','), reason });
  return take;
}

/** Starts the unbonding of an exited provider's deposit; endBlock releases it to its funding address. */
export function beginUnbonding(ctx: MsgContext, sp: ProviderRecord): void {
  const until = ctx.now + accountabilityOf(ctx.genesis).unbondingPeriodMs;
  sp.unbondingUntil = until;
  ctx.kv.put(`sp/${sp.id}`, sp);
  ctx.kv.put(`unbond/${pad(until)}/${pad(sp.id)}`, sp.id);
  emit(ctx, 'provider-unbonding', { sp_id: sp.id, deposit: sp.deposit ?? '0', release_at: until });
}

/** The admin/governance account admits a registered provider: it enters service. */
const msgAdmit: MsgHandler = async (ctx, msg) => {
  requireAdmin(ctx);
  const sp = await getProvider(ctx.kv, Number(msg.spId));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${String(msg.spId)}`);
  if (sp.admitted !== false || sp.status !== STATUS_IN_MAINTENANCE) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} is not waiting for admission`);
  const min = BigInt(accountabilityOf(ctx.genesis).minDeposit);
  if (BigInt(sp.deposit ?? '0') < min) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} holds ${sp.deposit ?? 0} of the ${min} minimum deposit`);
  sp.admitted = true;
  sp.admittedAt = ctx.now;
  sp.status = STATUS_IN_SERVICE;
  ctx.kv.put(`sp/${sp.id}`, sp);
  emit(ctx, 'provider-admitted', { sp_id: sp.id });
  emit(ctx, 'provider-updated', { sp_id: sp.id, status: sp.status });
  return {};
};

/** Greenfield's MsgDeposit: the provider's funding (or operator) address tops its deposit up. */
const msgDeposit: MsgHandler = async (ctx, msg) => {
  const sp = await providerByOperator(ctx.kv, String(msg.spAddress));
  if (!sp) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.spAddress)}`);
  if (!sameAddress(ctx.signer, sp.fundingAddress) && !sameAddress(ctx.signer, sp.operatorAddress)) fail('ERR_PERMISSION_DENIED', `only provider ${sp.id}'s funding or operator address tops its deposit up`);
  if (sp.unbondingUntil !== undefined) fail('ERR_INVALID_ARGUMENT', `provider ${sp.id} has left`);
  const coin = msg.deposit as { denom?: string; amount?: string } | undefined;
  if (coin?.denom !== 'BNB' || !/^\d+$/.test(String(coin.amount ?? '')) || BigInt(String(coin.amount)) === 0n) fail('ERR_INVALID_ARGUMENT', 'deposit a positive amount of BNB');
  const amount = BigInt(String(coin!.amount));
  await move(ctx.kv, ctx.signer, SP_DEPOSIT_POOL, amount);
  sp.deposit = (BigInt(sp.deposit ?? '0') + amount).toString();
  ctx.kv.put(`sp/${sp.id}`, sp);
  emit(ctx, 'provider-deposit', { sp_id: sp.id, amount, deposit: sp.deposit });
  return {};
};

export const stakeMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.sp.MsgAdmitStorageProvider': { handler: msgAdmit, signer: (m) => String(m.authority) },
  '/greenfield.sp.MsgDeposit': { handler: msgDeposit, signer: (m) => String(m.creator) },
};

export const stakeQueries: QueryTable = {
  /** Project extension (JSON): who admits providers, the stake rules, and every provider's deposit. */
  '/insitu.sp.Query/Stake': async (ctx) => ({
    admin: adminOf(ctx.genesis) ?? '',
    params: accountabilityOf(ctx.genesis),
    providers: (await listProviders(ctx.kv)).map((p) => ({ id: p.id, operatorAddress: p.operatorAddress, deposit: p.deposit ?? '0', admitted: p.admitted !== false, status: p.status, unbondingUntil: p.unbondingUntil ?? 0 })),
  }),
};

/** Moves `next` toward `target` by at most `percent` of `prev` (a zero price may start anywhere). */
function bounded(prev: bigint, target: bigint, percent: number): bigint {
  if (prev === 0n) return target;
  const step = (prev * BigInt(percent)) / 100n;
  if (target > prev + step) return prev + step;
  if (target < prev - step) return prev - step;
  return target;
}

/**
 * Per-block work of the stake: releases deposits whose unbonding ended, and once per price
 * period recomputes the global prices from the admitted in-service providers' median, moved by
 * at most maxPriceChangePercent of the last prices.
 */
export async function stakeEndBlock(ctx: MsgContext): Promise<void> {
  const params = accountabilityOf(ctx.genesis);
  // Oldest first, one at a time: the work is the deposits whose time came, not every unbonding one.
  for (;;) {
    const [first] = await ctx.kv.list<number>('unbond/', { limit: 1 });
    if (!first || Number(first[0].split('/')[1]) > ctx.now) break;
    const [k, id] = first;
    ctx.kv.del(k);
    const sp = await getProvider(ctx.kv, id);
    if (!sp) continue;
    const amount = BigInt(sp.deposit ?? '0');
    sp.deposit = '0';
    ctx.kv.put(`sp/${sp.id}`, sp);
    await move(ctx.kv, SP_DEPOSIT_POOL, sp.fundingAddress, amount);
    emit(ctx, 'provider-deposit-released', { sp_id: sp.id, amount, to: sp.fundingAddress });
  }
  const last = await ctx.kv.get<GlobalPriceRecord>(GLOBAL_PRICE_KEY);
  if (last && ctx.now - last.at < params.pricePeriodMs) return;
  const providers = await listProviders(ctx.kv);
  if (!providers.some(isActive)) return;
  const median = medianPrices(providers);
  const next: GlobalPriceRecord = last
    ? { primary: bounded(last.primary, median.primary, params.maxPriceChangePercent), read: bounded(last.read, median.read, params.maxPriceChangePercent), at: ctx.now }
    : { primary: median.primary, read: median.read, at: ctx.now };
  ctx.kv.put(GLOBAL_PRICE_KEY, next);
  // The first record only writes down the genesis prices; a change is news.
  if (last && (last.primary !== next.primary || last.read !== next.read)) {
    emit(ctx, 'global-price-updated', { primary_store_price: next.primary, read_price: next.read });
  }
}
