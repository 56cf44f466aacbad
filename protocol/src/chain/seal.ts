// The documents a secondary BLS-signs to approve sealing.
//
// sealSignDoc is Greenfield's SecondarySpSealObjectSignDoc for one object (MsgSealObject):
// keccak256 of its key-sorted JSON, whose checksum field is the SHA-256 of the seven concatenated
// expected checksums.
//
// sealObjectsSignDoc is insitu's own, for a round of small objects sealed together by one
// MsgSealObjects (an extension Greenfield does not have): one signature per secondary for the
// whole round instead of one per object, so the secondaries sign, the primary checks and the chain
// verifies once per round.

import { createHash } from 'node:crypto';
import { keccak256 } from '../crypto/keys.ts';
import type { SealSignDocInput } from './types.ts';

/** SHA-256 of an object's concatenated expected checksums (the checksum field of both documents). */
export function checksumsHash(checksums: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const c of checksums) h.update(c);
  return new Uint8Array(h.digest());
}

export function sealSignDoc(input: SealSignDocInput): Uint8Array {
  const json = JSON.stringify({
    chain_id: input.chainId,
    checksum: Buffer.from(checksumsHash(input.checksums)).toString('base64'),
    global_virtual_group_id: input.gvgId,
    object_id: input.objectId.toString(),
  });
  return keccak256(new TextEncoder().encode(json));
}

/** The domain of sealObjectsSignDoc: no document of another kind or version hashes the same. */
export const SEAL_OBJECTS_DOMAIN = 'insitu/MsgSealObjects/v1';

export interface SealObjectsDocInput {
  chainId: string;
  gvgId: number;
  /** In the order of the message; each object's id and checksumsHash of its expected checksums. */
  objects: { objectId: bigint; checksumsHash: Uint8Array }[];
}

/**
 * What every secondary of group `gvgId` signs to approve sealing `objects` together: SHA-256 over
 * the domain, the chain id, the group id, the count and, in order, each object's id (8 bytes, big
 * endian) and checksums hash (32 bytes). Fixed-width fields after the two length-prefixed strings,
 * so no two lists encode alike.
 */
export function sealObjectsSignDoc(input: SealObjectsDocInput): Uint8Array {
  const chainId = Buffer.from(input.chainId, 'utf8');
  const head = Buffer.alloc(2 + SEAL_OBJECTS_DOMAIN.length + 2 + chainId.length + 8);
  let at = head.writeUInt16BE(SEAL_OBJECTS_DOMAIN.length, 0);
  at += head.write(SEAL_OBJECTS_DOMAIN, at, 'ascii');
  at = head.writeUInt16BE(chainId.length, at);
  at += chainId.copy(head, at);
  at = head.writeUInt32BE(input.gvgId >>> 0, at);
  head.writeUInt32BE(input.objects.length, at);
  const h = createHash('sha256').update(head);
  const item = Buffer.alloc(8);
  for (const o of input.objects) {
    if (o.checksumsHash.length !== 32) throw new TypeError('a checksums hash is 32 bytes');
    item.writeBigUInt64BE(o.objectId, 0);
    h.update(item).update(o.checksumsHash);
  }
  return new Uint8Array(h.digest());
}
