// insitu's shared core: errors and their codes, the logger, keys and signatures, names, key files,
// checksums and job receipts. The SDK, the chain, the storage nodes and the executor all build on it.
// Heavier or narrower parts have entry points of their own: `@insitu/protocol/codec` (the erasure
// codec), `@insitu/protocol/chain` (wire types, message codecs and sign documents),
// `@insitu/protocol/auth` (request signatures) and `@insitu/protocol/parallel` (map/reduce framing).
export * from './errors.ts';
export * from './logger.ts';
export * from './names.ts';
export * from './keyfile.ts';
export * from './receipt.ts';
export * from './crypto/keys.ts';
export * from './crypto/bls.ts';
export * from './integrity/index.ts';
export { nodeScriptArgs, nodeScript, sourceDigest, writeSourceDigest, SOURCE_DIGEST_FILE, type NodeScript } from './node-script.ts';
