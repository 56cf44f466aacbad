// The embedded chain's wire front: the CometBFT JSON-RPC subset that greenfield-js-sdk and
// cosmjs use (status, abci_query, broadcast_tx_*, tx, tx_search, block), plus insitu_events, a
// long-polling form of the event feed (which is also the abci query /insitu.events.Query/Feed,
// the form every validator's CometBFT RPC answers). Broadcast txs pass CheckTx and wait in the
// chain's mempool for its next block.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InsituError } from '@insitu/protocol';
import { codec, msgCodec } from '../gnfd.ts';
import { MAX_TX_BYTES } from '../tx/decode.ts';
import type { ChainApp, TxRecord, ExecResult, BlockInfo } from '../state/types.ts';
import type { Logger } from '../state/app.ts';
import { answerQuery } from './query.ts';

/** A POST body: room for one maximum-size transaction in base64 with its JSON around it. */
export const MAX_BODY = 2 * 1024 * 1024;
/** Requests in one JSON-RPC batch (cosmjs' batch client sends at most 20), bounded before any work. */
export const MAX_BATCH = 20;
const TxMsgData = codec('cosmos/base/abci/v1beta1/abci', 'TxMsgData');

class RpcError extends Error {
  constructor(readonly rpcCode: number, message: string, readonly data = '') {
    super(message);
  }
}

/** A non-negative integer parameter (decimal string or safe number), or Invalid params. */
function uintParam(v: unknown, name: string): bigint {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v : '';
  if (!/^\d{1,20}$/.test(s)) throw new RpcError(-32602, 'Invalid params', `ERR_INVALID_ARGUMENT: ${name} must be a non-negative integer, not ${String(JSON.stringify(v)).slice(0, 80)}`);
  return BigInt(s);
}

const hexUpper = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('Z', '000000Z');

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

/** A tx result's data as Cosmos carries it: TxMsgData with each message's response. */
export function resultData(result: ExecResult): Uint8Array {
  const msgResponses = result.responses.map((r) => {
    const c = msgCodec(r.typeUrl);
    let value: Uint8Array = new Uint8Array(0);
    try {
      if (c) value = c.encode(c.fromPartial(r.value)).finish();
    } catch {
      value = new Uint8Array(0);
    }
    return { typeUrl: r.typeUrl, value };
  });
  return TxMsgData.encode(TxMsgData.fromPartial({ msgResponses })).finish();
}

function txResultJson(result: ExecResult): Record<string, unknown> {
  return {
    code: result.code,
    data: result.code === 0 ? b64(resultData(result)) : '',
    log: result.log,
    info: result.errorCode ?? '',
    gas_wanted: result.gasWanted.toString(),
    gas_used: result.gasUsed.toString(),
    events: result.events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ ...a, index: true })) })),
    codespace: result.codespace,
  };
}

const txJson = (rec: TxRecord): Record<string, unknown> => ({
  hash: hexUpper(rec.hash),
  height: rec.height.toString(),
  index: rec.index,
  tx_result: txResultJson(rec.result),
  tx: b64(rec.raw),
});

function blockIdJson(b: BlockInfo): Record<string, unknown> {
  return { hash: hexUpper(b.hash), parts: { total: 1, hash: hexUpper(b.hash) } };
}

