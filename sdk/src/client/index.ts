// createClient: the SDK's entry point for data owners and developers. Buckets, objects and
// policies, with the chain as the single source of truth and the storage nodes for bytes. Each
// operation is an action in ./actions/ taking the client's context; this file only binds them.

import { createChainClient } from '../chain/index.ts';
import type { Account, BucketInfo, ChainClient, ObjectInfo, TxResult, Action, Principal, Statement, GroupInfo, PaymentView } from '@insitu/protocol/chain';
import { createErasureCodec } from '@insitu/protocol/codec';
import type { Hex } from '@insitu/protocol';
import type { ObjectSource } from './source.ts';
import { createClientContext, sig, type CallOptions, type ClientContext } from './context.ts';
import { jobsApi, type JobsApi } from './jobs.ts';
import { offersApi, type OffersApi } from './actions/offers.ts';
import { getAccount } from './actions/getAccount.ts';
import { createBucket, type CreateBucketOptions } from './actions/createBucket.ts';
import { listBuckets } from './actions/listBuckets.ts';
import { headBucket } from './actions/headBucket.ts';
import { deleteBucket, type DeleteBucketResult } from './actions/deleteBucket.ts';
import { putObject, type PutOptions } from './actions/putObject.ts';
import { getObject, type GetOptions } from './actions/getObject.ts';
import { headObject, type ObjectHead, type PiecePlacement } from './actions/headObject.ts';
import { listObjects, type ListObjectsOptions } from './actions/listObjects.ts';
import { deleteObject } from './actions/deleteObject.ts';
import { cancelObject } from './actions/cancelObject.ts';
import { updateBucket, updateObject, type UpdateOptions } from './actions/updateVisibility.ts';
import { putPolicy, type PutPolicyOptions } from './actions/putPolicy.ts';
import { grantPolicy, type GrantOptions, type PolicyTarget } from './actions/grantPolicy.ts';
import { revokePolicy } from './actions/revokePolicy.ts';
import { listPolicies } from './actions/listPolicies.ts';
import { bucketQuota, buyQuota, paymentView, type ReadQuota } from './actions/payments.ts';

export interface ClientOptions {
  /**
   * The chain's RPC URL (several validators' comma-separated) and chain id, with how long a call
   * may wait on it (ChainReaderOptions.callDeadlineMs), or a chain client already signing with the same key.
   */
  chain: { rpcUrl: string; chainId: string; callDeadlineMs?: number } | ChainClient;
  account: { privateKey: string };
  /**
   * How long a node may send nothing (before its first byte, or between chunks) before a read
   * routes around it (default 2 s). Raise it where the nodes share a busy machine with the client.
   */
  stallMs?: number;
}

export interface InsituClient {
  readonly address: Hex;
  readonly chain: ChainClient;
  account(opts?: CallOptions): Promise<Account>;
  buckets: {
    create(name: string, opts?: CreateBucketOptions): Promise<BucketInfo>;
    list(opts?: CallOptions): Promise<BucketInfo[]>;
    head(name: string, opts?: CallOptions): Promise<BucketInfo>;
    /**
     * Deletes a bucket that holds none of your objects; the job modules stored in it for your jobs
     * go with it, unless a job may still be re-run from one of them (ERR_JOB_RUNNING).
     */
    delete(name: string, opts?: CallOptions): Promise<DeleteBucketResult>;
    /** Changes the bucket's visibility (private or public-read). */
    update(name: string, opts: UpdateOptions): Promise<TxResult>;
    /** This month's (or `month`'s) read quota and what was read, from the bucket's primary. */
    quota(name: string, opts?: CallOptions & { month?: string }): Promise<ReadQuota>;
    /** Buys `bytesPerMonth` of read quota on top of the free quota: a flow of bytes × read price per second. */
    buyQuota(name: string, bytesPerMonth: bigint, opts?: CallOptions): Promise<TxResult>;
    /** Makes the bucket pay from the owner's own account or one of its payment accounts. */
    setPaymentAccount(name: string, paymentAddress: Hex, opts?: CallOptions): Promise<TxResult>;
  };
  /** Stream payments: balances, flow rates, payment accounts. */
  payments: {
    /** Balance, flow rate and when it runs out, for this account (default) or another. */
    view(address?: Hex, opts?: CallOptions): Promise<PaymentView>;
    createAccount(opts?: CallOptions): Promise<TxResult & { address: Hex }>;
    deposit(to: Hex, amount: bigint, opts?: CallOptions): Promise<TxResult>;
    withdraw(from: Hex, amount: bigint, opts?: CallOptions): Promise<TxResult>;
    disableRefund(paymentAccount: Hex, opts?: CallOptions): Promise<TxResult>;
  };
  objects: {
    put(bucket: string, name: string, source: ObjectSource, opts?: PutOptions): Promise<ObjectInfo>;
    get(bucket: string, name: string, opts?: GetOptions): AsyncIterable<Uint8Array>;
    head(bucket: string, name: string, opts?: CallOptions): Promise<ObjectHead>;
    /** The bucket's objects in name order; the stored job modules only with `includeJobModules`. */
    list(bucket: string, opts?: ListObjectsOptions): Promise<ObjectInfo[]>;
    delete(bucket: string, name: string, opts?: CallOptions): Promise<TxResult>;
    cancel(bucket: string, name: string, opts?: CallOptions): Promise<TxResult>;
    /** Changes the object's visibility (private, public-read, or inherit from its bucket). */
    update(bucket: string, name: string, opts: UpdateOptions): Promise<TxResult>;
  };
  jobs: JobsApi;
  /** Data offers: compute over your data sold to buyers (see actions/offers.ts). */
  offers: OffersApi;
  /** Groups the account owns or belongs to; policies can name a group as principal. */
  groups: {
    create(name: string, opts?: CallOptions & { extra?: string }): Promise<TxResult & { groupId: bigint }>;
    delete(name: string, opts?: CallOptions): Promise<TxResult>;
    /** Adds members (with optional expiry, ms since the epoch) to one of your groups. */
    add(name: string, members: (Hex | { member: Hex; expiresAt?: number })[], opts?: CallOptions): Promise<TxResult>;
    remove(name: string, members: Hex[], opts?: CallOptions): Promise<TxResult>;
    leave(owner: Hex, name: string, opts?: CallOptions): Promise<TxResult>;
    /** Your groups, or with `{ member }` the groups an account belongs to. */
    list(by?: { owner: Hex } | { member: Hex }, opts?: CallOptions): Promise<GroupInfo[]>;
  };
  policies: {
    grant(target: PolicyTarget, grantee: Hex, actions: Action[], opts?: GrantOptions): Promise<TxResult & { warnings: string[] }>;
    revoke(target: PolicyTarget, grantee: Hex, opts?: CallOptions): Promise<TxResult>;
    /** A full policy: statements (objects or readable strings, see putPolicy.ts) for an account or group. */
    put(target: PolicyTarget, principal: Principal, statements: (Statement | string)[], opts?: PutPolicyOptions): Promise<TxResult & { policyId: bigint }>;
    /** Removes the principal's policy on the target. */
    remove(target: PolicyTarget, principal: Principal, opts?: CallOptions): Promise<TxResult>;
    list(target: PolicyTarget, opts?: CallOptions): ReturnType<ChainClient['listPolicies']>;
  };
}

