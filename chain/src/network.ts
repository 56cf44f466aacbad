// Running a chain of several validators as processes: the CometBFT binary, validator homes and
// their configuration, the app processes, and a local network of both on 127.0.0.1. The CLI's
// devnet and the tests reach the chain's process management through this entry point alone.
export * from './abci/network.ts';
export * from './abci/local.ts';
