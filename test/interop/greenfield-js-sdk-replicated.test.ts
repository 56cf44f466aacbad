// Interop with unmodified greenfield-js-sdk, against a replicated chain: 4 CometBFT validators
// (each an app process driving chain/src/abci, a CometBFT process and its own data directory)
// and 7 storage nodes. greenfield-js-sdk talks to one validator's CometBFT JSON-RPC (status,
// abci_query, broadcast_tx_sync, tx_search); insitu's SDK and the nodes know all four. The
// tests are those of greenfield-js-sdk.test.ts (written once, in greenfield-js-sdk.ts).
// Skipped, saying why, where CometBFT is not installed (INSITU_REQUIRE_COMETBFT=1 fails instead).

import test from 'ava';
import { cometbft, replicatedTest } from '@insitu/chain/testing/replicated';
import { createReplicatedTestnet, type ReplicatedTestnet } from '../src/replicated-testnet.ts';
import { resolveLocalhostNames } from '../src/localhost-dns.ts';
import { interopTests, type InteropNet } from './greenfield-js-sdk.ts';

resolveLocalhostNames();

let testnet: ReplicatedTestnet;
let net: InteropNet;
test.before(async () => {
  if (!cometbft) return;
  testnet = await createReplicatedTestnet({ binary: cometbft, validators: 4, nodes: 7, accounts: 2 });
  // The validator the project's SDK and the nodes try first: what greenfield-js-sdk has seen
  // committed, they see too (another validator may be a block behind for a moment).
  net = { gfRpcUrl: testnet.rpcUrls[0]!, rpcUrl: testnet.rpcUrl, chainId: testnet.chainId, evmChainId: testnet.evmChainId, accounts: testnet.accounts };
});
test.after.always(async () => {
  await testnet?.stop();
});

for (const { title, run } of interopTests) replicatedTest(`${title} (4 CometBFT validators)`, (t) => run(t, net));
