// What the replicated-mode tests share: CometBFT (installed by scripts/install-cometbft.mjs) or
// a skip that says why — a failure instead when INSITU_REQUIRE_COMETBFT=1, as CI sets — free
// ports, and waiting for a condition.

import test, { type ExecutionContext } from 'ava';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { findCometbft } from '../../src/abci/network.ts';

export const cometbft = findCometbft();

/** A serial test that needs CometBFT: skipped with the reason without it, failed if CI requires it. */
export function replicatedTest(title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (cometbft) test.serial(title, fn);
  else if (process.env.INSITU_REQUIRE_COMETBFT === '1') {
    test(title, (t) => t.fail('CometBFT is required here (INSITU_REQUIRE_COMETBFT=1) but not installed: run node scripts/install-cometbft.mjs'));
  } else test.skip(`${title} [skipped: CometBFT is not installed; it needs Go: node scripts/install-cometbft.mjs]`, fn);
}

const handedOut = new Set<number>();

/** A free port below the kernel's ephemeral range (where outgoing connections take theirs). */
export async function freePort(): Promise<number> {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    low = 32_768;
  }
  for (let i = 0; i < 200; i++) {
    const port = randomInt(12_000, Math.max(low, 13_000));
    if (handedOut.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port');
}

export { waitFor } from '../../../test/src/wait.ts';
