// Plain CometBFT JSON-RPC calls (undici) for what greenfield-js-sdk has no call for: the event
// feed, fast transaction confirmation and the project's JSON extension queries.

import { request } from 'undici';
import { InsituError, errorCodeOf, throwIfAborted, toAbortError, type ErrorCode } from '@insitu/protocol';
import { withFailover } from './failover.ts';
import { encodeJson, decodeJson, type InsituQueryPath, type QueryRequest, type QueryResponse } from '@insitu/protocol/chain';

let nextId = 1;

/** One JSON-RPC call; with several endpoints in `rpcUrl`, the first that answers (see failover.ts). */
export function jsonRpc<T>(rpcUrl: string, method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  // A broadcast is not repeated on one endpoint: the first may have arrived.
  return withFailover(rpcUrl, (url) => jsonRpcOne<T>(url, method, params, signal), { idempotent: !method.startsWith('broadcast') && !signal?.aborted });
}

async function jsonRpcOne<T>(rpcUrl: string, method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  let body: { result?: T; error?: { code: number; message: string; data?: string } };
  try {
    const res = await request(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      ...(signal ? { signal } : {}),
    });
    body = (await res.body.json()) as typeof body;
  } catch (cause) {
    if (signal?.aborted) throw toAbortError(signal.reason);
    throw new InsituError('ERR_CHAIN_UNAVAILABLE', `chain RPC ${rpcUrl} did not answer ${method}`, { cause });
  }
  if (body.error) {
    throw new InsituError('ERR_TX_FAILED', `${method}: ${body.error.message}${body.error.data ? ` (${body.error.data})` : ''}`, { details: { rpcCode: body.error.code } });
  }
  return body.result as T;
}

/** Turns a chain log "ERR_CODE: message" into the matching InsituError. */
export function chainError(log: string, fallback: ErrorCode = 'ERR_TX_FAILED', cause?: unknown): InsituError {
  const m = /(ERR_[A-Z_]+): ([\s\S]*)$/.exec(log);
  const opts = cause === undefined ? {} : { cause };
  return m ? new InsituError(errorCodeOf(m[1], fallback), m[2]!.trim(), opts) : new InsituError(fallback, log, opts);
}

/**
 * One of the chain's own query paths, typed by the protocol's table (what it takes and answers is
 * defined once, for the chain and for this client).
 */
export async function extensionQuery<P extends InsituQueryPath>(rpcUrl: string, path: P, req: QueryRequest<P>, signal?: AbortSignal): Promise<QueryResponse<P>> {
  const data = Buffer.from(encodeJson(req)).toString('hex');
  const r = await jsonRpc<{ response: { code: number; log: string; value: string } }>(rpcUrl, 'abci_query', { path, data }, signal);
  if (r.response.code !== 0) throw chainError(r.response.log, 'ERR_NOT_FOUND');
  return decodeJson<QueryResponse<P>>(Buffer.from(r.response.value, 'base64').toString('utf8'));
}

export interface FeedRow {
  seq: string;
  height: string;
  tx_hash: string | null;
  type: string;
  attributes: Record<string, string>;
}

const FEED_POLL_MS = 100;

/**
 * The event feed after `after`: the embedded chain's long poll (insitu_events) where the RPC
 * has it, else the abci query every validator's CometBFT answers, polled until `waitMs` passes.
 */
export async function feedEvents(rpcUrl: string, after: bigint, limit: number, waitMs: number, signal?: AbortSignal): Promise<{ events: FeedRow[] }> {
  try {
    return await jsonRpc<{ events: FeedRow[] }>(rpcUrl, 'insitu_events', { after: after.toString(), limit, wait_ms: waitMs }, signal);
  } catch (e) {
    if (!(e instanceof InsituError) || e.details?.rpcCode !== -32601) throw e;
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await extensionQuery(
      rpcUrl, '/insitu.events.Query/Feed', { after: after.toString(), limit }, signal);
    if (r.events.length > 0 || Date.now() >= deadline) {
      return {
        events: r.events.map((e) => ({
          seq: e.seq.toString(), height: e.height.toString(), tx_hash: e.txHash ? Buffer.from(e.txHash).toString('hex').toUpperCase() : null, type: e.type, attributes: e.attributes,
        })),
      };
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(FEED_POLL_MS, Math.max(1, deadline - Date.now())));
      signal?.addEventListener('abort', done, { once: true });
    });
    throwIfAborted(signal);
  }
}
