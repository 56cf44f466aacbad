// The chain as a process.
//   Embedded (default): `tsx chain/src/bin.ts --dir <dataDir> [--genesis <file>] [--host] [--port]
//     [--block-interval-ms 10]` serves the JSON-RPC front and makes its own blocks.
//   ABCI: `... --abci --dir <dataDir> --genesis <file> [--host] [--port]` serves CometBFT's
//     socket protocol (proxy_app = tcp://host:port); CometBFT makes the blocks.
// Prints one JSON line {"event":"ready",...} once serving; stops cleanly on SIGINT/SIGTERM.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonLogger } from '@insitu/protocol';
import { createChain } from './chain.ts';
import { createChainApp } from './state/app.ts';
import { createAbciServer } from './abci/server.ts';
import { parseGenesis } from './genesis.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    genesis: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    abci: { type: 'boolean', default: false },
    'block-interval-ms': { type: 'string' },
    // Accepted for older scripts: the genesis decides whether the clock can move.
    'dev-clock': { type: 'boolean', default: false },
  },
});
if (!values.dir) {
  process.stderr.write('usage: chain --dir <dataDir> [--genesis <genesis.json>] [--host 127.0.0.1] [--port 0] [--abci] [--block-interval-ms 10]\n');
  process.exit(2);
}
const genesis = parseGenesis(await readFile(values.genesis ?? join(values.dir, 'genesis.json'), 'utf8'));
const logger = jsonLogger('chain', (line) => process.stderr.write(line));
let stopFn: () => Promise<void>;
if (values.abci) {
  const app = createChainApp({ dataDir: values.dir, genesis, logger, mode: 'abci' });
  await app.init();
  const crash = process.env.INSITU_ABCI_CRASH_AFTER_COMMIT;
  const server = createAbciServer({ app, genesis, host: values.host!, port: Number(values.port), logger, ...(crash ? { crashAfterCommitAt: crash === 'txs' ? 'txs' as const : BigInt(crash) } : {}) });
  const address = await server.start();
  process.stdout.write(`${JSON.stringify({ event: 'ready', abci: address, chainId: genesis.chainId })}\n`);
  stopFn = async () => {
    await server.stop();
    await app.close();
  };
} else {
  const chain = createChain({
    dataDir: values.dir,
    genesis,
    host: values.host!,
    port: Number(values.port),
    logger,
    ...(values['block-interval-ms'] ? { blockIntervalMs: Number(values['block-interval-ms']) } : {}),
  });
  await chain.start();
  process.stdout.write(`${JSON.stringify({ event: 'ready', rpcUrl: chain.rpcUrl, chainId: chain.chainId, evmChainId: chain.evmChainId })}\n`);
  stopFn = () => chain.stop();
}
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await stopFn();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
