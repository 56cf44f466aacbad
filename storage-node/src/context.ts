// What every request handler of a node shares: its identity, its chain client, its store.

import type { ChainClient, StorageParams, StorageProvider } from '@insitu/protocol/chain';
import type { ErasureCodec } from '@insitu/protocol/codec';
import type { Hex } from '@insitu/protocol';
import type { PieceStore } from './store/types.ts';
import type { PieceKey } from './store/types.ts';
import type { NodeMetrics } from './metrics.ts';
import type { GroupCache } from './group-cache.ts';
import type { ReadContext } from '@insitu/sdk';

import { silentLogger, type Logger } from '@insitu/protocol';

export { silentLogger, type Logger };

export interface NodeContext {
  chain: ChainClient;
  store: PieceStore;
  codec: ErasureCodec;
  logger: Logger;
  operatorKey: Hex;
  address: Hex;
  blsSecret: Uint8Array;
  /** Cosmos chain id, as the seal sign doc carries it. */
  chainId: string;
  spId: number;
  /** Host name of this node's registered endpoint (virtual-host requests end with it). */
  baseHost: string;
  params: StorageParams;
  /** Providers by id, refreshed when an unknown id shows up. */
  provider(id: number): Promise<StorageProvider>;
  providerByOperator(address: string): Promise<StorageProvider | undefined>;
  /** Global virtual groups, remembered until a swap-in completes (group-cache.ts). */
  groups: GroupCache;
  /** Object ids with an upload in progress on this node. */
  uploads: Set<bigint>;
  /** Scrubbing, repair and taking over from providers that left (absent until the node runs). */
  recovery?: RecoveryPort;
  metrics: NodeMetrics;
  /** How long a secondary may take nothing of its piece stream, or not answer after it, before it is checked for life (REPLICATION_STALL_MS). */
  stallMs: number;
}

/**
 * What the rest of the node asks of its recovery (recovery/ implements it, and is started after the
 * context exists): checks of entries a read or a challenge found missing or bad, readiness for
 * /readyz, and its status for /status.
 */
export interface RecoveryPort {
  /** Asks for a check of an entry; never trusted: verified before any rebuild. */
  request(key: PieceKey, reason: string): void;
  readiness(): Promise<string>;
  status(): object;
}

/** What the SDK's verified reads need, reading as this node (its operator key signs the requests). */
export function readContextOf(ctx: NodeContext): ReadContext {
  return { chain: ctx.chain, codec: ctx.codec, params: ctx.params, privateKey: ctx.operatorKey, endpointOf: async (id: number) => (await ctx.provider(id)).endpoint };
}

/** Lengths of the segments of an object of `size` bytes. */
export function segmentSizes(size: number, segmentSize: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < size; at += segmentSize) out.push(Math.min(segmentSize, size - at));
  return out;
}
