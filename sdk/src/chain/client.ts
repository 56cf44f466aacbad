// ChainClient over greenfield-js-sdk: queries through its query clients, transactions through its
// EIP-712 tx builder (with the project's message definitions for messages it has no helper
// for), and confirmation by polling the node every few tens of milliseconds rather than cosmjs's
// three seconds.

import { InsituError, throwIfAborted, type ErrorCode } from '@insitu/protocol';
import { checksumAddress, privateKeyToAddress, normalizePrivateKey, type Hex } from '@insitu/protocol';
import type { GreenfieldClient } from './gnfd.ts';
import { greenfieldClient } from './failover.ts';
import { msgCodec, codec, big } from '@insitu/protocol/chain';
import { jsonRpc, chainError, extensionQuery, feedEvents } from './rpc.ts';
import { waitForTx } from './inclusion.ts';
import { createTxSender, type SentTx } from './sender.ts';
import { createSealBatcher } from './seal-batch.ts';
import { ADVANCE_TIME } from '@insitu/protocol/chain';
import type {
  Account, Action, BucketInfo, BucketReadState, PaymentView, CallOptions, ChainClient, ChainEvent, ChainReader, Effect, GlobalVirtualGroup,
  ObjectInfo, Policy, Principal, GroupInfo, StorageParams, StorageProvider, TxResult, Visibility, ListOptions, JobInfo, DatasetRunInfo, ChallengeInfo,
  OfferInfo, ProviderComputeStats, OutputProvenance,
} from '@insitu/protocol/chain';

