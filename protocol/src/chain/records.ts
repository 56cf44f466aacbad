// The records the chain stores and answers queries with, as its clients receive them: one
// definition for the state machine and for the SDK, the nodes and the CLI (bigints and bytes
// cross the wire as they are, see json.ts).

import type { Hex } from '../crypto/keys.ts';

export interface BucketRecord {
  id: bigint;
  name: string;
  owner: Hex;
  visibility: number;
  createdAt: number;
  paymentAddress: Hex;
  familyId: number;
  primarySpId: number;
  chargedReadQuota: bigint;
  status: number;
  objectCount: number;
  /**
   * Local virtual groups (Greenfield's InternalBucketInfo): sealed objects point at one of these,
   * which binds them to a global virtual group of the bucket's family. Absent on records
   * written before groups were bound.
   */
  lvgs?: LocalVirtualGroupRecord[];
  nextLvgId?: number;
  /** The read-quota flows the bucket's payment account pays (charged quota × read price). */
  readFlows?: Flow[];
  /**
   * The storage flows of all its sealed objects, summed per receiver, and the reserve fees its
   * objects waiting for a seal have locked: what moves when the bucket changes payer, without
   * reading every object. Absent on records written before they were kept.
   */
  storeFlows?: Flow[];
  lockedFees?: bigint;
}

export interface LocalVirtualGroupRecord {
  id: number;
  gvgId: number;
  storedSize: bigint;
  /** Charge size of the sealed objects bound to it (Greenfield's LocalVirtualGroup.TotalChargeSize). */
  totalChargeSize?: bigint;
}

export interface ObjectRecord {
  id: bigint;
  bucket: string;
  name: string;
  owner: Hex;
  creator: Hex;
  payloadSize: bigint;
  visibility: number;
  contentType: string;
  createdAt: number;
  updatedAt: number;
  /** 0 created, 1 sealed, 2 discontinued (Greenfield's ObjectStatus) */
  status: number;
  redundancyType: number;
  checksums: Uint8Array[];
  /** The group holding the pieces: the family's first group until sealed, then the sealing group. */
  gvgId: number;
  /** The bucket's local virtual group bound at seal (0 until sealed, as on Greenfield). */
  lvgId: number;
  /** The reserve fee locked in the payment account while the object waits for its seal. */
  lockedFee?: bigint;
  /** The storage flows its bucket's payment account pays once sealed. */
  flows?: Flow[];
  /** Chain time (ms) of the seal: flows started then. */
  sealedAt?: number;
}

/** What the group index holds per object: enough to list a group's objects without reading them. */
export interface GroupObject {
  id: bigint;
  bucketName: string;
  objectName: string;
  payloadSize: bigint;
}

/**
 * The accounts a storage provider acts with, as on Greenfield: the operator signs its
 * transactions, the funding address receives its income and holds its deposit, the seal address
 * seals objects, the approval address approves buckets and objects, and the gc address collects
 * what is deleted.
 */
export interface ProviderAddresses {
  operatorAddress: Hex;
  fundingAddress: Hex;
  sealAddress: Hex;
  approvalAddress: Hex;
  gcAddress: Hex;
}

export interface ProviderRecord extends ProviderAddresses {
  id: number;
  /** BLS12-381 public key, hex (48 bytes). */
  blsKey: string;
  endpoint: string;
  moniker: string;
  /** 1 = in service (Greenfield STATUS_IN_SERVICE is 0; kept as the enum value below). */
  status: number;
  storePrice: string;
  readPrice: string;
  computePrice: string;
  /** Bytes each of its buckets may read per month without charged quota (Greenfield's free_read_quota). */
  freeReadQuota?: string;
  /** When the prices last changed (ms); absent for genesis prices. */
  priceUpdatedAt?: number;
  /** Base units held for it in SP_DEPOSIT_POOL (what a slash takes from); absent on old records: 0. */
  deposit?: string;
  /**
   * Admitted by the admin/governance account (genesis providers are). A provider that registered
   * itself waits in maintenance, counts in no price and no vote, and takes no role until then.
   * Absent on records written before admission existed: admitted.
   */
  admitted?: boolean;
  /** Chain time (ms) of registration and of admission. */
  createdAt?: number;
  admittedAt?: number;
  /** Set when it completed its exit: its deposit is released at this chain time. */
  unbondingUntil?: number;
}

export interface FamilyRecord {
  id: number;
  primarySpId: number;
  gvgIds: number[];
}

export interface GvgRecord {
  id: number;
  familyId: number;
  primarySpId: number;
  secondarySpIds: number[];
  /** Chain time (ms) the group was created: down reports count from its oldest groups' members. */
  createdAt?: number;
}

