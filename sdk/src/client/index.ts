// createClient: the SDK's entry point for data owners and developers. Buckets, objects and
// policies, with the chain (through greenfield-js-sdk) as the single source of truth and the
// storage nodes for bytes.

import { InsituError, throwIfAborted } from '../errors.ts';
import { createChainClient } from '../chain/index.ts';
import type { Action, BucketInfo, ChainClient, ObjectInfo, Principal, StorageParams, StorageProvider, TxResult, Visibility, Account } from '../chain/types.ts';
import { createErasureCodec } from '../codec/index.ts';
import { computeChecksums } from '../integrity/index.ts';
import { putObject } from '../sp/index.ts';
import { validateBucketName, validateObjectName } from '../names.ts';
import type { Hex } from '../crypto/keys.ts';
import { prepareSource, counted, type ObjectSource } from './source.ts';
import { readObject, type ReadContext } from './read.ts';
import { jobsApi, type JobsApi } from './jobs.ts';

export interface ClientOptions {
  chain: { rpcUrl: string; chainId: string } | ChainClient;
  account: { privateKey: string };
}

interface Signal {
  signal?: AbortSignal;
}

export interface PutOptions extends Signal {
  visibility?: Visibility;
  contentType?: string;
  onProgress?: (sent: bigint, total: bigint) => void;
}

export interface GetOptions extends Signal {
  /** Inclusive byte range. */
  range?: { start: number; end: number };
  /** Called once if the read falls back to the secondaries. */
  onDegraded?: (reason: string) => void;
}

export interface PiecePlacement {
  index: number;
  role: 'primary' | 'data' | 'parity';
  spId: number;
  endpoint: string;
  operatorAddress: Hex;
}

export interface InsituClient {
  readonly address: Hex;
  readonly chain: ChainClient;
  account(opts?: Signal): Promise<Account>;
  buckets: {
    create(name: string, opts?: Signal & { visibility?: Visibility; primarySp?: Hex }): Promise<BucketInfo>;
    list(opts?: Signal): Promise<BucketInfo[]>;
    head(name: string, opts?: Signal): Promise<BucketInfo>;
    delete(name: string, opts?: Signal): Promise<TxResult>;
  };
  objects: {
    put(bucket: string, name: string, source: ObjectSource, opts?: PutOptions): Promise<ObjectInfo>;
    get(bucket: string, name: string, opts?: GetOptions): AsyncIterable<Uint8Array>;
    head(bucket: string, name: string, opts?: Signal): Promise<ObjectInfo & { placement: PiecePlacement[] }>;
    list(bucket: string, opts?: Signal & { prefix?: string; startAfter?: string; limit?: number }): Promise<ObjectInfo[]>;
    delete(bucket: string, name: string, opts?: Signal): Promise<TxResult>;
    cancel(bucket: string, name: string, opts?: Signal): Promise<TxResult>;
  };
  jobs: JobsApi;
  policies: {
    grant(target: { bucket: string; object?: string }, grantee: Hex, actions: Action[], opts?: Signal & { expiresAt?: number }): Promise<TxResult>;
    revoke(target: { bucket: string; object?: string }, grantee: Hex, opts?: Signal): Promise<TxResult>;
    list(target: { bucket: string; object?: string }, opts?: Signal): ReturnType<ChainClient['listPolicies']>;
  };
}

const sig = (o?: Signal): Signal => (o?.signal ? { signal: o.signal } : {});

