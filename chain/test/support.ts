// Test support the chain shares with the end-to-end tests and benchmarks (the `@insitu/chain/testing`
// entry, resolved only inside the repository): test keys and genesis, signed transactions, and
// the switch for tests that need a replicated (CometBFT) chain.
export * from './helpers.ts';
export * from './abci/sign.ts';
export * from './abci/env.ts';
