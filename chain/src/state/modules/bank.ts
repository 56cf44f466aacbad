// Accounts and balances (auth + bank): account numbers, sequences, transfers in BNB base units.

import { checksumAddress, isAddress, type Hex } from '@insitu/protocol';
import { codec, toLong, big } from '../../gnfd.ts';
import { fail, lower, nextId, type QueryContext, type QueryHandler, type QueryTable } from '../context.ts';
import type { KV } from '../store.ts';

export const DENOM = 'BNB';
/** Fees are paid here; counted in every conservation sum. */
export const FEE_COLLECTOR = '0x00000000000000000000000000000000000fee00' as Hex;

export interface AccountRecord {
  address: Hex;
  number: bigint;
  sequence: bigint;
  balance: bigint;
}

export const accountKey = (a: string): string => `acct/${lower(a)}`;

export async function getAccount(kv: KV, address: string): Promise<AccountRecord | undefined> {
  return kv.get<AccountRecord>(accountKey(address));
}

export async function ensureAccount(kv: KV, address: string): Promise<AccountRecord> {
  if (!isAddress(address)) fail('ERR_INVALID_ARGUMENT', `not an address: ${address}`);
  const found = await getAccount(kv, address);
  if (found) return found;
  const acct: AccountRecord = { address: checksumAddress(address), number: (await nextId(kv, 'account')) - 1n, sequence: 0n, balance: 0n };
  kv.put(accountKey(address), acct);
  return acct;
}

export async function move(kv: KV, from: string, to: string, amount: bigint): Promise<void> {
  if (amount < 0n) fail('ERR_INVALID_ARGUMENT', 'negative amount');
  if (amount === 0n) return;
  const src = await getAccount(kv, from);
  if (!src || src.balance < amount) {
    fail('ERR_INSUFFICIENT_BALANCE', `account ${from} has ${src?.balance ?? 0n} BNB base units, needs ${amount}`);
  }
  src!.balance -= amount;
  kv.put(accountKey(from), src);
  const dst = await ensureAccount(kv, to);
  dst.balance += amount;
  kv.put(accountKey(to), dst);
}

const BaseAccount = codec('cosmos/auth/v1beta1/auth', 'BaseAccount');

const queryAccount: QueryHandler = async (ctx: QueryContext, req) => {
  const acct = await getAccount(ctx.kv, String(req.address));
  if (!acct) fail('ERR_ACCOUNT_NOT_FOUND', `account ${String(req.address)} not found`);
  const value = BaseAccount.encode(BaseAccount.fromPartial({
    address: acct!.address,
    accountNumber: toLong(acct!.number),
    sequence: toLong(acct!.sequence),
  })).finish();
  return { account: { typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value } };
};

const queryBalance: QueryHandler = async (ctx, req) => {
  const acct = await getAccount(ctx.kv, String(req.address));
  return { balance: { denom: DENOM, amount: (acct?.balance ?? 0n).toString() } };
};

export const bankQueries: QueryTable = {
  '/cosmos.auth.v1beta1.Query/Account': queryAccount,
  '/cosmos.bank.v1beta1.Query/Balance': queryBalance,
  '/cosmos.bank.v1beta1.Query/AllBalances': async (ctx, req) => {
    const acct = await getAccount(ctx.kv, String(req.address));
    return { balances: acct && acct.balance > 0n ? [{ denom: DENOM, amount: acct.balance.toString() }] : [] };
  },
};

export { big };
