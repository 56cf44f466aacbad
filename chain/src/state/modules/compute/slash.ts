// Slashing a provider's deposit for a receipt a dispute overturned. The deposit is held in the
// providers' deposit pool; the provider record's `deposit` says how much of it is this
// provider's. What is slashed moves from the pool to `to` (the compute escrow, which pays the
// wronged parties), so money is conserved.

import type { KV } from '../../store.ts';
import { move } from '../bank.ts';
import { getProvider, SP_DEPOSIT_POOL, type ProviderRecord } from '../providers.ts';

type WithDeposit = ProviderRecord & { deposit?: string };

/** A provider's deposit as its record states it (0 when the record has none). */
export const depositOf = (p: ProviderRecord): bigint => BigInt(String((p as WithDeposit).deposit ?? '0'));

/** Takes up to `amount` from provider `spId`'s deposit into `to`; returns what was taken. */
export async function slashDeposit(kv: KV, spId: number, amount: bigint, to: string): Promise<bigint> {
  const p = (await getProvider(kv, spId)) as WithDeposit | undefined;
  if (!p || amount <= 0n) return 0n;
  const have = depositOf(p);
  const taken = amount < have ? amount : have;
  if (taken <= 0n) return 0n;
  await move(kv, SP_DEPOSIT_POOL, to, taken);
  p.deposit = String(have - taken);
  kv.put(`sp/${p.id}`, p);
  return taken;
}
