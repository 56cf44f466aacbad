// insitu SDK: decentralized storage that runs your code where your data lives.
export {
  createClient, type InsituClient, type ClientOptions, type PutOptions, type GetOptions, type PiecePlacement, type ObjectHead,
  type ObjectSource, type CreateBucketOptions, type ListObjectsOptions, type GrantOptions, type PolicyTarget, type CallOptions,
} from './client/index.ts';
export type { DatasetOptions, DatasetRun } from './client/dataset.ts';
export type { CreateOfferOptions, OffersApi } from './client/actions/offers.ts';
export { createChainClient, createChainReader } from './chain/index.ts';
export type * from './chain/types.ts';
export { createErasureCodec } from './codec/index.ts';
export type { ErasureCodec } from './codec/types.ts';
export { computeChecksums, segmentStream } from './integrity/index.ts';
export { InsituError, AbortError, ErrorCodes, isInsituError, type ErrorCode } from './errors.ts';
export { generatePrivateKey, privateKeyToAddress, type Hex } from './crypto/keys.ts';
export { validateBucketName, validateObjectName } from './names.ts';
export { receiptDigest, type JobReceipt } from './receipt.ts';
export { devnetDir, readDevnet, devnetClientOptions, type DevnetFile } from './config.ts';
export { readKeyFile, writeKeyFile } from './keyfile.ts';
