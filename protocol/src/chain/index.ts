// The chain's wire contracts shared by the chain and its clients: record and message types, the
// protobuf codecs of Greenfield's and insitu's messages, and the documents that are signed.
export type * from './types.ts';
export * from './gnfd-types.ts';
export * from './compute-types.ts';
export * from './devclock-types.ts';
export * from './seal.ts';
export * from './eip712.ts';
export type * from './records.ts';
export type * from './queries.ts';
export { challengeInfo, MANY_QUERY_PATH, MANY_QUERY_MAX, MANY_QUERY_PATHS } from './queries.ts';
export { encodeJson, decodeJson } from './json.ts';
