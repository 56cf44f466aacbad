// Bucket and object records as the state machine keeps them.

import type { Hex } from '@insitu/protocol';
import type { KV } from '../store.ts';
import type { Flow } from './payment.ts';

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
}

export interface LocalVirtualGroupRecord {
  id: number;
  gvgId: number;
  storedSize: bigint;
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