export async function createClient(opts: ClientOptions): Promise<InsituClient> {
  const chain = 'createBucket' in opts.chain ? opts.chain : await createChainClient({ ...opts.chain, privateKey: opts.account.privateKey });
  const codec = createErasureCodec();
  let params: StorageParams | undefined;
  const getParams = async (): Promise<StorageParams> => (params ??= await chain.params());
  let providers = new Map<number, StorageProvider>();
  const provider = async (id: number): Promise<StorageProvider> => {
    if (!providers.has(id)) providers = new Map((await chain.listStorageProviders()).map((p) => [p.id, p]));
    const p = providers.get(id);
    if (!p) throw new InsituError('ERR_PROVIDER_NOT_FOUND', `no storage provider ${id}`);
    return p;
  };

  async function put(bucket: string, name: string, source: ObjectSource, o: PutOptions = {}): Promise<ObjectInfo> {
    validateBucketName(bucket);
    validateObjectName(name);
    const p = await getParams();
    const src = await prepareSource(source, o.signal);
    try {
      const redundancy = { segmentSize: p.maxSegmentSize, dataShards: p.dataChunks, parityShards: p.parityChunks };
      const { checksums, size } = await computeChecksums(src.open(), redundancy, { ...sig(o), codec });
      let existing: ObjectInfo | undefined;
      try {
        existing = await chain.headObject(bucket, name, sig(o));
      } catch (e) {
        if ((e as InsituError).code !== 'ERR_OBJECT_NOT_FOUND') throw e;
      }
      let txHash: string | undefined;
      if (existing) {
        const sameBytes = existing.payloadSize === size && existing.checksums.every((c, i) => Buffer.from(c).equals(Buffer.from(checksums[i]!)));
        if (existing.status === 'sealed') {
          if (sameBytes) return existing;
          throw new InsituError('ERR_OBJECT_EXISTS', `${bucket}/${name} already exists; delete it first (insitu rm ${bucket}/${name})`);
        }
        if (!sameBytes) {
          throw new InsituError('ERR_OBJECT_EXISTS',
            `${bucket}/${name} has an unfinished upload of different content; cancel it first (insitu cancel ${bucket}/${name})`);
        }
        // The same bytes were registered by an upload that did not finish: resume it.
      } else {
        const created = await chain.createObject({
          bucket, name, payloadSize: size, checksums,
          ...(o.visibility ? { visibility: o.visibility } : {}),
          ...(o.contentType ? { contentType: o.contentType } : {}),
        }, sig(o));
        existing = created.object;
        txHash = created.txHash;
      }
      if (existing.status === 'sealed') return existing;
      const info = await chain.headBucket(bucket, sig(o));
      const primary = await provider(info.primarySpId);
      let sent = 0n;
      await putObject({
        endpoint: primary.endpoint, bucket, object: name, size, privateKey: opts.account.privateKey,
        body: counted(src.open(), (n) => {
          sent += BigInt(n);
          o.onProgress?.(sent, size);
        }, o.signal),
        ...(txHash ? { txHash } : {}),
        ...(o.contentType ? { contentType: o.contentType } : {}),
        ...sig(o),
      });
      const sealed = await chain.headObject(bucket, name, sig(o));
      if (sealed.status !== 'sealed') throw new InsituError('ERR_REPLICATION_FAILED', `${bucket}/${name} was uploaded but is not sealed`);
      return sealed;
    } finally {
      await src.cleanup();
    }
  }

  async function* get(bucket: string, name: string, o: GetOptions = {}): AsyncGenerator<Uint8Array> {
    throwIfAborted(o.signal);
    const obj = await chain.headObject(bucket, name, sig(o));
    const info = await chain.headBucket(bucket, sig(o));
    const ctx: ReadContext = {
      chain,
      codec,
      params: await getParams(),
      privateKey: opts.account.privateKey,
      endpointOf: async (id) => (await provider(id)).endpoint,
      ...(o.onDegraded ? { onDegraded: o.onDegraded } : {}),
    };
    let primary: string | null = null;
    try {
      primary = (await provider(info.primarySpId)).endpoint;
    } catch {
      primary = null;
    }
    yield* readObject(ctx, obj, primary, { ...(o.range ? { range: o.range } : {}), ...sig(o) });
  }

  async function head(bucket: string, name: string, o: Signal = {}): Promise<ObjectInfo & { placement: PiecePlacement[] }> {
    const obj = await chain.headObject(bucket, name, o);
    const gvg = await chain.getGlobalVirtualGroup(obj.gvgId, o);
    const p = await getParams();
    const placement: PiecePlacement[] = [];
    const prim = await provider(gvg.primarySpId);
    placement.push({ index: -1, role: 'primary', spId: prim.id, endpoint: prim.endpoint, operatorAddress: prim.operatorAddress });
    for (const [j, spId] of gvg.secondarySpIds.entries()) {
      const sp = await provider(spId);
      placement.push({ index: j, role: j < p.dataChunks ? 'data' : 'parity', spId, endpoint: sp.endpoint, operatorAddress: sp.operatorAddress });
    }
    return { ...obj, placement };
  }

  const principal = (a: Hex): Principal => ({ type: 'account', address: a });

  return {
    address: chain.address,
    chain,
    account: (o) => chain.getAccount(chain.address, sig(o)),
    buckets: {
      async create(name, o = {}) {
        validateBucketName(name);
        const r = await chain.createBucket({ name, visibility: o.visibility ?? 'private', ...(o.primarySp ? { primarySp: o.primarySp } : {}) }, sig(o));
        return r.bucket;
      },
      list: (o) => chain.listBuckets(chain.address, sig(o)),
      head: (name, o) => chain.headBucket(name, sig(o)),
      delete: (name, o) => chain.deleteBucket(name, sig(o)),
    },
    objects: {
      put,
      get,
      head,
      list: (bucket, o = {}) => chain.listObjects(bucket, o),
      delete: (bucket, name, o) => chain.deleteObject(bucket, name, sig(o)),
      cancel: (bucket, name, o) => chain.cancelCreateObject(bucket, name, sig(o)),
    },
    jobs: jobsApi({ chain, privateKey: opts.account.privateKey, provider, put: (b, n, src, o) => put(b, n, src, o) }),
    policies: {
      grant: (target, grantee, actions, o = {}) => chain.putPolicy({
        principal: principal(grantee), bucket: target.bucket, ...(target.object ? { object: target.object } : {}),
        statements: [{ effect: 'allow', actions, ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}) }],
      }, sig(o)),
      revoke: (target, grantee, o) => chain.deletePolicy({ principal: principal(grantee), bucket: target.bucket, ...(target.object ? { object: target.object } : {}) }, sig(o)),
      list: (target, o) => chain.listPolicies(target.bucket, target.object, sig(o)),
    },
  };
}

export type { ObjectSource };