export async function createClient(opts: ClientOptions): Promise<InsituClient> {
  const chain = 'createBucket' in opts.chain ? opts.chain : await createChainClient({ ...opts.chain, privateKey: opts.account.privateKey });
  const ctx: ClientContext = createClientContext(chain, createErasureCodec(), opts.account.privateKey, opts.stallMs);
  return {
    address: chain.address,
    chain,
    account: (o) => getAccount(ctx, chain.address, o),
    buckets: {
      create: (name, o) => createBucket(ctx, name, o),
      list: (o) => listBuckets(ctx, o),
      head: (name, o) => headBucket(ctx, name, o),
      delete: (name, o) => deleteBucket(ctx, name, o),
      update: (name, o) => updateBucket(ctx, name, o),
      quota: (name, o) => bucketQuota(ctx, opts.account.privateKey, name, o),
      buyQuota: (name, bytes, o) => buyQuota(ctx, name, bytes, o),
      setPaymentAccount: (name, paymentAddress, o) => chain.updateBucket(name, { paymentAddress }, sig(o)),
    },
    payments: {
      view: (address, o) => paymentView(ctx, address ?? chain.address, o),
      createAccount: (o) => chain.createPaymentAccount(sig(o)),
      deposit: (to, amount, o) => chain.deposit(to, amount, sig(o)),
      withdraw: (from, amount, o) => chain.withdraw(from, amount, sig(o)),
      disableRefund: (addr, o) => chain.disableRefund(addr, sig(o)),
    },
    objects: {
      put: (bucket, name, source, o) => putObject(ctx, bucket, name, source, o),
      get: (bucket, name, o) => getObject(ctx, bucket, name, o),
      head: (bucket, name, o) => headObject(ctx, bucket, name, o),
      list: (bucket, o) => listObjects(ctx, bucket, o),
      delete: (bucket, name, o) => deleteObject(ctx, bucket, name, o),
      cancel: (bucket, name, o) => cancelObject(ctx, bucket, name, o),
      update: (bucket, name, o) => updateObject(ctx, bucket, name, o),
    },
    jobs: jobsApi({ chain, privateKey: opts.account.privateKey, provider: ctx.provider, put: (b, n, src, o) => putObject(ctx, b, n, src, sig(o)) }),
    offers: offersApi(chain),
    groups: {
      create: (name, o) => chain.createGroup(name, o),
      delete: (name, o) => chain.deleteGroup(name, sig(o)),
      add: (name, members, o) => chain.updateGroupMembers(name, { add: members.map((m) => (typeof m === 'string' ? { member: m } : m)) }, sig(o)),
      remove: (name, members, o) => chain.updateGroupMembers(name, { remove: members }, sig(o)),
      leave: (owner, name, o) => chain.leaveGroup(owner, name, sig(o)),
      list: (by, o) => chain.listGroups(by ?? { owner: chain.address }, sig(o)),
    },
    policies: {
      grant: (target, grantee, actions, o) => grantPolicy(ctx, target, grantee, actions, o),
      revoke: (target, grantee, o) => revokePolicy(ctx, target, grantee, o),
      put: (target, principal, statements, o) => putPolicy(ctx, target, principal, statements, o),
      remove: (target, principal, o) => chain.deletePolicy({ principal, bucket: target.bucket, ...(target.object ? { object: target.object } : {}) }, sig(o)),
      list: (target, o) => listPolicies(ctx, target, o),
    },
  };
}

export type { DeleteBucketResult, ReadQuota, UpdateOptions, PutPolicyOptions, ObjectSource, PutOptions, GetOptions, PiecePlacement, ObjectHead, CreateBucketOptions, ListObjectsOptions, GrantOptions, PolicyTarget, CallOptions, ClientContext };
