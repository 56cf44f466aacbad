// The chain as an ABCI 2.0 application for CometBFT: a socket server that CometBFT dials four
// times (query, snapshot, mempool, consensus). Each connection is answered strictly in the
// order its requests arrive; Flush is always answered. Message types come from cosmjs-types
// (tendermint.abci of CometBFT 0.38); the framing is ./framing.ts.
//
// Info → last committed height and app hash; InitChain → genesis; CheckTx → decode, signature
// and ante checks against the check state; PrepareProposal passes the mempool's txs through;
// ProcessProposal accepts (every tx is checked again when the block executes); FinalizeBlock →
// the one block executor; Commit → one atomic LevelDB batch; Query → the paths the SDK and
// greenfield-js-sdk use.

import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { ChainApp, ExecResult, TxEvent } from '../state/types.ts';
import type { Logger } from '../state/app.ts';
import { answerQuery } from '../rpc/query.ts';
import { resultData } from '../rpc/json.ts';
import { InsituError } from '@insitu/protocol';
import { parseGenesis, type Genesis } from '../genesis.ts';
import { encodeFrame, FrameReader } from './framing.ts';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const abci = require('cosmjs-types/tendermint/abci/types') as any;

export interface AbciServerOptions {
  app: ChainApp;
  /** Where CometBFT's proxy_app dials: tcp://host:port (port 0 picks one). */
  host: string;
  port: number;
  logger: Logger;
  /** Stable application version reported by Info. */
  appVersion?: bigint;
  /**
   * The genesis the app was started with. InitChain refuses CometBFT's genesis when its
   * app_state or time says otherwise: a validator whose two genesis files disagree would
   * otherwise start a chain of its own, silently, or diverge from the others at block 1.
   */
  genesis?: Genesis;
  /**
   * Fault injection for crash tests: kill -9 this process right after a block is written, before
   * Commit is answered — the block of this height, or ('txs') the first block holding
   * transactions (INSITU_ABCI_CRASH_AFTER_COMMIT).
   */
  crashAfterCommitAt?: bigint | 'txs';
}

export interface AbciServer {
  /** Resolves to the address to put in CometBFT's proxy_app (tcp://host:port). */
  start(): Promise<string>;
  stop(): Promise<void>;
}

const ACCEPT = 1;

const events = (list: TxEvent[]): { type: string; attributes: { key: string; value: string; index: boolean }[] }[] =>
  list.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ key: a.key, value: a.value, index: true })) }));

function execResult(r: ExecResult): Record<string, unknown> {
  return {
    code: r.code,
    data: r.code === 0 ? resultData(r) : new Uint8Array(),
    log: r.log,
    info: r.errorCode ?? '',
    gasWanted: r.gasWanted,
    gasUsed: r.gasUsed,
    events: events(r.events),
    codespace: r.codespace,
  };
}

/** Header time in ms from a protobuf Timestamp (seconds + nanos), identical on every validator. */
const timeMs = (t: { seconds?: bigint; nanos?: number } | undefined): number =>
  t ? Number(t.seconds ?? 0n) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;

/** JSON with every object's keys in order: two encodings of one value compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** CometBFT's genesis (app_state, genesis time) must be the app's own genesis. */
export function checkGenesis(own: Genesis, appState: Uint8Array, genesisTimeMs: number): void {
  const refuse = (why: string): never => {
    throw new InsituError('ERR_CONFIG', `CometBFT's genesis ${why}; every validator runs the one shared genesis (CometBFT's app_state is the insitu genesis)`);
  };
  if (appState.length === 0) refuse('has no app_state');
  let theirs: Genesis;
  try {
    theirs = parseGenesis(Buffer.from(appState).toString('utf8'));
  } catch (e) {
    return refuse(`app_state is not an insitu genesis (${e instanceof Error ? e.message : String(e)})`);
  }
  if (canonical(theirs) !== canonical(JSON.parse(JSON.stringify(own)))) refuse(`app_state differs from the app's genesis file (chain ${own.chainId})`);
  if (genesisTimeMs !== own.genesisTime) refuse(`time ${new Date(genesisTimeMs).toISOString()} differs from the app's genesis time ${new Date(own.genesisTime).toISOString()}`);
}

