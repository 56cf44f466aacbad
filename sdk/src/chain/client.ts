// The chain client's public entry: reading (reader.ts: queries, the event feed, waiting for
// transactions) and writing (writer.ts: one call per message, signed and pipelined per account by
// sender.ts). createChainReader and createChainClient keep the API they always had.

export { createChainReader, ACTION_CODES, visibilityCode, type ChainReaderOptions } from './reader.ts';
export { createChainClient, type ChainClientOptions } from './writer.ts';
