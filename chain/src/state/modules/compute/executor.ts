// Choosing a job's executor. The candidates are the providers that hold the input: the primary
// of its bucket (a verified whole copy) and the secondaries of its group (data or parity pieces,
// from which they rebuild the object as verifiers do). A submission names one, or states a
// maximum compute price, or asks for the cheapest; the chain records the winner and its price,
// which is what settlement charges per unit of fuel.

import { fail } from '../../context.ts';
import type { KV } from '../../store.ts';
import { getProvider, getGvg, isActive, type ProviderRecord } from '../providers.ts';

export interface ExecutorChoice {
  /** A provider the submitter names (0: let the chain choose). */
  named: number;
  /** Most the submitter pays per unit of fuel (null: no limit). */
  maxPrice: bigint | null;
  cheapest: boolean;
  /** Providers that may not win (the one a job is being taken from). */
  exclude: number[];
}

/** The input's holders in order: its bucket's primary, then its group's secondaries. */
export async function candidatesOf(kv: KV, primarySpId: number, gvgId: number): Promise<number[]> {
  const g = await getGvg(kv, gvgId);
  return [...new Set([primarySpId, ...(g?.secondarySpIds ?? [])])];
}

/** The winner and its price, or ERR_PROVIDER_NOT_FOUND / ERR_INVALID_ARGUMENT. */
export async function chooseExecutor(kv: KV, candidates: number[], c: ExecutorChoice): Promise<{ spId: number; price: bigint }> {
  const priceOf = (p: ProviderRecord): bigint => BigInt(p.computePrice || '0');
  if (c.named !== 0) {
    const p = await getProvider(kv, c.named);
    if (!p) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${c.named}`);
    if (c.exclude.includes(p.id)) fail('ERR_INVALID_ARGUMENT', `provider ${p.id} did not run the job in time; name another`);
    if (c.maxPrice !== null && priceOf(p) > c.maxPrice) fail('ERR_INVALID_ARGUMENT', `provider ${p.id} charges ${priceOf(p)} per unit of fuel, above the maximum ${c.maxPrice}`);
    return { spId: p.id, price: priceOf(p) };
  }
  const [primary] = candidates;
  if (c.maxPrice === null && !c.cheapest && primary !== undefined && !c.exclude.includes(primary)) {
    // The default, as before choices existed: the primary, which holds the input whole.
    const p = await getProvider(kv, primary);
    if (!p) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${primary}`);
    return { spId: p.id, price: priceOf(p) };
  }
  const eligible: ProviderRecord[] = [];
  for (const id of candidates) {
    const p = await getProvider(kv, id);
    if (p && isActive(p) && !c.exclude.includes(id) && (c.maxPrice === null || priceOf(p) <= c.maxPrice)) eligible.push(p);
  }
  if (eligible.length === 0) {
    return fail('ERR_PROVIDER_NOT_FOUND', `no provider holding the input is in service${c.maxPrice !== null ? ` at a compute price of at most ${c.maxPrice}` : ''}${c.exclude.length ? ` other than ${c.exclude.join(', ')}` : ''}`);
  }
  // Without "cheapest", the primary wins whenever it qualifies (it needs no rebuild); otherwise the
  // lowest price, ties to the candidate order (primary first, then the group's order).
  if (!c.cheapest && eligible[0]!.id === primary) return { spId: primary, price: priceOf(eligible[0]!) };
  let best = eligible[0]!;
  for (const p of eligible) if (priceOf(p) < priceOf(best)) best = p;
  return { spId: best.id, price: priceOf(best) };
}
