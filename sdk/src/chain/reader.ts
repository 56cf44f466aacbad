// Reading the chain: Greenfield's queries as abci_query with their protobuf messages, the
// project's JSON extension queries and the event feed over plain JSON-RPC, and waiting for a
// transaction's block (inclusion.ts). Every failure comes back as an InsituError with the chain's
// stable code.

import { InsituError, throwIfAborted, type ErrorCode } from '@insitu/protocol';
import { checksumAddress, type Hex } from '@insitu/protocol';
import { big, codec, queryCodecs } from '@insitu/protocol/chain';
import { jsonRpc, chainError, extensionQuery, feedEvents, setCallDeadline } from './rpc.ts';
import { waitForTx } from './inclusion.ts';
import type {
  Account, Action, BucketInfo, CallOptions, ChainEvent, ChainReader, Effect, GlobalVirtualGroup,
  ObjectInfo, Policy, StorageParams, StorageProvider, Visibility, ListOptions, ProviderRecord,
} from '@insitu/protocol/chain';

export interface ChainReaderOptions {
  /** The chain's RPC; several validators' RPCs comma-separated, to fail over between them. */
  rpcUrl: string;
  chainId: string;
  /** How long a transaction may take to be included (default 30 s). */
  txTimeoutMs?: number;
  /**
   * How long the chain's RPC may take to begin answering a call, and then to finish it, before
   * the call goes to the next validator or fails with ERR_CHAIN_UNAVAILABLE (default 15 s,
   * CHAIN_CALL_DEADLINE_MS). Applies to every client that names the RPC as `rpcUrl` does.
   */
  callDeadlineMs?: number;
}

const VISIBILITY: Record<number, Visibility> = { 1: 'public-read', 2: 'private', 3: 'inherit' };
export const visibilityCode = (v: Visibility | undefined): number => (v === 'public-read' ? 1 : v === 'inherit' ? 3 : 2);
const visibilityName = (v: unknown): Visibility => VISIBILITY[Number(v)] ?? 'private';

export const ACTION_CODES: Record<Action, number> = {
  'update-bucket': 1, 'delete-bucket': 2, 'create-object': 3, 'delete-object': 4, 'copy-object': 5, 'get-object': 6,
  'execute-object': 7, 'list-object': 8, 'update-group': 9, 'delete-group': 10, 'update-object': 11, all: 99,
};
const ACTION_NAMES = Object.fromEntries(Object.entries(ACTION_CODES).map(([k, v]) => [v, k])) as Record<number, Action>;
const PROVIDER_STATUS: StorageProvider['status'][] = ['in-service', 'in-jailed', 'graceful-exiting', 'in-maintenance', 'force-exiting'];

/** Wraps a failed query or transaction: chain logs carry the project's stable codes. */
function wrap(e: unknown, fallback: ErrorCode = 'ERR_CHAIN_UNAVAILABLE'): InsituError {
  if (e instanceof InsituError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/ERR_[A-Z_]+:/.test(message)) return chainError(message, fallback, e);
  if (/ECONNREFUSED|fetch failed|socket hang up|ECONNRESET/.test(message)) {
    return new InsituError('ERR_CHAIN_UNAVAILABLE', `the chain did not answer: ${message}`, { cause: e });
  }
  return new InsituError(fallback, message, { cause: e });
}

/** Runs a chain call: a signal already aborted stops it, a failure becomes an InsituError. */
export async function guard<T>(opts: CallOptions | undefined, fn: () => Promise<T>, fallback?: ErrorCode): Promise<T> {
  throwIfAborted(opts?.signal);
  try {
    return await fn();
  } catch (e) {
    throw wrap(e, fallback);
  } finally {
    throwIfAborted(opts?.signal);
  }
}

const bucketInfo = (b: Record<string, any>): BucketInfo => ({
  id: BigInt(b.id),
  name: b.bucketName,
  owner: checksumAddress(b.owner),
  visibility: visibilityName(b.visibility),
  createdAt: Number(big(b.createAt)) * 1000,
  paymentAddress: checksumAddress(b.paymentAddress),
  primarySpId: 0,
  familyId: b.globalVirtualGroupFamilyId,
  chargedReadQuota: big(b.chargedReadQuota),
  status: (['created', 'discontinued', 'migrating'] as const)[Number(b.bucketStatus)] ?? 'created',
});

