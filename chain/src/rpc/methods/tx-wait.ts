// insitu_tx: one transaction by hash like `tx`, long-polling up to wait_ms for the block that
// includes it. A client waits for its transaction with one request instead of polling `tx`
// every few milliseconds; CometBFT's RPC has no such method, so clients fall back to `tx` there.

import { RpcError, hexUpper, txJson } from '../json.ts';
import type { Method, MethodContext } from './context.ts';
import type { TxRecord } from '../../state/types.ts';

/** The longest a single insitu_tx request is held. */
export const MAX_TX_WAIT_MS = 30_000;

export const txWait = ({ app, nextCommit, admitted }: MethodContext): Method => async (params) => {
  const raw = String(params.hash ?? '');
  const hash = new Uint8Array(Buffer.from(raw, /^[0-9a-fA-F]{64}$/.test(raw) ? 'hex' : 'base64'));
  if (hash.length !== 32) throw new RpcError(-32602, 'Invalid params', 'ERR_INVALID_ARGUMENT: hash must be 32 bytes, in hex or base64');
  const waitMs = Math.min(Math.max(Number(params.wait_ms ?? 0) || 0, 0), MAX_TX_WAIT_MS);
  const deadline = Date.now() + waitMs;
  // Admitted here and not yet in a block: answered when its block commits, without reading the
  // state for it at every commit meanwhile. A record that failed in its block is read from the
  // state, which keeps an earlier successful inclusion of the same bytes (see block.ts).
  const inclusion = admitted?.(Buffer.from(hash).toString('hex'));
  if (inclusion) {
    const rec = await within(inclusion, waitMs);
    if (rec?.result.code === 0) return txJson(rec);
  }
  for (;;) {
    const rec = await app.getTx(hash);
    if (rec && rec.index >= 0) return txJson(rec);
    const left = deadline - Date.now();
    if (left <= 0) throw new RpcError(-32603, `tx (${hexUpper(hash)}) not found`);
    await nextCommit(left);
  }
};

/** The record once `p` resolves, or undefined if it fails or `ms` pass first. */
function within(p: Promise<TxRecord>, ms: number): Promise<TxRecord | undefined> {
  return new Promise<TxRecord | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then((rec) => {
      clearTimeout(timer);
      resolve(rec);
    }, () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}
