// Freezing and resuming stream records: Greenfield's auto-settle (its EndBlocker) freezes a payer
// whose balance ran out, and a deposit or a transfer that covers the reserve again resumes it.

import { lower, type FeedEmit } from '../../context.ts';
import type { KV } from '../../store.ts';
import {
  STREAM_ACTIVE, STREAM_FROZEN, RESERVE_TIME_S, FORCED_SETTLE_TIME_S, type StreamRecord, type OutFlow,
  getStreamRecord, settleTo, settleAfter, saveRecord, topUpFromBank, ownBank, shiftRate, frozenError,
} from './stream.ts';

export async function isFrozen(kv: KV, account: string): Promise<boolean> {
  return (await getStreamRecord(kv, account))?.status === STREAM_FROZEN;
}

export async function requireNotFrozen(kv: KV, account: string, what: string): Promise<void> {
  if (await isFrozen(kv, account)) frozenError(account, what);
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