export interface ChainReaderOptions {
  /** The chain's RPC; several validators' RPCs comma-separated, to fail over between them. */
  rpcUrl: string;
  chainId: string;
  /** How long a transaction may take to be included (default 30 s). */
  txTimeoutMs?: number;
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

/** Wraps a greenfield-js-sdk / cosmjs failure: chain logs carry the project's stable codes. */
function wrap(e: unknown, fallback: ErrorCode = 'ERR_CHAIN_UNAVAILABLE'): InsituError {
  if (e instanceof InsituError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/ERR_[A-Z_]+:/.test(message)) return chainError(message, fallback, e);
  if (/ECONNREFUSED|fetch failed|socket hang up|ECONNRESET/.test(message)) {
    return new InsituError('ERR_CHAIN_UNAVAILABLE', `the chain did not answer: ${message}`, { cause: e });
  }
  return new InsituError(fallback, message, { cause: e });
}

async function guard<T>(opts: CallOptions | undefined, fn: () => Promise<T>, fallback?: ErrorCode): Promise<T> {
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

function readerOn(gf: GreenfieldClient, opts: ChainReaderOptions): ChainReader {
  const { rpcUrl } = opts;

  // Not cached: a family's primary changes when a successor swaps in for a provider that left.
  async function primaryOfFamily(familyId: number): Promise<number> {
    const r = await gf.virtualGroup.getGlobalVirtualGroupFamily({ familyId });
    return r.globalVirtualGroupFamily.primarySpId as number;
  }

  async function withPrimary(b: BucketInfo): Promise<BucketInfo> {
    return { ...b, primarySpId: await primaryOfFamily(b.familyId) };
  }

  async function providers(): Promise<StorageProvider[]> {
    const sps = (await gf.sp.getStorageProviders()) as Rec[];
    let prices = new Map<number, Rec>();
    try {
      const ext = await extensionQuery<{ providers: Rec[] }>(rpcUrl, '/insitu.sp.Query/Providers', {});
      prices = new Map(ext.providers.map((p) => [p.id as number, p]));
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
        acct = await gf.account.getAccount(address);
      } catch (e) {
        if (/ERR_ACCOUNT_NOT_FOUND|not found/i.test(String((e as Error).message))) {
          throw new InsituError('ERR_ACCOUNT_NOT_FOUND', `account ${address} does not exist on chain; fund it first`);
        }
        throw e;
      }
      const bal = await gf.account.getAccountBalance({ address, denom: 'BNB' });
      return {
        address: checksumAddress(address),
        balance: BigInt(bal.balance?.amount ?? 0),
        nonce: BigInt(acct.sequence ?? 0),
        accountNumber: BigInt(acct.accountNumber ?? 0),
      } satisfies Account;
    }),

    params: (o) => guard(o, async () => {
      const { params } = await gf.storage.params();
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
      const r = await gf.virtualGroup.getGlobalVirtualGroup({ globalVirtualGroupId: id });
      return gvgInfo(r.globalVirtualGroup);
    }, 'ERR_NOT_FOUND'),

    listGlobalVirtualGroups: (spId, o) => guard(o, async () => {
      const r = await extensionQuery<{ groups: Rec[] }>(rpcUrl, '/insitu.virtualgroup.Query/ProviderGroups', { spId }, o?.signal);
      return r.groups.map(gvgInfo);
    }),

    headBucket: (name, o) => guard(o, async () => withPrimary(bucketInfo((await gf.bucket.headBucket(name)).bucketInfo)), 'ERR_BUCKET_NOT_FOUND'),

    headObject: (bucket, name, o) => guard(o, async () => {
      const r = await gf.object.headObject(bucket, name);
      return objectInfo(r.objectInfo, r.globalVirtualGroup?.id ?? 0);
    }, 'ERR_OBJECT_NOT_FOUND'),

    headObjectById: (id, o) => guard(o, async () => {
      const r = await gf.object.headObjectById(id.toString());
      return objectInfo(r.objectInfo, r.globalVirtualGroup?.id ?? 0);
    }, 'ERR_OBJECT_NOT_FOUND'),

    listBuckets: (owner, o) => guard(o, async () => {
      const r = await extensionQuery<{ buckets: Rec[] }>(rpcUrl, '/insitu.storage.Query/BucketsByOwner', { owner }, o?.signal);
      return r.buckets.map((b) => ({
        id: b.id, name: b.name, owner: b.owner, visibility: visibilityName(b.visibility), createdAt: b.createdAt,
        paymentAddress: b.paymentAddress, primarySpId: b.primarySpId, familyId: b.familyId, chargedReadQuota: b.chargedReadQuota,
        status: 'created' as const,
      }));
    }),

    listObjects: (bucket, o?: ListOptions) => guard(o, async () => {
      const r = await extensionQuery<{ objects: Rec[] }>(rpcUrl, '/insitu.storage.Query/Objects', {
        bucket, prefix: o?.prefix ?? '', ...(o?.startAfter ? { startAfter: o.startAfter } : {}), limit: o?.limit ?? 1000,
      }, o?.signal);
      return r.objects.map((x) => ({
        id: x.id, bucketName: x.bucket, objectName: x.name, owner: x.owner, creator: x.creator, payloadSize: x.payloadSize,
        visibility: visibilityName(x.visibility), contentType: x.contentType, createdAt: x.createdAt,
        status: (['created', 'sealed', 'discontinued'] as const)[x.status as number] ?? 'created', redundancy: 'ec' as const,
        checksums: x.checksums, gvgId: x.gvgId, lvgId: x.lvgId, updatedAt: x.updatedAt,
      }));
    }),

    verifyPermission: (input, o) => guard(o, async () => {
      const r = await gf.object.isObjectPermissionAllowed(input.bucket, input.object ?? '', ACTION_CODES[input.action], input.operator ?? '');
      return (Number(r.effect) === 1 ? 'allow' : 'deny') as Effect;
    }),

    listPolicies: (bucket, object, o) => guard(o, async () => {
      const r = await extensionQuery<{ policies: Rec[] }>(rpcUrl, '/insitu.permission.Query/ListPolicies', { bucket, ...(object ? { object } : {}) }, o?.signal);
      return r.policies.map((p): Policy => ({
        id: p.id,
        principal: p.principal.type === 2 ? { type: 'group', groupId: BigInt(p.principal.value) } : { type: 'account', address: p.principal.value },
        bucket: p.bucket,
        ...(p.object ? { object: p.object } : {}),
        statements: p.statements.map((s: Rec) => ({
          effect: s.effect === 2 ? 'deny' : 'allow',
          actions: (s.actions as number[]).map((a) => ACTION_NAMES[a] ?? 'all'),
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

    objectsInGroup: (gvgId, o) => guard(o, async () => (await extensionQuery<{ objects: { id: bigint; bucketName: string; objectName: string; payloadSize: bigint }[] }>(rpcUrl, '/insitu.storage.Query/ObjectsInGroup', { gvgId, afterId: (o?.afterId ?? 0n).toString(), limit: o?.limit ?? 1000 }, o?.signal)).objects),
    listGroups: (by, o) => guard(o, async () => (await extensionQuery<{ groups: GroupInfo[] }>(rpcUrl, '/insitu.storage.Query/Groups', 'owner' in by ? { owner: by.owner } : { member: by.member }, o?.signal)).groups),
    swapIns: (o) => guard(o, async () => (await extensionQuery<{ swapIns: { successorSpId: number; targetSpId: number; familyId: number; gvgId: number; reservedAt: number }[] }>(rpcUrl, '/insitu.virtualgroup.Query/SwapIns', {}, o?.signal)).swapIns),
    getJob: (id, o) => guard(o, async () => (await extensionQuery<{ job: JobInfo }>(rpcUrl, '/insitu.compute.Query/Job', { id: id.toString() }, o?.signal)).job, 'ERR_NOT_FOUND'),
    getRun: (id, o) => guard(o, async () => extensionQuery<{ run: DatasetRunInfo; jobs: JobInfo[] }>(rpcUrl, '/insitu.compute.Query/Run', { id: id.toString() }, o?.signal), 'ERR_NOT_FOUND'),

    listJobs: (creator, o) => guard(o, async () => (await extensionQuery<{ jobs: JobInfo[] }>(rpcUrl, '/insitu.compute.Query/Jobs', { ...(creator ? { creator } : {}), limit: o?.limit ?? 100 }, o?.signal)).jobs),
    getOffer: (id, o) => guard(o, async () => (await extensionQuery<{ offer: OfferInfo }>(rpcUrl, '/insitu.compute.Query/Offer', { id: id.toString() }, o?.signal)).offer, 'ERR_NOT_FOUND'),
    listOffers: (by, o) => guard(o, async () => (await extensionQuery<{ offers: OfferInfo[] }>(rpcUrl, '/insitu.compute.Query/Offers', { ...(by?.owner ? { owner: by.owner } : {}), ...(by?.bucket ? { bucket: by.bucket } : {}), limit: o?.limit ?? 100 }, o?.signal)).offers),
    computeStats: (o) => guard(o, async () => (await extensionQuery<{ providers: ProviderComputeStats[] }>(rpcUrl, '/insitu.compute.Query/ProviderStats', {}, o?.signal)).providers),
    provenance: (bucket, object, o) => guard(o, async () => (await extensionQuery<{ provenance: OutputProvenance | null }>(rpcUrl, '/insitu.compute.Query/Provenance', { bucket, object }, o?.signal)).provenance, 'ERR_OBJECT_NOT_FOUND'),

    paymentView: (address, o) => guard(o, async () => extensionQuery<PaymentView>(rpcUrl, '/insitu.payment.Query/Account', { address }, o?.signal)),
    bucketReadState: (bucket, o) => guard(o, async () => extensionQuery<BucketReadState>(rpcUrl, '/insitu.payment.Query/BucketRead', { bucketName: bucket }, o?.signal), 'ERR_BUCKET_NOT_FOUND'),
    providerIncome: (spId, o) => guard(o, async () => extensionQuery<{ spId: number; familyId: number; gvgIds: number[]; unsettled: bigint; ratePerSecond: bigint; now: bigint }>(rpcUrl, '/insitu.payment.Query/ProviderIncome', { spId }, o?.signal)),
    holdings: (o) => guard(o, async () => extensionQuery<{ total: bigint; bank: bigint; streams: bigint; at: bigint }>(rpcUrl, '/insitu.audit.Query/Holdings', {}, o?.signal)),
    challenge: (id, o) => guard(o, async () => challengeInfo((await extensionQuery<{ challenge: Rec }>(rpcUrl, '/insitu.challenge.Query/Challenge', { id }, o?.signal)).challenge), 'ERR_NOT_FOUND'),
    challenges: (by, o) => guard(o, async () => (await extensionQuery<{ challenges: Rec[] }>(rpcUrl, '/insitu.challenge.Query/Challenges', by, o?.signal)).challenges.map(challengeInfo)),
    stakeParams: (o) => guard(o, async () => extensionQuery<{ admin: Hex; params: Record<string, string | number> }>(rpcUrl, '/insitu.sp.Query/Stake', {}, o?.signal)),
    advanceTime: async () => {
      throw new InsituError('ERR_PERMISSION_DENIED', 'moving a devnet\'s clock is a transaction: use a chain client with a key its genesis names (devClock.authorities)');
    },

    waitForTx: (txHash, o) => guard(o, () => waitForTx(rpcUrl, txHash, o)),
  };
  return reader;
}

const challengeInfo = (c: Rec): ChallengeInfo => ({
  id: Number(c.id), spId: Number(c.spId), objectId: BigInt(String(c.objectId)), redundancyIndex: Number(c.redundancyIndex), segment: Number(c.segment),
  challengers: (c.challengers as number[]).map(Number), issuedAt: Number(c.issuedAt), expiresAt: Number(c.expiresAt), status: c.status,
  votes: c.votes as Record<string, boolean>, slashed: BigInt(String(c.slashed ?? '0')), ...(c.swapKey ? { swapKey: String(c.swapKey) } : {}),
});

export async function createChainReader(opts: ChainReaderOptions): Promise<ChainReader> {
  return readerOn(greenfieldClient(opts.rpcUrl, opts.chainId), opts);
}

export interface ChainClientOptions extends ChainReaderOptions {
  privateKey: string;
}

export async function createChainClient(opts: ChainClientOptions): Promise<ChainClient> {
  const privateKey = normalizePrivateKey(opts.privateKey);
  const address = privateKeyToAddress(privateKey);
  const gf = greenfieldClient(opts.rpcUrl, opts.chainId);
  const reader = readerOn(gf, opts);
  const TxMsgData = codec<{ msgResponses: { typeUrl: string; value: Uint8Array }[] }>('cosmos/base/abci/v1beta1/abci', 'TxMsgData');
  const decodeTxMsgData = (b: Uint8Array) => TxMsgData.decode(b).msgResponses ?? [];
  /** Each included tx's message responses (TxMsgData, base64), by the result its sender was given. */
  const txData = new WeakMap<TxResult, string>();
  /** The first message response of a tx this client sent, decoded. */
  const responseOf = (tx: TxResult, typeUrl: string): Record<string, unknown> => {
    const data = txData.get(tx);
    const codec = msgCodec(typeUrl);
    const any = data ? decodeTxMsgData(Buffer.from(data, 'base64')).find((m) => m.typeUrl === typeUrl) : undefined;
    if (!any || !codec) throw new InsituError('ERR_INTERNAL', `transaction ${tx.txHash} carries no ${typeUrl}`);
    return codec.decode(any.value) as Record<string, unknown>;
  };
  // Transactions are signed here and pipelined per account (sender.ts); seals are batched.
  const sender = createTxSender({
    rpcUrl: opts.rpcUrl, chainId: opts.chainId, privateKey,
    ...(opts.txTimeoutMs !== undefined ? { txTimeoutMs: opts.txTimeoutMs } : {}),
    account: async () => {
      const a = await reader.getAccount(address);
      return { accountNumber: a.accountNumber, sequence: a.nonce };
    },
  });
  const keep = (tx: SentTx): TxResult => {
    const result = { txHash: tx.txHash, height: tx.height };
    if (tx.data) txData.set(result, tx.data);
    return result;
  };
  const send = (typeUrl: string, msg: Record<string, unknown>, o?: CallOptions): Promise<TxResult> =>
    guard(o, async () => keep(await sender.send([{ typeUrl, value: msg }], o)), 'ERR_TX_FAILED');
  const batchSeal = createSealBatcher(sender);

  const principalOf = (p: Principal): { type: number; value: string } =>
    p.type === 'account' ? { type: 1, value: p.address } : { type: 2, value: p.groupId.toString() };
  const grn = (bucket: string, object?: string): string => (object ? `grn:o::${bucket}/${object}` : `grn:b::${bucket}`);

  const client: ChainClient = {
    ...reader,
    address,

    async advanceTime(seconds, o) {
      if (!Number.isInteger(seconds) || seconds <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `time moves forward by a positive whole number of seconds, not ${seconds}`);
      const tx = await send(ADVANCE_TIME, { authority: address, seconds: BigInt(seconds) }, o);
      return Number(BigInt(String(responseOf(tx, `${ADVANCE_TIME}Response`).time))) * 1000;
    },

    async createBucket(input, o) {
      const spAddress = input.primarySp ?? (await reader.listStorageProviders(o)).find((p) => p.status === 'in-service')?.operatorAddress;
      if (!spAddress) throw new InsituError('ERR_PROVIDER_NOT_FOUND', 'no storage provider in service');
      const sp = await reader.getStorageProvider(spAddress, o);
      const family: Rec = await guard(o, () => gf.virtualGroup.getSpOptimalGlobalVirtualGroupFamily({ spId: sp.id, pickVgfStrategy: 1 }));
      const tx = await send('/greenfield.storage.MsgCreateBucket', {
        creator: address, bucketName: input.name, visibility: visibilityCode(input.visibility ?? 'private'),
        paymentAddress: input.paymentAddress ?? address, primarySpAddress: sp.operatorAddress,
        primarySpApproval: { expiredHeight: '0', globalVirtualGroupFamilyId: family.globalVirtualGroupFamilyId, sig: new Uint8Array() },
        chargedReadQuota: (input.chargedReadQuota ?? 0n).toString(),
      }, o);
      return { ...tx, bucket: await reader.headBucket(input.name, o) };
    },

    deleteBucket: (name, o) => send('/greenfield.storage.MsgDeleteBucket', { operator: address, bucketName: name }, o),

    updateBucket: (name, input, o) => send('/greenfield.storage.MsgUpdateBucketInfo', {
      operator: address, bucketName: name, visibility: input.visibility ? visibilityCode(input.visibility) : 0,
      paymentAddress: input.paymentAddress ?? '',
      ...(input.chargedReadQuota !== undefined ? { chargedReadQuota: { value: input.chargedReadQuota.toString() } } : {}),
    }, o),

    updateObject: (bucket, name, input, o) => send('/greenfield.storage.MsgUpdateObjectInfo', {
      operator: address, bucketName: bucket, objectName: name, visibility: visibilityCode(input.visibility),
    }, o),

    async createObject(input, o) {
      const tx = await send('/greenfield.storage.MsgCreateObject', {
        creator: address, bucketName: input.bucket, objectName: input.name, payloadSize: input.payloadSize.toString(),
        visibility: visibilityCode(input.visibility ?? 'inherit'), contentType: input.contentType ?? 'application/octet-stream',
        primarySpApproval: { expiredHeight: '0', globalVirtualGroupFamilyId: 0, sig: new Uint8Array() },
        expectChecksums: input.checksums, redundancyType: 0,
      }, o);
      return { ...tx, object: await reader.headObject(input.bucket, input.name, o) };
    },

    cancelCreateObject: (bucket, name, o) => send('/greenfield.storage.MsgCancelCreateObject', { operator: address, bucketName: bucket, objectName: name }, o),
    deleteObject: (bucket, name, o) => send('/greenfield.storage.MsgDeleteObject', { operator: address, bucketName: bucket, objectName: name }, o),

    sealObject: (input, o) => guard(o, async () => keep(await batchSeal({ typeUrl: '/greenfield.storage.MsgSealObject', value: {
      operator: address, bucketName: input.bucket, objectName: input.name, globalVirtualGroupId: input.gvgId,
      secondarySpBlsAggSignatures: input.blsSignature,
    } }, o)), 'ERR_TX_FAILED'),

    rejectSealObject: (bucket, name, o) => send('/greenfield.storage.MsgRejectSealObject', { operator: address, bucketName: bucket, objectName: name }, o),

    async putPolicy(input, o) {
      const tx = await send('/greenfield.storage.MsgPutPolicy', {
        operator: address,
        principal: principalOf(input.principal),
        resource: grn(input.bucket, input.object),
        statements: input.statements.map((s) => ({
          effect: s.effect === 'deny' ? 2 : 1,
          actions: s.actions.map((a) => ACTION_CODES[a]),
          resources: s.resources ?? [],
          ...(s.expiresAt ? { expirationTime: { seconds: Math.floor(s.expiresAt / 1000).toString(), nanos: 0 } } : {}),
        })),
        ...(input.expiresAt ? { expirationTime: { seconds: Math.floor(input.expiresAt / 1000).toString(), nanos: 0 } } : {}),
      }, o);
      const policies = await reader.listPolicies(input.bucket, input.object, o);
      const mine = policies.find((p) => JSON.stringify(principalOf(p.principal)).toLowerCase() === JSON.stringify(principalOf(input.principal)).toLowerCase());
      return { ...tx, policyId: mine?.id ?? 0n };
    },

    deletePolicy: (input, o) => send('/greenfield.storage.MsgDeletePolicy', {
      operator: address, principal: principalOf(input.principal), resource: grn(input.bucket, input.object),
    }, o),

    transfer: (to, amount, o) => send('/cosmos.bank.v1beta1.MsgSend', {
      fromAddress: address, toAddress: to, amount: [{ denom: 'BNB', amount: amount.toString() }],
    }, o),

    async registerProvider(input, o) {
      const tx = await send('/greenfield.sp.MsgCreateStorageProvider', {
        creator: address,
        description: { moniker: input.moniker, identity: '', website: '', securityContact: '', details: `computePrice=${input.computePrice}` },
        spAddress: address, fundingAddress: input.fundingAddress, sealAddress: input.sealAddress, approvalAddress: input.approvalAddress,
        gcAddress: input.gcAddress, maintenanceAddress: address, endpoint: input.endpoint,
        deposit: { denom: 'BNB', amount: input.deposit.toString() },
        readPrice: input.readPrice.toString(), freeReadQuota: '0', storePrice: input.storePrice.toString(),
        blsKey: Buffer.from(input.blsKey).toString('hex'), blsProof: Buffer.from(input.blsProof).toString('hex'),
      }, o);
      return { ...tx, provider: await reader.getStorageProvider(address, o) };
    },

    async submitJob(input, o) {
      const tx = await send('/insitu.compute.MsgSubmitJob', {
        creator: address, bucketName: input.bucket, objectName: input.object, moduleBucket: input.moduleBucket,
        moduleObject: input.moduleObject, moduleHash: input.moduleHash, args: input.args ?? [], maxFee: input.maxFee.toString(),
        fuelLimit: input.fuelLimit.toString(), executorSpId: input.executorSpId ?? 0, sideInputs: input.sideInputs ?? [],
        env: input.env ?? [], mode: input.mode ?? '', pieceIndex: input.pieceIndex ?? 0, mapJobs: (input.mapJobs ?? []).map(String),
        memoryMib: input.memoryMiB ?? 0, maxOutputBytes: String(input.maxOutputBytes ?? 0), offerId: String(input.offerId ?? 0),
        maxComputePrice: input.maxComputePrice !== undefined ? input.maxComputePrice.toString() : '', executorChoice: input.cheapest ? 'cheapest' : '',
        runId: String(input.runId ?? 0),
      }, o);
      return { ...tx, jobId: BigInt(String(responseOf(tx, '/insitu.compute.MsgSubmitJobResponse').jobId)) };
    },

    settleJob: (input, o) => send('/insitu.compute.MsgSettleJob', {
      operator: address, jobId: input.jobId.toString(), receipt: input.receipt, receiptSignature: input.receiptSignature,
    }, o),
    ackJob: (jobId, o) => send('/insitu.compute.MsgAckJob', { operator: address, jobId: jobId.toString() }, o),
    disputeJob: (jobId, o) => send('/insitu.compute.MsgDisputeJob', { disputer: address, jobId: jobId.toString() }, o),
    verifyJob: (input, o) => send('/insitu.compute.MsgVerifyJob', {
      operator: address, jobId: input.jobId.toString(), receipt: input.receipt, receiptSignature: input.receiptSignature,
    }, o),

    cancelJob: (jobId, o) => send('/insitu.compute.MsgCancelJob', { creator: address, jobId: jobId.toString() }, o),
    async reassignJob(input, o) {
      const tx = await send('/insitu.compute.MsgReassignJob', {
        creator: address, jobId: input.jobId.toString(), executorSpId: input.executorSpId ?? 0,
        maxComputePrice: input.maxComputePrice !== undefined ? input.maxComputePrice.toString() : '',
      }, o);
      const r = responseOf(tx, '/insitu.compute.MsgReassignJobResponse');
      return { ...tx, executorSpId: Number(r.executorSpId), computePrice: BigInt(String(r.computePrice || '0')) };
    },
    async openRun(input, o) {
      const tx = await send('/insitu.compute.MsgOpenRun', {
        creator: address, bucketName: input.bucket, prefix: input.prefix, moduleHash: input.moduleHash, reduceModuleHash: input.reduceModuleHash ?? '',
        mapFee: input.mapFee.toString(), reduceFee: (input.reduceFee ?? 0n).toString(), spareMaps: input.spareMaps ?? 0, offerId: String(input.offerId ?? 0),
      }, o);
      const r = responseOf(tx, '/insitu.compute.MsgOpenRunResponse');
      return { ...tx, runId: BigInt(String(r.runId)), escrowed: BigInt(String(r.escrowed || '0')) };
    },
    fundRun: (runId, amount, o) => send('/insitu.compute.MsgFundRun', { creator: address, runId: runId.toString(), amount: amount.toString() }, o),
    async closeRun(runId, o) {
      const tx = await send('/insitu.compute.MsgCloseRun', { creator: address, runId: runId.toString() }, o);
      return { ...tx, refund: BigInt(String(responseOf(tx, '/insitu.compute.MsgCloseRunResponse').refund || '0')) };
    },
    recordJobOutput: (input, o) => send('/insitu.compute.MsgRecordOutput', { creator: address, jobId: input.jobId.toString(), bucketName: input.bucket, objectName: input.object }, o),
    async createOffer(input, o) {
      const tx = await send('/insitu.compute.MsgCreateOffer', {
        owner: address, bucketName: input.bucket, prefix: input.prefix ?? '', audience: input.audience, buyers: input.buyers ?? [],
        groupId: String(input.groupId ?? 0), modules: input.modules ?? [], pricePerJob: String(input.pricePerJob ?? 0n),
        pricePerGib: String(input.pricePerGiB ?? 0n), maxOutputBytes: String(input.maxOutputBytes), expiresAt: String(input.expiresAt ?? 0),
      }, o);
      return { ...tx, offerId: BigInt(String(responseOf(tx, '/insitu.compute.MsgCreateOfferResponse').offerId)) };
    },
    setComputePrice: (price, o) => send('/insitu.compute.MsgSetComputePrice', { operator: address, computePrice: price.toString() }, o),
    removeOffer: (offerId, o) => send('/insitu.compute.MsgRemoveOffer', { owner: address, offerId: offerId.toString() }, o),

    async createPaymentAccount(o) {
      const list = async (): Promise<string[]> => (await reader.paymentView(address, o)).paymentAccounts!.map((p) => p.address);
      const before = new Set(await list());
      const tx = await send('/greenfield.payment.MsgCreatePaymentAccount', { creator: address }, o);
      // Greenfield's response carries no address: the new one is the account not there before.
      const added = (await list()).find((a) => !before.has(a));
      if (!added) throw new InsituError('ERR_INTERNAL', `transaction ${tx.txHash} created no payment account`);
      return { ...tx, address: added as Hex };
    },
    settleIncome: (input, o) => send('/greenfield.virtualgroup.MsgSettle', { storageProvider: address, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupIds: input.gvgIds ?? [] }, o),
    deposit: (to, amount, o) => send('/greenfield.payment.MsgDeposit', { creator: address, to, amount: amount.toString() }, o),
    withdraw: (from, amount, o) => send('/greenfield.payment.MsgWithdraw', { creator: address, from, amount: amount.toString() }, o),
    disableRefund: (addr, o) => send('/greenfield.payment.MsgDisableRefund', { owner: address, addr }, o),

    async createGroup(name, o) {
      const tx = await send('/greenfield.storage.MsgCreateGroup', { creator: address, groupName: name, extra: o?.extra ?? '' }, o);
      return { ...tx, groupId: BigInt(String(responseOf(tx, '/greenfield.storage.MsgCreateGroupResponse').groupId)) };
    },
    deleteGroup: (name, o) => send('/greenfield.storage.MsgDeleteGroup', { operator: address, groupName: name }, o),
    updateGroupMembers: (name, change, o) => send('/greenfield.storage.MsgUpdateGroupMember', {
      operator: address, groupOwner: address, groupName: name,
      membersToAdd: (change.add ?? []).map((m) => ({ member: m.member, ...(m.expiresAt ? { expirationTime: { seconds: Math.floor(m.expiresAt / 1000).toString(), nanos: 0 } } : {}) })),
      membersToDelete: change.remove ?? [],
    }, o),
    leaveGroup: (owner, name, o) => send('/greenfield.storage.MsgLeaveGroup', { member: address, groupOwner: owner, groupName: name }, o),

    storageProviderExit: (o) => send('/greenfield.virtualgroup.MsgStorageProviderExit', { storageProvider: address }, o),
    reportProviderDown: (spId, o) => send('/insitu.virtualgroup.MsgReportProviderDown', { reporter: address, spId }, o),
    withdrawDownReports: (o) => send('/insitu.virtualgroup.MsgWithdrawDownReports', { reporter: address }, o),
    reserveSwapIn: (input, o) => send('/greenfield.virtualgroup.MsgReserveSwapIn', {
      storageProvider: address, targetSpId: input.targetSpId, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupId: input.gvgId ?? 0,
    }, o),
    completeSwapIn: (input, o) => send('/greenfield.virtualgroup.MsgCompleteSwapIn', {
      storageProvider: address, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupId: input.gvgId ?? 0,
    }, o),
    admitProvider: (spId, o) => send('/insitu.sp.MsgAdmitStorageProvider', { authority: address, spId }, o),
    forceProviderExit: (operator, o) => send('/greenfield.virtualgroup.MsgStorageProviderForcedExit', { authority: address, storageProvider: operator }, o),
    completeProviderExit: (o) => send('/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: address, operator: address }, o),
    async submitChallenge(input, o) {
      const tx = await send('/greenfield.challenge.MsgSubmit', {
        challenger: address, spOperatorAddress: input.provider, bucketName: input.bucket, objectName: input.object,
        segmentIndex: input.segment ?? 0, randomIndex: input.segment === undefined ? 1 : 0,
      }, o);
      return { ...tx, challengeId: Number(String(responseOf(tx, '/greenfield.challenge.MsgSubmitResponse').challengeId)) };
    },
    attestChallenge: (input, o) => send('/greenfield.challenge.MsgAttest', {
      submitter: address, challengeId: input.challengeId.toString(), voteResult: input.passed ? 1 : 0, challengerAddress: address,
    }, o),

    createGlobalVirtualGroup: (input, o) => send('/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', {
      storageProvider: address, familyId: input.familyId ?? 0, secondarySpIds: input.secondarySpIds,
      deposit: { denom: 'BNB', amount: (input.deposit ?? 0n).toString() },
    }, o),
  };
  return client;
}
