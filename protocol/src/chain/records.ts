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

export interface ProviderRecord {
  id: number;
  operatorAddress: Hex;
  fundingAddress: Hex;
  sealAddress: Hex;
  approvalAddress: Hex;
  gcAddress: Hex;
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

export type ChallengeStatus = 'open' | 'passed' | 'failed' | 'expired';

export interface ChallengeRecord {
  id: number;
  spId: number;
  objectId: bigint;
  /** -1: the primary's whole copy; i: secondary piece i. */
  redundancyIndex: number;
  segment: number;
  challengers: number[];
  issuedAt: number;
  expiresAt: number;
  status: ChallengeStatus;
  /** Challenger id → true when the answer checked out. */
  votes: Record<string, boolean>;
  /** Who asked for it (absent: the chain's own random pick). */
  submitter?: Hex;
  fee?: bigint;
  /** The swap-in this challenge gates (see recovery.ts). */
  swapKey?: string;
  slashed?: bigint;
}

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
