// Chain access for insitu: the ChainClient interface and its implementation over Greenfield's wire protocol.
export type * from '@insitu/protocol/chain';
export { createChainClient, createChainReader, ACTION_CODES, visibilityCode, type ChainClientOptions, type ChainReaderOptions } from './client.ts';
export { sealSignDoc } from '@insitu/protocol/chain';
export { jsonRpc, extensionQuery } from './rpc.ts';
export { createTxSender, type TxSender, type TxSenderOptions, type Msg, type SentTx } from './sender.ts';
