// The chain as a process: `tsx chain/src/bin.ts --dir <dataDir> [--genesis <file>] [--host] [--port]`.
// Prints one JSON line {"event":"ready",...} once serving; stops cleanly on SIGINT/SIGTERM.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonLogger } from '@insitu/sdk/logger.ts';
import { createChain } from './chain.ts';
import { parseGenesis } from './genesis.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    genesis: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'dev-clock': { type: 'boolean', default: false },
  },
});
if (!values.dir) {
  process.stderr.write('usage: chain --dir <dataDir> [--genesis <genesis.json>] [--host 127.0.0.1] [--port 0]\n');
  process.exit(2);
}
const genesis = parseGenesis(await readFile(values.genesis ?? join(values.dir, 'genesis.json'), 'utf8'));
const chain = createChain({
  dataDir: values.dir,
  genesis,
  host: values.host!,
  port: Number(values.port),
  devClock: values['dev-clock']!,
  logger: jsonLogger('chain', (line) => process.stderr.write(line)),
});
await chain.start();
process.stdout.write(`${JSON.stringify({ event: 'ready', rpcUrl: chain.rpcUrl, chainId: chain.chainId, evmChainId: chain.evmChainId })}\n`);
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await chain.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
