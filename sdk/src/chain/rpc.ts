// Plain CometBFT JSON-RPC calls (undici) for what greenfield-js-sdk has no call for: the event
// feed, fast transaction confirmation and the project's JSON extension queries.

import { request } from 'undici';
import { InsituError, errorCodeOf, throwIfAborted, toAbortError, type ErrorCode } from '@insitu/protocol';
import { withFailover } from './failover.ts';
import { encodeJson, decodeJson, MANY_QUERY_MAX, MANY_QUERY_PATH, MANY_QUERY_PATHS, type InsituQueryPath, type QueryRequest, type QueryResponse } from '@insitu/protocol/chain';

let nextId = 1;

/**
 * How long an RPC may take to begin its answer to a call (beyond what a long poll asks it to
 * wait), and then to finish it. A validator that takes connections and answers nothing (frozen,
 * or hostile) held every call for undici's five minutes; past the deadline the call fails with
 * ERR_CHAIN_UNAVAILABLE and goes to the next validator (failover.ts). A chain answers in
 * milliseconds; a busy one in seconds.
 */
export const CHAIN_CALL_DEADLINE_MS = 15_000;

/** Deadlines chosen for an `rpcUrl` (ChainReaderOptions.callDeadlineMs), as its clients name it. */
const deadlines = new Map<string, number>();

/** Sets the deadline of the calls made to `rpcUrl` (every client naming it that way). */
export function setCallDeadline(rpcUrl: string, ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `a chain call deadline is a positive number of milliseconds, not ${ms}`);
  deadlines.set(rpcUrl, ms);
}

/** The dispatch timeouts of a call with `deadlineMs`: its answer's head within it (plus a long poll's wait), its body within it after. */
const timeouts = (deadlineMs: number, params: Record<string, unknown>): { headersTimeout: number; bodyTimeout: number } => ({
  headersTimeout: deadlineMs + (typeof params.wait_ms === 'number' ? params.wait_ms : 0),
  bodyTimeout: deadlineMs,
});

/** One JSON-RPC call; with several endpoints in `rpcUrl`, the first that answers (see failover.ts). */
export function jsonRpc<T>(rpcUrl: string, method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  const deadlineMs = deadlines.get(rpcUrl) ?? CHAIN_CALL_DEADLINE_MS;
  // A broadcast is not repeated on one endpoint: the first may have arrived.
  return withFailover(rpcUrl, (url) => jsonRpcOne<T>(url, method, params, deadlineMs, signal), { idempotent: !method.startsWith('broadcast') && !signal?.aborted });
}

type RpcAnswer<T> = { id?: unknown; result?: T; error?: { code: number; message: string; data?: string } };

/** Queries asked of one endpoint in the same turn of the event loop, sent together (see below). */
interface Asked {
  params: Record<string, unknown>;
  deadlineMs: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}
const asked = new Map<string, Asked[]>();
/** Requests in one JSON-RPC batch: CometBFT's default bound (max_request_batch_size; the embedded chain takes 20). */
const MAX_BATCH = 10;

/**
 * abci_query calls made in the same turn of the event loop to one endpoint (a node checking the
 * objects of a batch of pieces, many uploads of one process reading their objects) go as one
 * JSON-RPC batch (of at most 10): one HTTP request and one answer to parse on both sides instead of one each.
 * Each call still gets its own answer or error. A call with a signal goes alone, so its abort
 * cuts nothing else; long polls and broadcasts go alone too.
 */
function queryTogether<T>(rpcUrl: string, params: Record<string, unknown>, deadlineMs: number): Promise<T> {
  let list = asked.get(rpcUrl);
  if (!list) {
    asked.set(rpcUrl, (list = []));
    setImmediate(() => {
      asked.delete(rpcUrl);
      const all = list!;
      const many = noMany.has(rpcUrl) ? [] : all.filter(fitsMany);
      const rest = many.length >= 2 ? all.filter((c) => !fitsMany(c)) : all;
      if (many.length >= 2) for (let i = 0; i < many.length; i += MANY_QUERY_MAX) void sendMany(rpcUrl, many.slice(i, i + MANY_QUERY_MAX));
      for (let i = 0; i < rest.length; i += MAX_BATCH) void sendTogether(rpcUrl, rest.slice(i, i + MAX_BATCH));
    });
  }
  return new Promise<T>((resolve, reject) => list.push({ params, deadlineMs, resolve: resolve as (v: unknown) => void, reject }));
}

/** The endpoints that refused the query of many. */
const noMany = new Set<string>();

const fitsMany = (c: Asked): boolean =>
  typeof c.params.path === 'string' && MANY_QUERY_PATHS.has(c.params.path) && typeof c.params.data === 'string' && /^[0-9a-fA-F]*$/.test(c.params.data) &&
  Object.keys(c.params).length === 2;

interface ManyAnswer { code: number; log: string; codespace: string; height: bigint; value: string }

/** The longest deadline among calls sent together. */
const longest = (calls: Asked[]): number => Math.max(...calls.map((c) => c.deadlineMs));

