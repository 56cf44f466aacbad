// The embedded chain's wire front: the CometBFT JSON-RPC subset that greenfield-js-sdk and
// cosmjs use (status, abci_query, broadcast_tx_*, tx, tx_search, block), plus insitu_events, a
// long-polling form of the event feed (which is also the abci query /insitu.events.Query/Feed,
// the form every validator's CometBFT RPC answers). Broadcast txs pass CheckTx and wait in the
// chain's mempool for its next block. This file is the HTTP side: bodies, batches, errors; each
// method is a file of its own under methods/.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InsituError } from '@insitu/protocol';
import type { ChainApp, TxRecord, ExecResult } from '../state/types.ts';
import type { Logger } from '../state/app.ts';
import { RpcError } from './json.ts';
import { createMethods } from './methods/index.ts';

export { resultData } from './json.ts';

/** A POST body: room for one maximum-size transaction in base64 with its JSON around it. */
export const MAX_BODY = 2 * 1024 * 1024;
/** Requests in one JSON-RPC batch (cosmjs' batch client sends at most 20), bounded before any work. */
export const MAX_BATCH = 20;

export interface RpcServerOptions {
  app: ChainApp;
  evmChainId: string;
  host: string;
  port: number;
  logger: Logger;
  /** CheckTx, and on success the tx joins the chain's mempool: `included` resolves once it is in a block. */
  admit(raw: Uint8Array): Promise<{ result: ExecResult; hash: Uint8Array; included?: Promise<TxRecord> }>;
}

export interface RpcServer {
  start(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A request's body as text, or undefined as soon as it passes MAX_BODY. Read by its events: an
 * async iterator over the request costs more than the small bodies most requests carry.
 */
function bodyOf(req: IncomingMessage): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY) {
        done();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    // Closed before its end without an error (a client that went away): heard as one.
    const onClose = (): void => onError(new Error('the request closed before its end'));
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function createRpcServer(opts: RpcServerOptions): RpcServer {
  const { app, logger } = opts;
  let server: Server | undefined;
  const waiters = new Set<() => void>();
  let unsubscribe: (() => void) | undefined;

  const nextCommit = (waitMs: number): Promise<void> => new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      waiters.delete(done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    waiters.add(done);
  });
  /** Transactions admitted through this server and waiting for their block, by hash (hex). */
  const waiting = new Map<string, Promise<TxRecord>>();
  const admit: RpcServerOptions['admit'] = async (raw) => {
    const r = await opts.admit(raw);
    const { included } = r;
    if (included) {
      const key = Buffer.from(r.hash).toString('hex');
      waiting.set(key, included);
      const done = (): void => {
        if (waiting.get(key) === included) waiting.delete(key);
      };
      included.then(done, done);
    }
    return r;
  };
  const methods = createMethods({ app, logger, admit, nextCommit, admitted: (hash) => waiting.get(hash) });

  async function call(req: { id?: unknown; method?: unknown; params?: unknown }): Promise<Record<string, unknown>> {
    const id = req.id ?? -1;
    try {
      const fn = typeof req.method === 'string' ? methods[req.method] : undefined;
      if (!fn) throw new RpcError(-32601, 'Method not found', String(req.method));
      const params = (req.params && typeof req.params === 'object' && !Array.isArray(req.params) ? req.params : {}) as Record<string, unknown>;
      return { jsonrpc: '2.0', id, result: await fn(params) };
    } catch (e) {
      if (e instanceof RpcError) return { jsonrpc: '2.0', id, error: { code: e.rpcCode, message: e.message, data: e.data } };
      if (e instanceof InsituError && e.code !== 'ERR_INTERNAL') return { jsonrpc: '2.0', id, error: { code: -32602, message: 'Invalid params', data: `${e.code}: ${e.message}` } };
      logger.error('rpc method failed', { method: String(req.method), error: String(e) });
      return { jsonrpc: '2.0', id, error: { code: -32603, message: 'Internal error', data: e instanceof Error ? e.message : String(e) } };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET') {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = url.pathname.replace(/^\//, '');
      const params: Record<string, unknown> = {};
      for (const [k, v] of url.searchParams) params[k] = v.replace(/^"(.*)"$/, '$1');
      if (method === '') return send(200, { methods: Object.keys(methods) });
      return send(200, await call({ id: -1, method, params }));
    }
    if (req.method !== 'POST') return send(405, { jsonrpc: '2.0', id: -1, error: { code: -32600, message: 'use GET or POST' } });
    const tooLarge = (): void => {
      res.setHeader('connection', 'close');
      send(413, { jsonrpc: '2.0', id: -1, error: { code: -32600, message: `request larger than ${MAX_BODY} bytes`, data: 'ERR_PAYLOAD_TOO_LARGE' } });
    };
    // Refused before reading when the size is declared, and as soon as it passes the bound otherwise.
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return tooLarge();
    const text = await bodyOf(req);
    if (text === undefined) return tooLarge();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return send(200, { jsonrpc: '2.0', id: -1, error: { code: -32700, message: 'Parse error' } });
    }
    if (Array.isArray(body)) {
      // Bounded before any work, so one anonymous POST cannot buy unbounded signature recoveries;
      // run one after another, so a batch takes its turn instead of flooding the event loop.
      if (body.length === 0 || body.length > MAX_BATCH) {
        return send(200, { jsonrpc: '2.0', id: -1, error: { code: -32600, message: 'Invalid request', data: `ERR_BAD_REQUEST: a batch holds 1 to ${MAX_BATCH} requests, not ${body.length}` } });
      }
      const out: unknown[] = [];
      for (const b of body) out.push(b && typeof b === 'object' && !Array.isArray(b) ? await call(b as never) : { jsonrpc: '2.0', id: -1, error: { code: -32600, message: 'Invalid request' } });
      return send(200, out);
    }
    if (!body || typeof body !== 'object') return send(200, { jsonrpc: '2.0', id: -1, error: { code: -32600, message: 'Invalid request' } });
    return send(200, await call(body as never));
  }

  return {
    async start() {
      unsubscribe = app.onCommit(() => {
        for (const w of [...waiters]) w();
      });
      server = createServer((req, res) => {
        handle(req, res).catch((e) => {
          logger.error('rpc request failed', { error: String(e) });
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      });
      server.keepAliveTimeout = 5000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(opts.port, opts.host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      return `http://${opts.host}:${addr.port}`;
    },
    async stop() {
      unsubscribe?.();
      for (const w of [...waiters]) w();
      if (!server) return;
      const s = server;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}
