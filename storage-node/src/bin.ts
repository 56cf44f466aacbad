// A storage node as a process: `tsx storage-node/src/bin.ts --dir <dataDir> --rpc <url>
// --chain-id <id> [--key-file <file>] [--host] [--port]`. The key file is JSON
// { "operatorKey": "0x…", "blsKey": "0x…" }. Prints {"event":"ready",…} once serving.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonLogger } from '@insitu/protocol';
import { createStorageNode } from './node.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    rpc: { type: 'string' },
    'chain-id': { type: 'string' },
    'key-file': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    // Recovery (milliseconds; 0 turns a loop off): see DEFAULT_RECOVERY.
    'scrub-interval-ms': { type: 'string' },
    'scrub-bytes-per-second': { type: 'string' },
    'probe-interval-ms': { type: 'string' },
    'down-after-ms': { type: 'string' },
    'swap-interval-ms': { type: 'string' },
    'repair-concurrency': { type: 'string' },
    'repair-bytes-per-second': { type: 'string' },
    'unsealed-timeout-ms': { type: 'string' },
    'stall-ms': { type: 'string' },
  },
});
const ms = (name: 'stall-ms' | 'scrub-interval-ms' | 'scrub-bytes-per-second' | 'probe-interval-ms' | 'down-after-ms' | 'swap-interval-ms' | 'repair-concurrency' | 'repair-bytes-per-second' | 'unsealed-timeout-ms'): number | undefined => {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative number, not "${v}"\n`);
    process.exit(2);
  }
  return n;
};
const recovery = Object.fromEntries(Object.entries({
  scrubIntervalMs: ms('scrub-interval-ms'), scrubBytesPerSecond: ms('scrub-bytes-per-second'), probeIntervalMs: ms('probe-interval-ms'),
  downAfterMs: ms('down-after-ms'), swapIntervalMs: ms('swap-interval-ms'), repairConcurrency: ms('repair-concurrency'),
  repairBytesPerSecond: ms('repair-bytes-per-second'), unsealedTimeoutMs: ms('unsealed-timeout-ms'),
}).filter(([, v]) => v !== undefined));
if (!values.dir || !values.rpc || !values['chain-id']) {
  process.stderr.write('usage: storage-node --dir <dataDir> --rpc <url> --chain-id <id> [--key-file <file>] [--host] [--port]\n');
  process.exit(2);
}
const keys = JSON.parse(await readFile(values['key-file'] ?? join(values.dir, 'node-key.json'), 'utf8')) as { operatorKey: string; blsKey: string };
const node = createStorageNode({
  dataDir: values.dir,
  rpcUrl: values.rpc,
  chainId: values['chain-id'],
  operatorKey: keys.operatorKey,
  blsKey: keys.blsKey,
  host: values.host!,
  ...(values.port ? { port: Number(values.port) } : {}),
  logger: jsonLogger('storage-node', (line) => process.stderr.write(line)),
  recovery,
  ...(ms('stall-ms') !== undefined ? { stallMs: ms('stall-ms')! } : {}),
});
await node.start();
process.stdout.write(`${JSON.stringify({ event: 'ready', endpoint: node.endpoint, spId: node.spId, address: node.address })}\n`);
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await node.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
