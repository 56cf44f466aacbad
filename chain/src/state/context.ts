// What a message handler or query sees: the state, the signer, the block and an event sink.

import type { Hex } from '@insitu/protocol';
import { InsituError, type ErrorCode } from '@insitu/protocol';
import type { Genesis } from '../genesis.ts';
import type { KV } from './store.ts';
import type { TxEvent } from './types.ts';
import type { InsituQueryPath, QueryRequest, QueryResponse, Untrusted } from '@insitu/protocol/chain';

export interface FeedEmit {
  type: string;
  attributes: Record<string, string>;
}

export interface MsgContext {
  kv: KV;
  signer: Hex;
  height: bigint;
  now: number;
  /** Randomness of the block (its hash): the same on every validator. */
  seed: Uint8Array;
  genesis: Genesis;
  txEvents: TxEvent[];
  feed: FeedEmit[];
}

export interface QueryContext {
  kv: KV;
  genesis: Genesis;
  height: bigint;
  now: number;
}

export type MsgHandler = (ctx: MsgContext, msg: Record<string, unknown>) => Promise<Record<string, unknown>>;
export type QueryHandler = (ctx: QueryContext, req: Record<string, unknown>) => Promise<Record<string, unknown>>;
/** A handler of one of the chain's own paths, typed by the protocol's table of queries. */
export type InsituQueryHandler<P extends InsituQueryPath> = (ctx: QueryContext, req: Untrusted<QueryRequest<P>>) => Promise<QueryResponse<P>>;
/**
 * A module's queries: its own /insitu.* paths, each as @insitu/protocol/chain defines it (a path
 * not defined there is a type error), and Greenfield's and Cosmos's paths, typed by their codecs.
 */
export type QueryTable = { [P in InsituQueryPath]?: InsituQueryHandler<P> } & { [path: `/greenfield.${string}` | `/cosmos.${string}`]: QueryHandler };

export const fail = (code: ErrorCode, message: string): never => {
  throw new InsituError(code, message);
};

/** Greenfield's typed event for each feed event, so code watching Greenfield's names finds them. */
const GREENFIELD_EVENTS: Record<string, string> = {
  'bucket-created': 'greenfield.storage.EventCreateBucket',
  'bucket-deleted': 'greenfield.storage.EventDeleteBucket',
  'bucket-updated': 'greenfield.storage.EventUpdateBucketInfo',
  'object-created': 'greenfield.storage.EventCreateObject',
  'object-sealed': 'greenfield.storage.EventSealObject',
  'object-cancelled': 'greenfield.storage.EventCancelCreateObject',
  'object-rejected': 'greenfield.storage.EventRejectSealObject',
  'object-deleted': 'greenfield.storage.EventDeleteObject',
  'object-updated': 'greenfield.storage.EventUpdateObjectInfo',
  'policy-put': 'greenfield.permission.EventPutPolicy',
  'policy-deleted': 'greenfield.permission.EventDeletePolicy',
  'provider-created': 'greenfield.sp.EventCreateStorageProvider',
  'provider-updated': 'greenfield.sp.EventEditStorageProvider',
  'gvg-created': 'greenfield.virtualgroup.EventCreateGlobalVirtualGroup',
};

/**
 * Records an event in the ordered feed and as Cosmos tx events: `insitu.<type>` with plain
 * values, and Greenfield's typed event (values JSON-encoded, as Cosmos typed events are).
 */
export function emit(ctx: MsgContext, type: string, attributes: Record<string, string | number | bigint>): void {
  const attrs = Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
  ctx.feed.push({ type, attributes: attrs });
  ctx.txEvents.push({ type: `insitu.${type}`, attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })) });
  const typed = GREENFIELD_EVENTS[type];
  if (typed) ctx.txEvents.push({ type: typed, attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: JSON.stringify(value) })) });
}

export const lower = (a: string): string => a.toLowerCase();

/** Next value of a persisted counter (ids start at 1). */
export async function nextId(kv: KV, name: string): Promise<bigint> {
  const cur = (await kv.get<bigint>(`meta/${name}`)) ?? 0n;
  kv.put(`meta/${name}`, cur + 1n);
  return cur + 1n;
}
