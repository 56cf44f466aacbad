// Payments. Today: transaction fees, paid into the fee collector so that the sum of all balances
// stays exactly what genesis created. Greenfield's stream payments (a StreamRecord per payment
// account with static balance, netflow rate, buffer and lock balances, settled on every change)
// belong here too when storage is charged over time: bucket and object messages would call into
// this module, never touch balances themselves.

import type { Hex } from '@insitu/sdk/crypto/keys.ts';
import type { KV } from '../store.ts';
import { move, FEE_COLLECTOR } from './bank.ts';

/** Charges a transaction's fee to its signer (fails with ERR_INSUFFICIENT_BALANCE). */
export async function chargeFee(kv: KV, payer: Hex, amount: bigint): Promise<void> {
  await move(kv, payer, FEE_COLLECTOR, amount);
}

/** Accounts the chain itself holds funds in; every conservation sum includes them. */
export { FEE_COLLECTOR };
