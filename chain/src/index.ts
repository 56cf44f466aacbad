// The insitu devnet chain.
export { createChain, type Chain, type ChainOptions } from './chain.ts';
export { createDevnetGenesis, parseGenesis, serializeGenesis, evmChainId, DEFAULT_CHAIN_ID, type Genesis, type GenesisProvider } from './genesis.ts';
export { createChainApp, FEE_COLLECTOR } from './state/index.ts';
export type { ChainApp, AnyMsg, DecodedTx, TxEvent, ExecResult } from './state/types.ts';
