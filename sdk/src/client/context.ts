// What every client action needs: the chain, the codec, the caller's key, and cached chain
// parameters and provider records. createClient builds one; actions take it as their first
// argument (viem's `action(client, params)` shape).

import { InsituError } from '@insitu/protocol';
import type { ChainClient, StorageParams, StorageProvider } from '@insitu/protocol/chain';
import type { ErasureCodec } from '@insitu/protocol/codec';

export interface ClientContext {
  chain: ChainClient;
  codec: ErasureCodec;
  privateKey: string;
  /** How long a node may send nothing before a read routes around it (the read path's default when absent). */
  stallMs?: number;
  /** The chain's storage parameters (segment size, data and parity chunks), read once. */
  params(): Promise<StorageParams>;
  /** A storage provider by id; the list is re-read from the chain when an id is unknown. */
  provider(id: number): Promise<StorageProvider>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** Passes the signal on only when there is one (exactOptionalPropertyTypes). */
export const sig = (o?: CallOptions): CallOptions => (o?.signal ? { signal: o.signal } : {});

export function createClientContext(chain: ChainClient, codec: ErasureCodec, privateKey: string, stallMs?: number): ClientContext {
  let params: Promise<StorageParams> | undefined;
  let providers = new Map<number, StorageProvider>();
  return {
    chain,
    codec,
    privateKey,
    ...(stallMs !== undefined ? { stallMs } : {}),
    params() {
      params ??= chain.params().catch((e: unknown) => {
        params = undefined;
        throw e;
      });
      return params;
    },
    async provider(id) {
      if (!providers.has(id)) providers = new Map((await chain.listStorageProviders()).map((p) => [p.id, p]));
      const p = providers.get(id);
      if (!p) throw new InsituError('ERR_PROVIDER_NOT_FOUND', `no storage provider ${id}`);
      return p;
    },
  };
}