const objectInfo = (o: Record<string, any>, gvgId: number): ObjectInfo => ({
  id: BigInt(o.id),
  bucketName: o.bucketName,
  objectName: o.objectName,
  owner: checksumAddress(o.owner),
  creator: checksumAddress(o.creator),
  payloadSize: big(o.payloadSize),
  visibility: visibilityName(o.visibility),
  contentType: o.contentType,
  createdAt: Number(big(o.createAt)) * 1000,
  status: (['created', 'sealed', 'discontinued'] as const)[Number(o.objectStatus)] ?? 'created',
  redundancy: Number(o.redundancyType) === 1 ? 'replica' : 'ec',
  checksums: (o.checksums as Uint8Array[]).map((c) => new Uint8Array(c)),
  gvgId,
  lvgId: o.localVirtualGroupId,
  updatedAt: Number(big(o.updatedAt)) * 1000,
});

const gvgInfo = (g: Record<string, any>): GlobalVirtualGroup => ({
  id: g.id, familyId: g.familyId, primarySpId: g.primarySpId, secondarySpIds: [...g.secondarySpIds],
});

/* eslint-disable @typescript-eslint/no-explicit-any */
type Rec = Record<string, any>;

/**
 * The Greenfield queries the reader and writer ask, without greenfield-js-sdk's query stack: the
 * same requests and answers its query clients send and decode, and no cosmjs, axios or libsodium
 * loaded into a node or a client that only reads and signs (about 45 MiB and a second of start-up).
 */
export const QUERY = {
  headBucket: '/greenfield.storage.Query/HeadBucket',
  headObject: '/greenfield.storage.Query/HeadObject',
  headObjectById: '/greenfield.storage.Query/HeadObjectById',
  gvg: '/greenfield.virtualgroup.Query/GlobalVirtualGroup',
  family: '/greenfield.virtualgroup.Query/GlobalVirtualGroupFamily',
  optimalFamily: '/greenfield.virtualgroup.Query/QuerySpOptimalGlobalVirtualGroupFamily',
  providers: '/greenfield.sp.Query/StorageProviders',
  account: '/cosmos.auth.v1beta1.Query/Account',
  balance: '/cosmos.bank.v1beta1.Query/Balance',
  storageParams: '/greenfield.storage.Query/Params',
  verifyPermission: '/greenfield.storage.Query/VerifyPermission',
} as const;


/**
 * One Greenfield query by its gRPC path: the request and response are the same generated
 * protobuf messages greenfield-js-sdk's query clients use, sent as one abci_query over the
 * project's JSON-RPC client (failover, keep-alive), without cosmjs's layers, which on a busy node
 * cost more than the query itself. A refusal comes back as the chain's log, as from
 * greenfield-js-sdk, for guard() to turn into its code.
 */
export async function gnfdQuery(rpcUrl: string, path: string, req: Record<string, unknown>, signal?: AbortSignal): Promise<Rec> {
  const codecs = queryCodecs(path)!;
  const data = Buffer.from(codecs.request.encode(codecs.request.fromPartial(req)).finish()).toString('hex');
  const r = await jsonRpc<{ response: { code: number; log: string; value: string | null } }>(rpcUrl, 'abci_query', { path, data }, signal);
  if (r.response.code !== 0) throw new Error(`query ${path} failed: ${r.response.log}`);
  return codecs.response.decode(Buffer.from(r.response.value ?? '', 'base64')) as Rec;
}

