// What the replicated-mode tests share: CometBFT (installed by scripts/install-cometbft.mjs) or
// a skip that says why — a failure instead when INSITU_REQUIRE_COMETBFT=1, as CI sets — free
// ports, and waiting for a condition.

import test, { type ExecutionContext } from 'ava';
import { findCometbft } from '../../src/abci/network.ts';

export const cometbft = findCometbft();

/** A serial test that needs CometBFT: skipped with the reason without it, failed if CI requires it. */
export function replicatedTest(title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (cometbft) test.serial(title, fn);
  else if (process.env.INSITU_REQUIRE_COMETBFT === '1') {
    test(title, (t) => t.fail('CometBFT is required here (INSITU_REQUIRE_COMETBFT=1) but not installed: run node scripts/install-cometbft.mjs'));
  } else test.skip(`${title} [skipped: CometBFT is not installed; it needs Go: node scripts/install-cometbft.mjs]`, fn);
}

/** Free ports below the kernel's ephemeral range, never handed out twice in one process (the devnet's own). */
export { freePort } from '@insitu/cli/devnet';

export { waitFor } from '@insitu/test/wait';