/** A storage challenge (project extension of Greenfield's challenge module). */
export interface ChallengeInfo {
  id: number;
  /** The challenged provider. */
  spId: number;
  objectId: bigint;
  /** -1 the primary's whole copy, i secondary piece i. */
  redundancyIndex: number;
  segment: number;
  /** The providers the chain chose to check it; a majority decides. */
  challengers: number[];
  issuedAt: number;
  expiresAt: number;
  status: 'open' | 'passed' | 'failed' | 'expired';
  /** Challenger id → true when the answer checked out. */
  votes: Record<string, boolean>;
  slashed: bigint;
  /** Set when a swap-in waits for it. */
  swapKey?: string;
}

export type ChallengeStatus = ChallengeInfo['status'];

/**
 * A challenge as the chain stores it: what its query answers (ChallengeInfo), with who asked for
 * it (absent: the chain's own random pick) and the fee paid, which stay on chain.
 */
export type ChallengeRecord = Omit<ChallengeInfo, 'slashed'> & {
  submitter?: Hex;
  fee?: bigint;
  /** Absent until a failed challenge slashed. */
  slashed?: bigint;
};

export interface GroupRecord {
  id: bigint;
  owner: Hex;
  name: string;
  extra: string;
}

export interface MemberRecord {
  groupId: bigint;
  member: Hex;
  /** ms since the epoch; null: never expires. */
  expiresAt: number | null;
}

export interface StatementRecord {
  effect: number;
  actions: number[];
  resources: string[];
  expiresAt: number | null;
}

export interface PolicyRecord {
  id: bigint;
  principal: { type: number; value: string };
  /** 'bucket' | 'object' */
  resourceType: string;
  bucket: string;
  object: string | null;
  resourceId: bigint;
  statements: StatementRecord[];
  expiresAt: number | null;
}

export interface SwapInRecord {
  successorSpId: number;
  targetSpId: number;
  familyId: number;
  gvgId: number;
  reservedAt: number;
  /** The challenge of the successor's data that completes this swap when it passes. */
  challengeId?: number;
}

/** One flow a bucket or object adds to its payer's outflows. */
export interface Flow {
  to: Hex;
  rate: bigint;
}

/**
 * What keeps providers honest (Greenfield's sp and challenge params, scaled to the devnet):
 * the stake to be admitted, how long it stays locked after exit, how far one price period may
 * move the global prices, and the storage challenges with their slashing.
 */
export interface AccountabilityParams {
  /** Base units a provider must deposit to be admitted (Greenfield mainnet: 500 BNB; devnet 10 BNB). */
  minDeposit: string;
  /** A deposit stays locked this long after its provider has left (Greenfield returns it at once). */
  unbondingPeriodMs: number;
  /** Global prices are recomputed once per period (Greenfield: each UTC month). */
  pricePeriodMs: number;
  /** One recomputation moves a global price by at most this percentage of the last one. */
  maxPriceChangePercent: number;
  /** Random challenges are issued once per interval of chain time; 0 issues none. */
  challengeIntervalMs: number;
  challengesPerInterval: number;
  /** Admitted providers chosen by the chain to check each challenge; a majority decides. */
  challengersPerChallenge: number;
  /** A challenge nobody decided by then lapses (Greenfield: 300 blocks). */
  challengeExpiryMs: number;
  /** What requesting a challenge costs (MsgSubmitChallenge); paid to the challengers. */
  challengeFee: string;
  /** Slash per started GiB of the object (Greenfield: 0.0085 BNB), clamped to [slashMin, slashMax]. */
  slashPerGiB: string;
  slashMin: string;
  slashMax: string;
  /** At most this much is slashed from one provider per window (Greenfield: sp_slash_max_amount per 43200 blocks). */
  slashMaxPerWindow: string;
  slashWindowMs: number;
  /** A (provider, object) pair slashed is not challenged at random again for this long. */
  slashCoolingOffMs: number;
}

export interface ComputeParams {
  /** How long a settled fee is held before it reaches the provider; disputes are open meanwhile (ms of chain time). */
  disputeWindowMs: number;
  /** How long the chosen verifiers have to post their receipts once a job is disputed (ms). */
  verifyWindowMs: number;
  /** How many providers re-run a disputed job. */
  verifiers: number;
  /** What a disputer puts up; lost to the verifiers and the executor when the receipt holds. */
  disputeBond: string;
  /** Least taken from the deposit of a provider whose receipt a dispute overturned. */
  slashMin: string;
  /** The slash is at least this many times the fee the provider claimed. */
  slashFeeMultiple: number;
  /** A refused module is charged this much fuel (at the provider's price, capped by the escrow): the node's work of loading and checking it. */
  rejectFuel: string;
  /** A job its executor has not acknowledged can be cancelled this long after submission (ms). */
  cancelUnackedAfterMs: number;
  /** An acknowledged job nobody settled (its node went away) can be cancelled this long after the acknowledgement (ms): longer than any run a node allows. */
  cancelAckedAfterMs: number;
  /** Output cap of a job whose submitter names none (bytes). */
  defaultOutputBytes: number;
}

export interface FeedEvent {
  seq: bigint;
  height: bigint;
  txHash: Uint8Array | null;
  type: string;
  attributes: Record<string, string>;
}
