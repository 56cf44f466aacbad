// BLS12-381 keys and signatures for seal approvals: public keys in G1 (48 bytes), signatures in
// G2 (96 bytes), the proof-of-possession ciphersuite, as Greenfield's secondaries sign — with the
// same blst library (through @chainsafe/blst's native binding: signing and verifying take about a
// millisecond, against tens of milliseconds in pure JavaScript).

import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { InsituError } from '../errors.ts';

type Blst = typeof import('@chainsafe/blst');
const blst = createRequire(import.meta.url)('@chainsafe/blst') as Blst;

/** The ciphersuite's domain separation tag (blst's default for the POP scheme, as Ethereum and Greenfield use). */
export const BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

export function generateBlsKey(): Uint8Array {
  return blst.SecretKey.fromKeygen(randomBytes(32)).toBytes();
}

const secret = (sk: Uint8Array) => {
  try {
    return blst.SecretKey.fromBytes(sk);
  } catch (cause) {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'not a BLS secret key (32 bytes, below the group order)', { cause });
  }
};

export function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  return secret(secretKey).toPublicKey().toBytes(true);
}

export function blsSign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return secret(secretKey).sign(message).toBytes(true);
}

/** Aggregates signatures, each checked to be in the subgroup. */
export function blsAggregate(signatures: Uint8Array[]): Uint8Array {
  return aggregateSignatures(signatures, true);
}

function aggregateSignatures(signatures: Uint8Array[], subgroupCheck: boolean): Uint8Array {
  if (signatures.length === 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'nothing to aggregate');
  try {
    return blst.aggregateSerializedSignatures(signatures, subgroupCheck).toBytes(true);
  } catch (cause) {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'a signature to aggregate is not a valid G2 point', { cause });
  }
}

export function blsVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return blst.verify(message, blst.PublicKey.fromBytes(publicKey, true), blst.Signature.fromBytes(signature, true));
  } catch {
    return false;
  }
}

/** All signers signed the same message (FastAggregateVerify). */
export function blsFastAggregateVerify(signature: Uint8Array, message: Uint8Array, publicKeys: Uint8Array[]): boolean {
  if (publicKeys.length === 0) return false;
  try {
    return blst.fastAggregateVerify(message, publicKeys.map((k) => blst.PublicKey.fromBytes(k, true)), blst.Signature.fromBytes(signature, true));
  } catch {
    return false;
  }
}

/** The signers' keys, each checked to be a valid G1 point, aggregated; throws ERR_INVALID_ARGUMENT. */
function aggregateKeys(publicKeys: Uint8Array[]): InstanceType<Blst['PublicKey']> {
  if (publicKeys.length === 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'no public keys');
  try {
    return blst.aggregatePublicKeys(publicKeys.map((k) => blst.PublicKey.fromBytes(k, true)));
  } catch (cause) {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'a public key is not a valid G1 point', { cause });
  }
}

/**
 * FastAggregateVerify for one set of signers, prepared once: their keys are checked and
 * aggregated when the checker is made, not for every signature (a primary checks the same
 * secondaries' approvals upload after upload). Throws ERR_INVALID_ARGUMENT for a key that is not
 * a valid G1 point.
 */
export function blsAggregateChecker(publicKeys: Uint8Array[]): (signature: Uint8Array, message: Uint8Array) => boolean {
  const aggregate = aggregateKeys(publicKeys);
  return (signature, message) => {
    try {
      // The aggregate signature is checked for the subgroup here, as FastAggregateVerify does.
      return blst.verify(message, aggregate, blst.Signature.fromBytes(signature, true));
    } catch {
      return false;
    }
  };
}

/**
 * Aggregates signatures as the standard's Aggregate does: each must be a point on the curve, the
 * subgroup check is left to the verification of the aggregate (blsAggregate checks every one).
 */
export function blsAggregateUnchecked(signatures: Uint8Array[]): Uint8Array {
  return aggregateSignatures(signatures, false);
}

/** Proof of possession for registering a key: the key signs the SHA-256 of its public key. */
export function blsProofOfPossession(secretKey: Uint8Array): Uint8Array {
  return blsSign(new Uint8Array(createHash('sha256').update(blsPublicKey(secretKey)).digest()), secretKey);
}