/**
 * The chain's query of many queries (chain/src/rpc/query.ts): the heads asked in the same turn
 * go as one abci_query there, one answer to parse on both sides instead of one per query, and
 * up to MANY_QUERY_MAX of them in one request instead of MAX_BATCH. Each call still gets its own
 * answer, in abci_query's own shape. A chain that does not answer it (CometBFT's RPC of a chain
 * without it, Greenfield) is asked query by query from then on.
 */
async function sendMany(rpcUrl: string, calls: Asked[]): Promise<void> {
  const queries = calls.map((c) => ({ path: c.params.path as string, data: new Uint8Array(Buffer.from(c.params.data as string, 'hex')) }));
  let answers: ManyAnswer[] | undefined;
  try {
    const r = await callAlone<{ response: { code: number; value: string | null } }>(rpcUrl, 'abci_query', { path: MANY_QUERY_PATH, data: Buffer.from(encodeJson({ queries })).toString('hex') }, longest(calls));
    if (r.response.code === 0) answers = decodeJson<{ answers: ManyAnswer[] }>(Buffer.from(r.response.value ?? '', 'base64').toString('utf8')).answers;
  } catch (e) {
    if (!(e instanceof InsituError) || e.code !== 'ERR_TX_FAILED') {
      // Not heard at all: each call hears it, as from a batch.
      for (const c of calls) c.reject(e);
      return;
    }
  }
  if (!Array.isArray(answers) || answers.length !== calls.length) {
    noMany.add(rpcUrl);
    for (let i = 0; i < calls.length; i += MAX_BATCH) void sendTogether(rpcUrl, calls.slice(i, i + MAX_BATCH));
    return;
  }
  calls.forEach((c, i) => {
    const a = answers[i]!;
    c.resolve({ response: { code: a.code, log: a.log, info: '', index: '0', key: null, value: a.value, proofOps: null, height: String(a.height), codespace: a.codespace } });
  });
}

async function sendTogether(rpcUrl: string, calls: Asked[]): Promise<void> {
  if (calls.length === 1) {
    const c = calls[0]!;
    return callAlone(rpcUrl, 'abci_query', c.params, c.deadlineMs).then(c.resolve, c.reject);
  }
  const first = nextId;
  nextId += calls.length;
  let answers: RpcAnswer<unknown>[];
  try {
    const res = await request(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(calls.map((c, i) => ({ jsonrpc: '2.0', id: first + i, method: 'abci_query', params: c.params }))),
      ...timeouts(longest(calls), {}),
    });
    const body = (await res.body.json()) as RpcAnswer<unknown>[] | RpcAnswer<unknown>;
    if (!Array.isArray(body)) {
      // A refusal of the batch as a whole: each call hears it.
      const e = body.error ? rpcFailure('abci_query', body.error) : new InsituError('ERR_CHAIN_UNAVAILABLE', `chain RPC ${rpcUrl} did not answer a batch of queries`);
      for (const c of calls) c.reject(e);
      return;
    }
    answers = body;
  } catch (cause) {
    const e = new InsituError('ERR_CHAIN_UNAVAILABLE', `chain RPC ${rpcUrl} did not answer abci_query`, { cause });
    for (const c of calls) c.reject(e);
    return;
  }
  const byId = new Map(answers.map((a) => [a.id, a]));
  calls.forEach((c, i) => {
    const a = byId.get(first + i);
    if (!a) c.reject(new InsituError('ERR_CHAIN_UNAVAILABLE', `chain RPC ${rpcUrl} left a query of a batch unanswered`));
    else if (a.error) c.reject(rpcFailure('abci_query', a.error));
    else c.resolve(a.result);
  });
}

const rpcFailure = (method: string, error: NonNullable<RpcAnswer<unknown>['error']>): InsituError =>
  new InsituError('ERR_TX_FAILED', `${method}: ${error.message}${error.data ? ` (${error.data})` : ''}`, { details: { rpcCode: error.code } });

function jsonRpcOne<T>(rpcUrl: string, method: string, params: Record<string, unknown>, deadlineMs: number, signal?: AbortSignal): Promise<T> {
  if (method === 'abci_query' && !signal) return queryTogether<T>(rpcUrl, params, deadlineMs);
  return callAlone<T>(rpcUrl, method, params, deadlineMs, signal);
}

async function callAlone<T>(rpcUrl: string, method: string, params: Record<string, unknown>, deadlineMs: number, signal?: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  let body: RpcAnswer<T>;
  try {
    const res = await request(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      ...timeouts(deadlineMs, params),
      ...(signal ? { signal } : {}),
    });
    body = (await res.body.json()) as typeof body;
  } catch (cause) {
    if (signal?.aborted) throw toAbortError(signal.reason);
    throw new InsituError('ERR_CHAIN_UNAVAILABLE', `chain RPC ${rpcUrl} did not answer ${method}`, { cause });
  }
  if (body.error) throw rpcFailure(method, body.error);
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
