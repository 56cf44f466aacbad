// Protobuf codecs for the chain (see @insitu/sdk/chain/gnfd-types.ts).
export * from '@insitu/protocol/chain';
