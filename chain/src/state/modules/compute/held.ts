// What a settled job holds in escrow for its dispute window: the provider's compute fee and, for
// a job under a data offer, the data owner's fee. Both move together: paid out when the window
// closes (or a dispute upholds the receipt), returned to the submitter when a dispute overturns it.

import type { KV } from '../../store.ts';
import { move } from '../bank.ts';
import { getProvider } from '../providers.ts';
import { COMPUTE_ESCROW, type JobRecord } from './records.ts';
import { giveBack } from './runs.ts';

/** The data owner's held fee (0 for a job under no offer). */
export const dataFeeHeld = (job: JobRecord): bigint => job.dataFee ?? 0n;

/** Pays the held fees: the compute fee to the executor's funding address, the data fee to the owner. Returns whether the provider exists. */
export async function payHeld(kv: KV, job: JobRecord): Promise<boolean> {
  const p = await getProvider(kv, job.executorSpId);
  if (!p) return false;
  await move(kv, COMPUTE_ESCROW, p.fundingAddress, job.fee);
  if (dataFeeHeld(job) > 0n && job.dataOwner) await move(kv, COMPUTE_ESCROW, job.dataOwner, dataFeeHeld(job));
  return true;
}

/** Returns the held fees to the submitter, or to its dataset run while that is open (an overturned receipt). */
export async function refundHeld(kv: KV, job: JobRecord): Promise<void> {
  await giveBack(kv, job, job.fee + dataFeeHeld(job));
}
