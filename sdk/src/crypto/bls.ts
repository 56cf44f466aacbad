// BLS12-381 keys and signatures for seal approvals: public keys in G1 (48 bytes), signatures in
// G2 (96 bytes), the proof-of-possession ciphersuite, as Greenfield's secondaries sign with blst.

import { createHash } from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { InsituError } from '../errors.ts';

const bls = bls12_381.longSignatures;
export const BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

export function generateBlsKey(): Uint8Array {
  return bls.keygen().secretKey;
}

export function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  return bls.getPublicKey(secretKey).toBytes(true);
}

export function blsSign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return bls.sign(bls.hash(message, BLS_DST), secretKey).toBytes(true);
}

export function blsAggregate(signatures: Uint8Array[]): Uint8Array {
  if (signatures.length === 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'nothing to aggregate');
  return bls.aggregateSignatures(signatures).toBytes(true);
}

export function blsVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return bls.verify(signature, bls.hash(message, BLS_DST), publicKey);
  } catch {
    return false;
  }
}

/** All signers signed the same message (FastAggregateVerify). */
export function blsFastAggregateVerify(signature: Uint8Array, message: Uint8Array, publicKeys: Uint8Array[]): boolean {
  if (publicKeys.length === 0) return false;
  try {
    const aggregated = bls.aggregatePublicKeys(publicKeys);
    return bls.verify(signature, bls.hash(message, BLS_DST), aggregated);
  } catch {
    return false;
  }
}

/** Proof of possession for registering a key: the key signs the SHA-256 of its public key. */
export function blsProofOfPossession(secretKey: Uint8Array): Uint8Array {
  return blsSign(new Uint8Array(createHash('sha256').update(blsPublicKey(secretKey)).digest()), secretKey);
}