export function createRpcServer(opts: RpcServerOptions): RpcServer {
  const { app, logger } = opts;
  let server: Server | undefined;
  const waiters = new Set<() => void>();
  let unsubscribe: (() => void) | undefined;

  async function status(): Promise<Record<string, unknown>> {
    const b = await app.latestBlock();
    return {
      node_info: {
        protocol_version: { p2p: '8', block: '11', app: '0' },
        id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
        listen_addr: 'tcp://127.0.0.1:0',
        network: app.chainId,
        version: '0.37.2',
        channels: '40202122233038606100',
        moniker: 'insitu-devnet',
        other: { tx_index: 'on', rpc_address: 'tcp://127.0.0.1:0' },
      },
      sync_info: {
        latest_block_hash: hexUpper(b.hash),
        latest_app_hash: hexUpper(b.appHash ?? b.hash),
        latest_block_height: b.height.toString(),
        latest_block_time: rfc3339(b.time),
        earliest_block_height: '0',
        catching_up: false,
      },
      validator_info: {
        address: '0000000000000000000000000000000000000001',
        pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(new Uint8Array(32)) },
        voting_power: '1',
      },
    };
  }

  async function abciQuery(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const path = String(params.path ?? '');
    const data = new Uint8Array(Buffer.from(String(params.data ?? ''), 'hex'));
    const r = await answerQuery(app, logger, path, data);
    return { response: { code: r.code, log: r.log, info: '', index: '0', key: null, value: b64(r.value), proofOps: null, height: r.height.toString(), codespace: r.codespace } };
  }

  async function broadcast(params: Record<string, unknown>, commit: boolean): Promise<Record<string, unknown>> {
    const raw = new Uint8Array(Buffer.from(String(params.tx ?? ''), 'base64'));
    if (raw.length === 0 || raw.length > MAX_TX_BYTES) {
      return { code: 5, data: '', log: `ERR_BAD_REQUEST: transaction size ${raw.length} is outside 1..${MAX_TX_BYTES} bytes`, codespace: 'insitu', hash: hexUpper(new Uint8Array(32)) };
    }
    const { result: check, hash, included } = await opts.admit(raw);
    if (check.code !== 0 || !included) return { code: check.code, data: '', log: check.log, codespace: check.codespace, hash: hexUpper(hash) };
    if (!commit) {
      included.catch((e: unknown) => logger.error('deliver failed', { error: String(e) }));
      return { code: 0, data: '', log: '[]', codespace: '', hash: hexUpper(hash) };
    }
    const rec = await included;
    return { check_tx: { code: 0 }, deliver_tx: txResultJson(rec.result), tx_result: txResultJson(rec.result), hash: hexUpper(rec.hash), height: rec.height.toString() };
  }

  async function txSearch(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const q = String(params.query ?? '');
    const m = /tx\.hash\s*=\s*'([0-9a-fA-F]{64})'/.exec(q);
    if (!m) throw new RpcError(-32602, 'only tx.hash queries are supported', q);
    const rec = await app.getTx(new Uint8Array(Buffer.from(m[1]!, 'hex')));
    return { txs: rec && rec.index >= 0 ? [txJson(rec)] : [], total_count: rec && rec.index >= 0 ? '1' : '0' };
  }

  async function block(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const latest = await app.latestBlock();
    const h = params.height ? uintParam(params.height, 'height') : latest.height;
    const b = await app.getBlock(h);
    if (!b) throw new RpcError(-32603, `height ${h} is not available`);
    const zero = '0'.repeat(64);
    return {
      block_id: blockIdJson(b),
      block: {
        header: {
          version: { block: '11', app: '0' }, chain_id: app.chainId, height: b.height.toString(), time: rfc3339(b.time),
          last_block_id: { hash: '', parts: { total: 0, hash: '' } }, last_commit_hash: zero, data_hash: zero, validators_hash: zero,
          next_validators_hash: zero, consensus_hash: zero, app_hash: hexUpper(b.appHash ?? b.hash), last_results_hash: zero, evidence_hash: zero,
          proposer_address: '0000000000000000000000000000000000000001',
        },
        data: { txs: [] },
        evidence: { evidence: [] },
        last_commit: { height: b.height.toString(), round: 0, block_id: blockIdJson(b), signatures: [] },
      },
    };
  }

  async function events(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const after = uintParam(params.after ?? '0', 'after');
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 1000);
    const waitMs = Math.min(Math.max(Number(params.wait_ms ?? 0), 0), 30_000);
    let list = await app.events(after, limit);
    if (list.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        waiters.add(done);
      });
      list = await app.events(after, limit);
    }
    return {
      events: list.map((e) => ({ seq: e.seq.toString(), height: e.height.toString(), tx_hash: e.txHash ? hexUpper(e.txHash) : null, type: e.type, attributes: e.attributes })),
      last_seq: list.length ? list.at(-1)!.seq.toString() : after.toString(),
    };
  }

  const methods: Record<string, (p: Record<string, unknown>) => Promise<unknown>> = {
    status,
    health: async () => ({}),
    abci_info: async () => {
      const b = await app.latestBlock();
      return { response: { data: 'insitu', version: '0.1.0', last_block_height: b.height.toString(), last_block_app_hash: b64(b.appHash ?? b.hash) } };
    },
    abci_query: abciQuery,
    broadcast_tx_sync: (p) => broadcast(p, false),
    broadcast_tx_async: (p) => broadcast(p, false),
    broadcast_tx_commit: (p) => broadcast(p, true),
    tx: async (p) => {
      const hash = new Uint8Array(Buffer.from(String(p.hash ?? ''), /^[0-9a-fA-F]{64}$/.test(String(p.hash)) ? 'hex' : 'base64'));
      const rec = await app.getTx(hash);
      if (!rec || rec.index < 0) throw new RpcError(-32603, `tx (${hexUpper(hash)}) not found`);
      return txJson(rec);
    },
    tx_search: txSearch,
    block,
    insitu_events: events,
  };

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
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) return tooLarge();
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