export function readerOn(opts: ChainReaderOptions): ChainReader {
  const { rpcUrl } = opts;
  if (opts.callDeadlineMs !== undefined) setCallDeadline(rpcUrl, opts.callDeadlineMs);
  const query = (path: string, req: Record<string, unknown>, signal?: AbortSignal): Promise<Rec> => gnfdQuery(rpcUrl, path, req, signal);

  // Not cached: a family's primary changes when a successor swaps in for a provider that left.
  async function primaryOfFamily(familyId: number): Promise<number> {
    const r = await query(QUERY.family, { familyId });
    return r.globalVirtualGroupFamily.primarySpId as number;
  }

  async function withPrimary(b: BucketInfo): Promise<BucketInfo> {
    return { ...b, primarySpId: await primaryOfFamily(b.familyId) };
  }

  async function providers(): Promise<StorageProvider[]> {
    const { sps } = (await query(QUERY.providers, {})) as { sps: Rec[] };
    let prices = new Map<number, ProviderRecord>();
    try {
      const ext = await extensionQuery(rpcUrl, '/insitu.sp.Query/Providers', {});
      prices = new Map(ext.providers.map((p) => [p.id, p]));
    } catch {
      // A plain Greenfield network has no compute prices.
    }
    return sps.map((sp) => {
      const p = prices.get(sp.id);
      return {
        id: sp.id,
        operatorAddress: checksumAddress(sp.operatorAddress),
        fundingAddress: checksumAddress(sp.fundingAddress),
        sealAddress: checksumAddress(sp.sealAddress),
        approvalAddress: checksumAddress(sp.approvalAddress),
        gcAddress: checksumAddress(sp.gcAddress),
        blsKey: new Uint8Array(sp.blsKey),
        endpoint: sp.endpoint,
        status: PROVIDER_STATUS[Number(sp.status)] ?? 'in-service',
        moniker: sp.description?.moniker ?? '',
        storePrice: BigInt(p?.storePrice ?? 0),
        readPrice: BigInt(p?.readPrice ?? 0),
        computePrice: BigInt(p?.computePrice ?? 0),
        deposit: BigInt(p?.deposit ?? 0),
        admitted: p?.admitted !== false,
      };
    });
  }

  const reader: ChainReader = {
    chainId: opts.chainId,
    rpcUrl,

    status: (o) => guard(o, async () => {
      const s = await jsonRpc<Rec>(rpcUrl, 'status', {}, o?.signal);
      return { chainId: s.node_info.network, height: BigInt(s.sync_info.latest_block_height), time: Date.parse(s.sync_info.latest_block_time) };
    }),

    getAccount: (address, o) => guard(o, async () => {
      let acct: Rec;
      try {
        // The generated response decodes a BaseAccount in place of its Any; any other account
        // type stays an Any and is decoded as a BaseAccount, as greenfield-js-sdk decodes every one.
        acct = (await query(QUERY.account, { address }, o?.signal)).account ?? {};
        if (acct.typeUrl !== undefined && acct.value instanceof Uint8Array) acct = codec('cosmos/auth/v1beta1/auth', 'BaseAccount').decode(acct.value);
      } catch (e) {
        if (/ERR_ACCOUNT_NOT_FOUND|not found/i.test(String((e as Error).message))) {
          throw new InsituError('ERR_ACCOUNT_NOT_FOUND', `account ${address} does not exist on chain; fund it first`);
        }
        throw e;
      }
      const bal = await query(QUERY.balance, { address, denom: 'BNB' }, o?.signal);
      return {
        address: checksumAddress(address),
        balance: BigInt(bal.balance?.amount ?? 0),
        nonce: big(acct.sequence),
        accountNumber: big(acct.accountNumber),
      } satisfies Account;
    }),

    params: (o) => guard(o, async () => {
      const { params } = await query(QUERY.storageParams, {}, o?.signal);
      const v = params.versionedParams;
      return {
        maxSegmentSize: Number(big(v.maxSegmentSize)),
        dataChunks: v.redundantDataChunkNum,
        parityChunks: v.redundantParityChunkNum,
        maxPayloadSize: big(params.maxPayloadSize),
        minChargeSize: big(v.minChargeSize),
      } satisfies StorageParams;
    }),

    listStorageProviders: (o) => guard(o, providers),

    getStorageProvider: (idOrOperator, o) => guard(o, async () => {
      const all = await providers();
      const found = all.find((p) => (typeof idOrOperator === 'number' ? p.id === idOrOperator : p.operatorAddress.toLowerCase() === idOrOperator.toLowerCase()));
      if (!found) throw new InsituError('ERR_PROVIDER_NOT_FOUND', `no storage provider ${String(idOrOperator)}`);
      return found;
    }),

    getGlobalVirtualGroup: (id, o) => guard(o, async () => {
      const r = await query(QUERY.gvg, { globalVirtualGroupId: id }, o?.signal);
      return gvgInfo(r.globalVirtualGroup);
    }, 'ERR_NOT_FOUND'),

    listGlobalVirtualGroups: (spId, o) => guard(o, async () => {
      const r = await extensionQuery(rpcUrl, '/insitu.virtualgroup.Query/ProviderGroups', { spId }, o?.signal);
      return r.groups.map(gvgInfo);
    }),

    headBucket: (name, o) => guard(o, async () => withPrimary(bucketInfo((await query(QUERY.headBucket, { bucketName: name }, o?.signal)).bucketInfo)), 'ERR_BUCKET_NOT_FOUND'),

    headObject: (bucket, name, o) => guard(o, async () => {
      const r = await query(QUERY.headObject, { bucketName: bucket, objectName: name }, o?.signal);
      return objectInfo(r.objectInfo, r.globalVirtualGroup?.id ?? 0);
    }, 'ERR_OBJECT_NOT_FOUND'),

    headObjectById: (id, o) => guard(o, async () => {
      const r = await query(QUERY.headObjectById, { objectId: id.toString() }, o?.signal);
      return objectInfo(r.objectInfo, r.globalVirtualGroup?.id ?? 0);
    }, 'ERR_OBJECT_NOT_FOUND'),

    listBuckets: (owner, o) => guard(o, async () => {
      const r = await extensionQuery(rpcUrl, '/insitu.storage.Query/BucketsByOwner', { owner }, o?.signal);
      return r.buckets.map((b) => ({
        id: b.id, name: b.name, owner: b.owner, visibility: visibilityName(b.visibility), createdAt: b.createdAt,
        paymentAddress: b.paymentAddress, primarySpId: b.primarySpId, familyId: b.familyId, chargedReadQuota: b.chargedReadQuota,
        status: 'created' as const,
      }));
    }),

    listObjects: (bucket, o?: ListOptions) => guard(o, async () => {
      const r = await extensionQuery(rpcUrl, '/insitu.storage.Query/Objects', {
        bucket, prefix: o?.prefix ?? '', ...(o?.startAfter ? { startAfter: o.startAfter } : {}), limit: o?.limit ?? 1000,
      }, o?.signal);
      return r.objects.map((x) => ({
        id: x.id, bucketName: x.bucket, objectName: x.name, owner: x.owner, creator: x.creator, payloadSize: x.payloadSize,
        visibility: visibilityName(x.visibility), contentType: x.contentType, createdAt: x.createdAt,
        status: (['created', 'sealed', 'discontinued'] as const)[x.status] ?? 'created', redundancy: 'ec' as const,
        checksums: x.checksums, gvgId: x.gvgId, lvgId: x.lvgId, updatedAt: x.updatedAt,
      }));
    }),

    verifyPermission: (input, o) => guard(o, async () => {
      const r = await query(QUERY.verifyPermission, { bucketName: input.bucket, objectName: input.object ?? '', actionType: ACTION_CODES[input.action], operator: input.operator ?? '' }, o?.signal);
      return (Number(r.effect) === 1 ? 'allow' : 'deny') as Effect;
    }),

    listPolicies: (bucket, object, o) => guard(o, async () => {
      const r = await extensionQuery(rpcUrl, '/insitu.permission.Query/ListPolicies', { bucket, ...(object ? { object } : {}) }, o?.signal);
      return r.policies.map((p): Policy => ({
        id: p.id,
        principal: p.principal.type === 2 ? { type: 'group', groupId: BigInt(p.principal.value) } : { type: 'account', address: p.principal.value as Hex },
        bucket: p.bucket,
        ...(p.object ? { object: p.object } : {}),
        statements: p.statements.map((s) => ({
          effect: s.effect === 2 ? 'deny' : 'allow',
          actions: s.actions.map((a) => ACTION_NAMES[a] ?? 'all'),
          resources: s.resources,
          ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}),
        })),
        ...(p.expiresAt ? { expiresAt: p.expiresAt } : {}),
      }));
    }),

    events: (after, o) => guard(o, async () => {
      const r = await feedEvents(rpcUrl, after, o?.limit ?? 100, o?.waitMs ?? 0, o?.signal);
      return r.events.map((e): ChainEvent => {
        const a = e.attributes as Record<string, string>;
        return {
          seq: BigInt(e.seq),
          height: BigInt(e.height),
          type: e.type as ChainEvent['type'],
          txHash: e.tx_hash ? (`0x${String(e.tx_hash).toLowerCase()}` as Hex) : null,
          ...(a.bucket_name ? { bucketName: a.bucket_name } : {}),
          ...(a.object_name ? { objectName: a.object_name } : {}),
          ...(a.object_id ? { objectId: BigInt(a.object_id) } : {}),
          ...(a.gvg_id ? { gvgId: Number(a.gvg_id) } : {}),
          ...(a.sp_id ? { spId: Number(a.sp_id) } : {}),
          attributes: a,
        };
      });
    }),

    objectsInGroup: (gvgId, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.storage.Query/ObjectsInGroup', { gvgId, afterId: (o?.afterId ?? 0n).toString(), limit: o?.limit ?? 1000 }, o?.signal)).objects),
    listGroups: (by, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.storage.Query/Groups', 'owner' in by ? { owner: by.owner } : { member: by.member }, o?.signal)).groups),
    swapIns: (o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.virtualgroup.Query/SwapIns', {}, o?.signal)).swapIns),
    getJob: (id, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/Job', { id: id.toString() }, o?.signal)).job, 'ERR_NOT_FOUND'),
    getRun: (id, o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.compute.Query/Run', { id: id.toString() }, o?.signal), 'ERR_NOT_FOUND'),

    listJobs: (creator, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/Jobs', {
      ...(creator ? { creator } : {}), limit: o?.limit ?? 100, ...(o?.startAfter ? { startAfter: o.startAfter.toString() } : {}), ...(o?.executorSpId ? { executorSpId: o.executorSpId } : {}),
    }, o?.signal)).jobs),
    getOffer: (id, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/Offer', { id: id.toString() }, o?.signal)).offer, 'ERR_NOT_FOUND'),
    listOffers: (by, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/Offers', { ...(by?.owner ? { owner: by.owner } : {}), ...(by?.bucket ? { bucket: by.bucket } : {}), limit: o?.limit ?? 100 }, o?.signal)).offers),
    computeStats: (o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/ProviderStats', {}, o?.signal)).providers),
    provenance: (bucket, object, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.compute.Query/Provenance', { bucket, object }, o?.signal)).provenance, 'ERR_OBJECT_NOT_FOUND'),

    paymentView: (address, o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.payment.Query/Account', { address }, o?.signal)),
    bucketReadState: (bucket, o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.payment.Query/BucketRead', { bucketName: bucket }, o?.signal), 'ERR_BUCKET_NOT_FOUND'),
    providerIncome: (spId, o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.payment.Query/ProviderIncome', { spId }, o?.signal)),
    holdings: (o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.audit.Query/Holdings', {}, o?.signal)),
    challenge: (id, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.challenge.Query/Challenge', { id }, o?.signal)).challenge, 'ERR_NOT_FOUND'),
    challenges: (by, o) => guard(o, async () => (await extensionQuery(rpcUrl, '/insitu.challenge.Query/Challenges', by, o?.signal)).challenges),
    stakeParams: (o) => guard(o, async () => extensionQuery(rpcUrl, '/insitu.sp.Query/Stake', {}, o?.signal)),
    advanceTime: async () => {
      throw new InsituError('ERR_PERMISSION_DENIED', 'moving a devnet\'s clock is a transaction: use a chain client with a key its genesis names (devClock.authorities)');
    },

    waitForTx: (txHash, o) => guard(o, () => waitForTx(rpcUrl, txHash, o)),
  };
  return reader;
}

export async function createChainReader(opts: ChainReaderOptions): Promise<ChainReader> {
  return readerOn(opts);
}
