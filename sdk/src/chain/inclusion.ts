// Waiting for a transaction's block. The embedded chain answers `insitu_tx`, which holds the
// request until the block that includes the transaction is committed: one request per
// transaction instead of a poll every few milliseconds that, with many transactions in flight,
// would cost the chain more than the transactions themselves. CometBFT's RPC has no such method
// (it answers "method not found"), so against validators `tx` is polled, less often the longer
// the wait. A chain that makes no block at all while a transaction waits is reported halted.

import { InsituError, throwIfAborted, toAbortError, type Hex } from '@insitu/protocol';
import type { CallOptions, TxResult } from '@insitu/protocol/chain';
import { jsonRpc, chainError } from './rpc.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The RPCs known to lack `insitu_tx` (CometBFT validators), so they are not asked again. */
const noLongPoll = new Set<string>();
/** The RPCs that answered `insitu_tx`: the embedded chain's, which makes a block every few milliseconds. */
const longPoll = new Set<string>();

/** Whether `rpcUrl` is known to be the embedded chain's (it answered `insitu_tx`). */
export const embeddedRpc = (rpcUrl: string): boolean => longPoll.has(rpcUrl);

/** How long one long-poll request is held (the chain caps it at 30 s). */
const LONG_POLL_MS = 10_000;

const chainHeight = async (rpcUrl: string): Promise<bigint | undefined> =>
  jsonRpc<Rec>(rpcUrl, 'status', {}).then((s) => BigInt(s.sync_info.latest_block_height), () => undefined);

const notFound = (e: unknown): boolean => e instanceof InsituError && e.code === 'ERR_TX_FAILED' && /not found/.test(e.message);

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise<void>((resolve, reject) => {
  const done = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
    resolve();
  };
  const abort = (): void => {
    clearTimeout(timer);
    reject(toAbortError(signal!.reason));
  };
  const timer = setTimeout(done, ms);
  signal?.addEventListener('abort', abort, { once: true });
});

/** The transaction once it is in a block; ERR_TX_FAILED (or the chain's own code) when it failed there. */
export async function waitForTx(rpcUrl: string, txHash: string, o?: CallOptions & { timeoutMs?: number }): Promise<TxResult & { data?: string }> {
  const hash = txHash.replace(/^0x/, '').toUpperCase();
  const timeoutMs = o?.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  // The height when the transaction was first not found: a chain still there at the deadline
  // made no block in between (asked only then, so a quick inclusion costs no status request).
  let startHeight: Promise<bigint | undefined> | undefined;
  const found = (r: Rec): TxResult & { data?: string } => {
    if (r.tx_result.code !== 0) throw chainError(String(r.tx_result.log));
    return { txHash: `0x${hash.toLowerCase()}` as Hex, height: BigInt(r.height), data: String(r.tx_result.data ?? '') };
  };
  for (let poll = 20; ;) {
    throwIfAborted(o?.signal);
    const left = deadline - Date.now();
    if (!noLongPoll.has(rpcUrl)) {
      try {
        const r = await jsonRpc<Rec>(rpcUrl, 'insitu_tx', { hash, wait_ms: Math.max(0, Math.min(left, LONG_POLL_MS)) }, o?.signal);
        longPoll.add(rpcUrl);
        return found(r);
      } catch (e) {
        if (e instanceof InsituError && e.details?.rpcCode === -32601) noLongPoll.add(rpcUrl);
        else if (!notFound(e)) throw e;
      }
    } else {
      try {
        return found(await jsonRpc<Rec>(rpcUrl, 'tx', { hash: Buffer.from(hash, 'hex').toString('base64') }, o?.signal));
      } catch (e) {
        if (!notFound(e)) throw e;
      }
    }
    startHeight ??= chainHeight(rpcUrl);
    if (Date.now() >= deadline) {
      // No block at all since the tx was sent: the chain is halted (too few validators up).
      const [before, now] = [await startHeight, await chainHeight(rpcUrl)];
      if (now === undefined || (before !== undefined && now <= before)) {
        throw new InsituError('ERR_CHAIN_UNAVAILABLE', `the chain made no block while transaction ${hash} waited ${Math.round(timeoutMs / 1000)} s (at height ${now ?? before ?? '?'}): too few validators are up; it is not included`);
      }
      throw new InsituError('ERR_TX_TIMEOUT', `transaction ${hash} was not included within the timeout`);
    }
    if (noLongPoll.has(rpcUrl)) {
      await sleep(Math.min(poll, Math.max(1, deadline - Date.now())), o?.signal);
      poll = Math.min(poll * 1.5, 250);
    }
  }
}
