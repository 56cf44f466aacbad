// Bucket and object records as the state machine keeps them.

import type { KV } from '../store.ts';
import type { BucketRecord, LocalVirtualGroupRecord, ObjectRecord, GroupObject } from '@insitu/protocol/chain';
export type { BucketRecord, LocalVirtualGroupRecord, ObjectRecord, GroupObject };

export const bucketKey = (name: string): string => `bucket/${name}`;
export const objectKey = (bucket: string, name: string): string => `object/${bucket}\x00${name}`;
export const objectPrefix = (bucket: string): string => `object/${bucket}\x00`;

/** Sealed objects by their global virtual group, in id order: what a group's members hold. */
export const groupObjectKey = (gvgId: number, id: bigint): string => `gvg-object/${String(gvgId).padStart(10, '0')}/${id.toString().padStart(20, '0')}`;
export const groupObjectPrefix = (gvgId: number): string => `gvg-object/${String(gvgId).padStart(10, '0')}/`;
/** A family's buckets: the buckets whose primary a family's swap-in moves. */
export const familyBucketKey = (familyId: number, name: string): string => `family-bucket/${String(familyId).padStart(10, '0')}/${name}`;
export const familyBucketPrefix = (familyId: number): string => `family-bucket/${String(familyId).padStart(10, '0')}/`;

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
