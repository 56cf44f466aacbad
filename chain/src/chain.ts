// A chain node: the state machine on LevelDB behind the Greenfield wire front.

import { createChainApp, silentLogger, type Logger } from './state/app.ts';
import { createRpcServer } from './rpc/server.ts';
import { evmChainId, type Genesis } from './genesis.ts';
import type { ChainApp } from './state/types.ts';
import type { Hex } from '@insitu/sdk/crypto/keys.ts';

export interface ChainOptions {
  dataDir: string;
  genesis: Genesis;
  host?: string;
  port?: number;
  logger?: Logger;
  now?: () => number;
  /** A development clock that `insitu_advance_time` moves forward (devnets and tests). */
  devClock?: boolean;
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

export function createChain(opts: ChainOptions): Chain {
  const logger = opts.logger ?? silentLogger;
  const app = createChainApp({ dataDir: opts.dataDir, genesis: opts.genesis, logger, devClock: opts.devClock ?? false, ...(opts.now ? { now: opts.now } : {}) });
  const evm = String(evmChainId(opts.genesis.chainId));
  let rpcUrl = '';
  let port = opts.port ?? 0;
  const rpc = () => createRpcServer({
    app,
    evmChainId: evm,
    host: opts.host ?? '127.0.0.1',
    port,
    logger,
    accountNumber: async (address: Hex) => (await app.kv().get<{ number: bigint }>(`acct/${address.toLowerCase()}`))?.number,
  });
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
      server = rpc();
      rpcUrl = await server.start();
      port = Number(new URL(rpcUrl).port);
      ticker = setInterval(() => {
        app.tick().catch((e: unknown) => logger.error('settlement block failed', { error: String(e) }));
      }, 1000);
      ticker.unref();
      logger.info('chain serving', { rpcUrl, chainId: opts.genesis.chainId });
    },
    async stop() {
      clearInterval(ticker);
      await server?.stop();
      server = undefined;
      await app.close();
    },
  };
}