export function createAbciServer(opts: AbciServerOptions): AbciServer {
  const { app, logger } = opts;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  async function handle(req: Record<string, any>): Promise<Record<string, unknown>> {
    if (req.flush) return { flush: {} };
    if (req.echo) return { echo: { message: req.echo.message } };
    if (req.info) {
      const i = await app.info();
      return { info: { data: 'insitu', version: '0.1.0', appVersion: opts.appVersion ?? 1n, lastBlockHeight: i.height, lastBlockAppHash: i.appHash } };
    }
    if (req.initChain) {
      if (opts.genesis) checkGenesis(opts.genesis, req.initChain.appStateBytes ?? new Uint8Array(), timeMs(req.initChain.time));
      const appHash = await app.initChain(String(req.initChain.chainId));
      return { initChain: { validators: [], appHash } };
    }
    if (req.query) {
      const r = await answerQuery(app, logger, String(req.query.path), req.query.data ?? new Uint8Array());
      return { query: { code: r.code, log: r.log, info: '', index: 0n, key: new Uint8Array(), value: r.value, height: r.height, codespace: r.codespace } };
    }
    if (req.checkTx) {
      const r = await app.checkTxBytes(req.checkTx.tx, { recheck: req.checkTx.type === 1 });
      return { checkTx: { code: r.code, data: new Uint8Array(), log: r.log, info: r.errorCode ?? '', gasWanted: r.gasWanted, gasUsed: r.gasUsed, events: [], codespace: r.codespace } };
    }
    if (req.prepareProposal) {
      // Pass-through, within the block's byte budget; the executor checks every tx again.
      const max = Number(req.prepareProposal.maxTxBytes ?? 0n);
      const txs: Uint8Array[] = [];
      let size = 0;
      for (const tx of req.prepareProposal.txs as Uint8Array[]) {
        if (max > 0 && size + tx.length > max) break;
        size += tx.length;
        txs.push(tx);
      }
      return { prepareProposal: { txs } };
    }
    if (req.processProposal) return { processProposal: { status: ACCEPT } };
    if (req.extendVote) return { extendVote: { voteExtension: new Uint8Array() } };
    if (req.verifyVoteExtension) return { verifyVoteExtension: { status: ACCEPT } };
    if (req.finalizeBlock) {
      const f = req.finalizeBlock;
      const executed = await app.finalizeBlock({ height: BigInt(f.height), time: timeMs(f.time), hash: f.hash }, f.txs as Uint8Array[]);
      return {
        finalizeBlock: {
          events: [],
          txResults: executed.results.map(execResult),
          validatorUpdates: [],
          appHash: executed.block.appHash,
        },
      };
    }
    if (req.commit) {
      const block = await app.commit();
      const crash = opts.crashAfterCommitAt;
      if (crash !== undefined && (crash === 'txs' ? block.txHashes.length > 0 : block.height === crash)) process.kill(process.pid, 'SIGKILL');
      return { commit: { retainHeight: 0n } };
    }
    // State sync is not offered: no snapshots.
    if (req.listSnapshots) return { listSnapshots: { snapshots: [] } };
    if (req.offerSnapshot) return { offerSnapshot: { result: 1 /* ABORT */ } };
    if (req.loadSnapshotChunk) return { loadSnapshotChunk: { chunk: new Uint8Array() } };
    if (req.applySnapshotChunk) return { applySnapshotChunk: { result: 2 /* ABORT */, refetchChunks: [], rejectSenders: [] } };
    throw new Error('unknown ABCI request');
  }

  function serve(socket: Socket): void {
    sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader();
    // Requests of one connection are answered strictly in order.
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        logger.error('ABCI framing error', { error: String(e) });
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        chain = chain.then(async () => {
          let res: Record<string, unknown>;
          try {
            res = await handle(abci.Request.decode(frame));
          } catch (e) {
            // A ResponseException stops CometBFT: it is for what the app cannot go on from.
            const why = e instanceof InsituError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
            logger.error('ABCI request failed', { error: why, ...(e instanceof Error && e.stack ? { stack: e.stack } : {}) });
            res = { exception: { error: why } };
          }
          if (!socket.destroyed) socket.write(encodeFrame(abci.Response.encode(abci.Response.fromPartial(res)).finish()));
        });
      }
    });
    socket.on('error', (e) => logger.debug('ABCI connection error', { error: String(e) }));
    socket.on('close', () => sockets.delete(socket));
  }

  return {
    async start() {
      server = createServer(serve);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(opts.port, opts.host, () => resolve());
      });
      const addr = server.address() as { port: number };
      return `tcp://${opts.host}:${addr.port}`;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      if (!server) return;
      const s = server;
      server = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
