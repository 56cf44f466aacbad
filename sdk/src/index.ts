// insitu SDK: decentralized storage that runs your code where your data lives.
export {
  createClient, type InsituClient, type ClientOptions, type PutOptions, type GetOptions, type PiecePlacement, type ObjectHead,
  type ObjectSource, type CreateBucketOptions, type ListObjectsOptions, type GrantOptions, type PolicyTarget, type CallOptions,
  type DeleteBucketResult,
} from './client/index.ts';
export { isJobModule, jobModuleName, JOB_MODULES_PREFIX } from './client/jobModules.ts';
export type { DatasetOptions, DatasetRun } from './client/dataset.ts';
export type { CreateOfferOptions, OffersApi } from './client/actions/offers.ts';
export { createChainClient, createChainReader } from './chain/index.ts';
export type * from '@insitu/protocol/chain';
export { createErasureCodec } from '@insitu/protocol/codec';
export type { ErasureCodec } from '@insitu/protocol/codec';
export { computeChecksums, segmentStream } from '@insitu/protocol';
export { InsituError, AbortError, ErrorCodes, isInsituError, type ErrorCode } from '@insitu/protocol';
export { generatePrivateKey, privateKeyToAddress, type Hex } from '@insitu/protocol';
export { validateBucketName, validateObjectName } from '@insitu/protocol';
export { receiptDigest, type JobReceipt } from '@insitu/protocol';
export { devnetDir, readDevnet, devnetClientOptions, type DevnetFile } from './config.ts';
export { readKeyFile, writeKeyFile } from '@insitu/protocol';
export { readObject, type ReadContext } from './client/read.ts';
export { parseStatement, parseTime, formatStatement } from './client/actions/putPolicy.ts';
