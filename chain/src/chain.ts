// The embedded chain: the state machine on LevelDB behind the Greenfield wire front, proposing
// its own blocks. Transactions that pass CheckTx wait in a mempool; every `blockIntervalMs` the
// chain executes whatever has arrived as one block through the same FinalizeBlock/Commit path
// the ABCI application runs for CometBFT.

import { createChainApp, silentLogger, type Logger } from './state/app.ts';
import { createRpcServer } from './rpc/server.ts';
import { evmChainId, type Genesis } from './genesis.ts';
import type { ChainApp, ExecResult, TxRecord } from './state/types.ts';

export interface ChainOptions {
  dataDir: string;
  genesis: Genesis;
  host?: string;
  port?: number;
  logger?: Logger;
  now?: () => number;
  /** Kept for callers of earlier versions: a devnet genesis (`devClock`) is what allows moving time. */
  devClock?: boolean;
  /**
   * How long the chain collects transactions before making a block (default 10 ms: a block of
   * whatever arrived meanwhile; every upload waits for two blocks, its creation's and its seal's).
   */
  blockIntervalMs?: number;
  /** At most this many transactions per block (default 2000); the rest wait for the next. */
  maxBlockTxs?: number;
}

export interface Chain {
  readonly chainId: string;
  /** The numeric EIP-155 chain id greenfield-js-sdk's Client.create takes. */
  readonly evmChainId: string;
  readonly rpcUrl: string;
  readonly app: ChainApp;
  start(): Promise<void>;
  stop(): Promise<void>;
}

interface Waiting {
  raw: Uint8Array;
  resolve(rec: TxRecord): void;
  reject(e: unknown): void;
}

export function createChain(opts: ChainOptions): Chain {
  const logger = opts.logger ?? silentLogger;
  const app = createChainApp({ dataDir: opts.dataDir, genesis: opts.genesis, logger, ...(opts.now ? { now: opts.now } : {}) });
  const evm = String(evmChainId(opts.genesis.chainId));
  const interval = Math.max(0, opts.blockIntervalMs ?? 10);
  const maxTxs = Math.max(1, opts.maxBlockTxs ?? 2000);
  let rpcUrl = '';
  let port = opts.port ?? 0;
  let mempool: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let producing: Promise<void> = Promise.resolve();
  let running = false;
  /** CheckTx + joining the mempool, and commit + recheck, never interleave. */
  let admission: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = admission.then(fn, fn);
    admission = run.catch(() => undefined);
    return run;
  };

  function schedule(): void {
    if (timer || !running || mempool.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      producing = producing.then(makeBlock, makeBlock);
    }, interval);
  }

  async function makeBlock(): Promise<void> {
    const batch = mempool.slice(0, maxTxs);
    if (batch.length === 0) return;
    mempool = mempool.slice(batch.length);
    try {
      // The check state starts again from the new block: what is still waiting is admitted to it
      // again before any new transaction is.
      const executed = await app.produceBlock(batch.map((w) => w.raw), {
        aroundCommit: (commit) => exclusive(async () => {
          const block = await commit();
          for (const w of mempool) await app.checkTxBytes(w.raw, { recheck: true });
          return block;
        }),
      });
      executed.records.forEach((rec, i) => batch[i]!.resolve(rec));
    } catch (e) {
      logger.error('block failed', { error: String(e) });
      for (const w of batch) w.reject(e);
    }
    schedule();
  }

  async function admit(raw: Uint8Array): Promise<{ result: ExecResult; hash: Uint8Array; included?: Promise<TxRecord> }> {
    // The signature is recovered before taking the admission lock, so admissions overlap it.
    await app.prepareTx(raw);
    return exclusive(async () => {
      const r = await app.checkTxBytes(raw);
      if (r.code !== 0) return { result: r, hash: r.hash };
      const included = new Promise<TxRecord>((resolve, reject) => mempool.push({ raw, resolve, reject }));
      schedule();
      return { result: r, hash: r.hash, included };
    });
  }

  const rpc = () => createRpcServer({ app, evmChainId: evm, host: opts.host ?? '127.0.0.1', port, logger, admit });
  let server: ReturnType<typeof createRpcServer> | undefined;
  // Between transactions, a block of its own settles payers whose balance ran out.
  let ticker: NodeJS.Timeout | undefined;
  return {
    chainId: opts.genesis.chainId,
    evmChainId: evm,
    get rpcUrl() {
      return rpcUrl;
    },
    app,
    async start() {
      await app.init();
      running = true;
      server = rpc();
      rpcUrl = await server.start();
      port = Number(new URL(rpcUrl).port);
      ticker = setInterval(() => {
        if (mempool.length > 0) return;
        app.tick().catch((e: unknown) => logger.error('settlement block failed', { error: String(e) }));
      }, 1000);
      ticker.unref();
      logger.info('chain serving', { rpcUrl, chainId: opts.genesis.chainId, blockIntervalMs: interval });
    },
    async stop() {
      running = false;
      clearInterval(ticker);
      await server?.stop();
      server = undefined;
      // What was admitted still makes its block before the state closes.
      clearTimeout(timer);
      timer = undefined;
      await producing;
      while (mempool.length > 0) await makeBlock();
      await app.close();
    },
  };
}
