// Bucket and object records as the state machine keeps them.

import type { Hex } from '@insitu/protocol';
import type { KV } from '../store.ts';
import type { Flow } from './payment/stream.ts';

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

export const bucketKey = (name: string): string => `bucket/${name}`;
export const objectKey = (bucket: string, name: string): string => `object/${bucket}\x00${name}`;
export const objectPrefix = (bucket: string): string => `object/${bucket}\x00`;

/** Sealed objects by their global virtual group, in id order: what a group's members hold. */
export const groupObjectKey = (gvgId: number, id: bigint): string => `gvg-object/${String(gvgId).padStart(10, '0')}/${id.toString().padStart(20, '0')}`;
export const groupObjectPrefix = (gvgId: number): string => `gvg-object/${String(gvgId).padStart(10, '0')}/`;
/** A family's buckets: the buckets whose primary a family's swap-in moves. */
export const familyBucketKey = (familyId: number, name: string): string => `family-bucket/${String(familyId).padStart(10, '0')}/${name}`;
export const familyBucketPrefix = (familyId: number): string => `family-bucket/${String(familyId).padStart(10, '0')}/`;

/** What the group index holds per object: enough to list a group's objects without reading them. */
export interface GroupObject {
  id: bigint;
  bucketName: string;
  objectName: string;
  payloadSize: bigint;
}

export const getBucket = (kv: KV, name: string): Promise<BucketRecord | undefined> => kv.get<BucketRecord>(bucketKey(name));
export const getObject = (kv: KV, bucket: string, name: string): Promise<ObjectRecord | undefined> =>
  kv.get<ObjectRecord>(objectKey(bucket, name));

export async function getObjectById(kv: KV, id: bigint): Promise<ObjectRecord | undefined> {
  const ref = await kv.get<[string, string]>(`object-id/${id}`);
  return ref ? getObject(kv, ref[0], ref[1]) : undefined;
}

export async function getBucketById(kv: KV, id: bigint): Promise<BucketRecord | undefined> {
  const name = await kv.get<string>(`bucket-id/${id}`);
  return name ? getBucket(kv, name) : undefined;
}

/** 1 public-read, 2 private; INHERIT (3) and unspecified take the bucket's. */
export function effectiveVisibility(object: ObjectRecord, bucket: BucketRecord): number {
  return object.visibility === 1 || object.visibility === 2 ? object.visibility : bucket.visibility;
}
