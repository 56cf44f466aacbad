// The chain's own query paths (/insitu.*, JSON through abci_query, see json.ts), each defined once
// with what a client sends and what the chain answers. The chain's handlers are typed by this
// table (chain/src/state/queries.ts) and the SDK's queries too (sdk/src/chain/rpc.ts), so the two
// sides cannot drift apart. Greenfield's own paths are typed by their protobuf codecs instead.

import type {
  BucketRecord, ChallengeInfo, ChallengeRecord, ComputeParams, FeedEvent, GroupObject, GroupRecord, GvgRecord,
  MemberRecord, ObjectRecord, PolicyRecord, ProviderRecord, SwapInRecord,
} from './records.ts';
import type {
  BucketReadState, ChainHoldings, DatasetRunInfo, JobInfo, OfferInfo, OutputProvenance, PaymentView, ProviderComputeStats, ProviderIncome, StakeView,
} from './types.ts';

/** One query: the request a client sends and the answer the chain gives. */
export interface QuerySpec<Req, Res> {
  request: Req;
  response: Res;
}

/** A page of a listing: at most `limit` (each path has its own bound), after the cursor. */
export interface Page<Cursor> {
  limit?: number;
  startAfter?: Cursor;
}

export type GroupWithMembers = GroupRecord & { members: Pick<MemberRecord, 'member' | 'expiresAt'>[] };

export interface InsituQueries {
  '/insitu.sp.Query/Providers': QuerySpec<Record<string, never>, { providers: ProviderRecord[] }>;
  '/insitu.sp.Query/Stake': QuerySpec<Record<string, never>, StakeView>;
  '/insitu.virtualgroup.Query/ProviderGroups': QuerySpec<{ spId: number }, { groups: GvgRecord[] }>;
  '/insitu.virtualgroup.Query/SwapIns': QuerySpec<Record<string, never>, { swapIns: SwapInRecord[] }>;
  '/insitu.storage.Query/BucketsByOwner': QuerySpec<{ owner: string }, { buckets: BucketRecord[] }>;
  /** A bucket's objects in name order, a page at a time (at most 1000), by prefix. */
  '/insitu.storage.Query/Objects': QuerySpec<{ bucket: string; prefix?: string } & Page<string>, { objects: ObjectRecord[] }>;
  '/insitu.storage.Query/ObjectById': QuerySpec<{ id: string }, { object: ObjectRecord; bucket: BucketRecord | undefined }>;
  /** A group's sealed objects in id order (what its members hold), after an id. */
  '/insitu.storage.Query/ObjectsInGroup': QuerySpec<{ gvgId: number; afterId?: string; limit?: number }, { objects: GroupObject[] }>;
  '/insitu.storage.Query/Groups': QuerySpec<{ owner: string } | { member: string }, { groups: GroupWithMembers[] }>;
  '/insitu.permission.Query/ListPolicies': QuerySpec<{ bucket: string; object?: string }, { policies: PolicyRecord[] }>;
  '/insitu.payment.Query/Account': QuerySpec<{ address: string }, PaymentView>;
  '/insitu.payment.Query/BucketRead': QuerySpec<{ bucketName: string }, BucketReadState>;
  '/insitu.payment.Query/ProviderIncome': QuerySpec<{ spId: number }, ProviderIncome>;
  '/insitu.audit.Query/Holdings': QuerySpec<Record<string, never>, ChainHoldings>;
  /** Feed events with seq > after (1..1000 of them), and the height they were read at. */
  '/insitu.events.Query/Feed': QuerySpec<{ after?: string; limit?: number }, { events: FeedEvent[]; height: bigint }>;
  '/insitu.devclock.Query/Time': QuerySpec<Record<string, never>, { unix: bigint; offsetMs: number; authorities: string[] }>;
  '/insitu.challenge.Query/Challenge': QuerySpec<{ id: number }, { challenge: ChallengeInfo }>;
  /** Open challenges a provider must check (`challenger`), or those against a provider after an id (`spId`). */
  '/insitu.challenge.Query/Challenges': QuerySpec<({ challenger: number } | { spId: number; afterId?: number }) & { limit?: number }, { challenges: ChallengeInfo[] }>;
  '/insitu.compute.Query/Params': QuerySpec<Record<string, never>, { params: ComputeParams }>;
  '/insitu.compute.Query/Job': QuerySpec<{ id: string }, { job: JobInfo }>;
  /** Jobs newest first, of one submitter or one executor (or all), a page at a time. */
  '/insitu.compute.Query/Jobs': QuerySpec<{ creator?: string; executorSpId?: number } & Page<bigint | string>, { jobs: JobInfo[]; nextStartAfter: bigint | null }>;
  '/insitu.compute.Query/Run': QuerySpec<{ id: string }, { run: DatasetRunInfo; jobs: JobInfo[] }>;
  '/insitu.compute.Query/Offer': QuerySpec<{ id: string }, { offer: OfferInfo }>;
  '/insitu.compute.Query/Offers': QuerySpec<{ owner?: string; bucket?: string } & Page<bigint | string>, { offers: OfferInfo[]; nextStartAfter: bigint | null }>;
  '/insitu.compute.Query/ProviderStats': QuerySpec<Record<string, never>, { providers: ProviderComputeStats[] }>;
  '/insitu.compute.Query/Provenance': QuerySpec<{ bucket: string; object: string }, { provenance: OutputProvenance | null }>;
}

export type InsituQueryPath = keyof InsituQueries;
export type QueryRequest<P extends InsituQueryPath> = InsituQueries[P]['request'];
export type QueryResponse<P extends InsituQueryPath> = InsituQueries[P]['response'];

/**
 * A request as the chain receives it: the fields the path defines, each of unknown type, since
 * anyone may send anything. Handlers check every field they read.
 */
export type Untrusted<T> = { [K in T extends unknown ? keyof T : never]?: unknown };

/** The stored form of a challenge as its query answers it (the submitter and fee stay on chain). */
export const challengeInfo = (c: ChallengeRecord): ChallengeInfo => ({
  id: c.id, spId: c.spId, objectId: c.objectId, redundancyIndex: c.redundancyIndex, segment: c.segment, challengers: c.challengers,
  issuedAt: c.issuedAt, expiresAt: c.expiresAt, status: c.status, votes: c.votes, slashed: c.slashed ?? 0n, ...(c.swapKey ? { swapKey: c.swapKey } : {}),
});

/**
 * The query of many (chain/src/rpc/query.ts answers it, sdk/src/chain/rpc.ts asks it): heads
 * asked together go as one abci_query of MANY_QUERY_PATH, at most MANY_QUERY_MAX of them, each of
 * one of MANY_QUERY_PATHS — the paths whose answer depends on the committed state alone (not on
 * the chain's clock nor on who asks): the heads every upload's primary and secondaries ask for the
 * same object, and the groups and buckets behind them.
 */
export const MANY_QUERY_PATH = '/insitu.abci.Query/Many';
export const MANY_QUERY_MAX = 64;
export const MANY_QUERY_PATHS: ReadonlySet<string> = new Set([
  '/greenfield.storage.Query/HeadObject', '/greenfield.storage.Query/HeadObjectById',
  '/greenfield.storage.Query/HeadBucket', '/greenfield.storage.Query/HeadBucketById',
  '/greenfield.virtualgroup.Query/GlobalVirtualGroup', '/greenfield.virtualgroup.Query/GlobalVirtualGroupFamily',
]);
