// Interop with unmodified greenfield-js-sdk, against the embedded chain (its own JSON-RPC) and 7
// storage nodes. The same tests run against 4 CometBFT validators in
// greenfield-js-sdk-replicated.test.ts; they are written once, in greenfield-js-sdk.ts.

import test from 'ava';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { resolveLocalhostNames } from '../src/localhost-dns.ts';
import { interopTests, type InteropNet } from './greenfield-js-sdk.ts';

resolveLocalhostNames();

let testnet: Testnet;
let net: InteropNet;
test.before(async () => {
  testnet = await createTestnet({ nodes: 7, accounts: 2 });
  net = { gfRpcUrl: testnet.rpcUrl, rpcUrl: testnet.rpcUrl, chainId: testnet.chainId, evmChainId: testnet.chain.evmChainId, accounts: testnet.accounts };
});
test.after.always(async () => {
  await testnet?.stop();
});

for (const { title, run } of interopTests) test.serial(title, (t) => run(t, net));
