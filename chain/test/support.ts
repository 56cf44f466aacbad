// Test support the chain shares with the end-to-end tests and benchmarks (the `@insitu/chain/testing`
// entry, resolved only inside the repository): test keys and genesis, signed transactions, and the
// wire front for a state machine a benchmark drives block by block.
// It does not load ava, so benchmarks can use it; the switch for tests that need a replicated
// (CometBFT) chain is `@insitu/chain/testing/replicated`.
export * from './helpers.ts';
export * from './abci/sign.ts';
export { createRpcServer } from '../src/rpc/server.ts';
