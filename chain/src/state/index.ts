// The chain's state machine, independent of its wire front.
export { createChainApp, supportedMessages, GAS_PER_MSG, silentLogger, type Logger, type ChainAppOptions } from './app.ts';
export { FEE_COLLECTOR, DENOM } from './modules/bank.ts';
export type * from './types.ts';
