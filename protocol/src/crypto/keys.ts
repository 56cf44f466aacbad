// Account keys: secp256k1 private keys and Ethereum-style 0x addresses, as on Greenfield.
//
// The curve arithmetic is libsecp256k1: every signed request and transaction is signed once and
// recovered at least once. Signing and recovery, on every request's path, run on the native
// library (the secp256k1 package's prebuilt binding: a recovery takes about a fifth of the time
// the WebAssembly build takes, a signature about a third), and on its WebAssembly build (tiny-secp256k1) where no prebuilt binding loads; key parsing and
// derivation, off the hot path, always on the WebAssembly build. Both are the same C library, so
// signatures are the same bytes either way, as any RFC 6979 low-S signer produces (deterministic
// nonce, s normalised to the lower half).

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as ecc from 'tiny-secp256k1';
import { keccak256 as keccak } from './keccak.ts';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { InsituError } from '../errors.ts';

export type Hex = `0x${string}`;

interface SignAndRecover {
  /** r||s and the recovery id; throws for a key outside [1, n). */
  sign(digest: Uint8Array, secret: Uint8Array): { signature: Uint8Array; recoveryId: number };
  /** The uncompressed point, or null/a throw when the signature recovers to none. */
  recover(digest: Uint8Array, signature: Uint8Array, recoveryId: 0 | 1): Uint8Array | null;
}

/** The native binding when a prebuilt one loads for this platform, else the WebAssembly build. */
function signAndRecover(): SignAndRecover {
  try {
    // bindings.js, not the package's main: that falls back to a JavaScript implementation.
    const native = createRequire(import.meta.url)('secp256k1/bindings.js') as typeof import('secp256k1');
    return {
      sign: (digest, secret) => {
        // A digest of n or more (its first 15 bytes all ff; a hash gives one with odds of about
        // 2^-120) seeds this build's RFC 6979 nonce unreduced: the WebAssembly build reduces it,
        // as every other RFC 6979 signer does, and signs it.
        if (digest.subarray(0, 15).every((b) => b === 0xff)) return ecc.signRecoverable(digest, secret);
        const { signature, recid } = native.ecdsaSign(digest, secret);
        return { signature, recoveryId: recid };
      },
      recover: (digest, signature, recoveryId) => native.ecdsaRecover(signature, recoveryId, digest, false),
    };
  } catch {
    return {
      sign: (digest, secret) => ecc.signRecoverable(digest, secret),
      recover: (digest, signature, recoveryId) => ecc.recover(digest, signature, recoveryId, false),
    };
  }
}
const curve = signAndRecover();

export function toHex(bytes: Uint8Array): Hex {
  return `0x${bytesToHex(bytes)}`;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new InsituError('ERR_INVALID_ARGUMENT', `not a hex string: ${hex.slice(0, 20)}`);
  }
  return hexToBytes(clean);
}

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak(data);
}

export { keccakReady } from './keccak.ts';

export function generatePrivateKey(): Hex {
  for (;;) {
    // A uniform scalar in [1, n): 32 random bytes are out of range with probability ~2^-128.
    const bytes = new Uint8Array(randomBytes(32));
    if (ecc.isPrivate(bytes)) return toHex(bytes);
  }
}

export function normalizePrivateKey(key: string): Hex {
  const bytes = fromHex(key);
  if (!ecc.isPrivate(bytes)) {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'a private key is 32 bytes of hex');
  }
  return toHex(bytes);
}

/** The scalar of a private key; a clear error instead of the backend's for a key that is not one. */
function secretKey(privateKey: string): Uint8Array {
  const bytes = fromHex(privateKey);
  if (!ecc.isPrivate(bytes)) throw new InsituError('ERR_INVALID_ARGUMENT', 'a private key is 32 bytes of hex in [1, n)');
  return bytes;
}

/**
 * Bounded memo tables. A process meets the same few keys and addresses over and over (its own
 * signers, the providers, the accounts it serves), and keccak in JavaScript costs more than a
 * lookup; each entry is keyed by the exact input it was computed from, so a hit is the same
 * answer. The oldest entry goes when a table is full, so strangers' inputs only cost a recompute.
 */
function memo<V>(size: number): (key: string, compute: () => V) => V {
  const table = new Map<string, V>();
  return (key, compute) => {
    const known = table.get(key);
    if (known !== undefined) return known;
    const value = compute();
    if (table.size >= size) table.delete(table.keys().next().value!);
    table.set(key, value);
    return value;
  };
}

const pointAddresses = memo<Hex>(1024);
const checksummed = memo<Hex>(4096);

/** The address of an uncompressed SEC1 point (0x04 || x || y): the last 20 bytes of keccak(x || y). */
const addressOf = (uncompressed: Uint8Array): Hex => checksumAddress(toHex(keccak256(uncompressed.subarray(1)).subarray(12)));

/** The 0x address of an uncompressed SEC1 point already known to be on the curve, remembered. */
const addressOfPoint = (uncompressed: Uint8Array): Hex => pointAddresses(bytesToHex(uncompressed), () => addressOf(uncompressed));

/**
 * SEC1 public key (33 bytes compressed or 65 bytes uncompressed) → 0x address with EIP-55
 * checksum. Only the standard prefixes (02/03, 04) are keys: libsecp256k1 would also parse the
 * "hybrid" 06/07 form, which Ethereum and Cosmos never use.
 */
export function publicKeyToAddress(publicKey: Uint8Array): Hex {
  const standard = (publicKey.length === 33 && (publicKey[0] === 2 || publicKey[0] === 3)) || (publicKey.length === 65 && publicKey[0] === 4);
  if (!standard) throw new InsituError('ERR_INVALID_ARGUMENT', 'not a secp256k1 public key');
  // Keyed by the exact bytes: only a key that parsed is ever remembered.
  return pointAddresses(bytesToHex(publicKey), () => {
    if (!ecc.isPoint(publicKey)) throw new InsituError('ERR_INVALID_ARGUMENT', 'not a secp256k1 public key');
    return addressOf(publicKey.length === 65 ? publicKey : ecc.pointCompress(publicKey, false));
  });
}

/**
 * What a signer derives from its key, remembered for the few keys a process signs with (a client,
 * a node's operator and approval keys). The key's hash, not the key, names the entry.
 */
interface Derived { address: Hex; compressed: Uint8Array }
const derivedFromKey = memo<Derived>(64);

function derived(privateKey: string): Derived {
  const d = secretKey(privateKey);
  return derivedFromKey(bytesToHex(keccak256(d)), () => {
    const point = ecc.pointFromScalar(d, false)!;
    return { address: addressOfPoint(point), compressed: ecc.pointCompress(point, true) };
  });
}

export function privateKeyToAddress(privateKey: string): Hex {
  return derived(privateKey).address;
}

/** The compressed public key (33 bytes) a signed transaction carries for its signer. */
export function compressedPublicKey(privateKey: string): Uint8Array {
  return derived(privateKey).compressed.slice();
}

export function checksumAddress(address: string): Hex {
  const lower = address.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{40}$/.test(lower)) throw new InsituError('ERR_INVALID_ARGUMENT', `not an address: ${address}`);
  return checksummed(lower, () => {
    const hash = bytesToHex(keccak256(new TextEncoder().encode(lower)));
    let out = '0x';
    for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
    return out as Hex;
  });
}

export function isAddress(value: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(value);
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Signs a 32-byte digest; returns r||s||v with v in {0,1} (Greenfield's GNFD1-ECDSA form). */
export function signDigest(digest: Uint8Array, privateKey: string): Uint8Array {
  if (digest.length !== 32) throw new InsituError('ERR_INVALID_ARGUMENT', `a signed digest is 32 bytes, not ${digest.length}`);
  // libsecp256k1 signs with the RFC 6979 nonce and a low s, like every Ethereum signer.
  const { signature, recoveryId } = curve.sign(digest, secretKey(privateKey));
  const out = new Uint8Array(65);
  out.set(signature, 0);
  out[64] = recoveryId;
  return out;
}

/** Recovers the signer's address from r||s||v (v in {0,1} or {27,28}). */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Hex {
  if (signature.length !== 65) throw new InsituError('ERR_SIGNATURE_INVALID', 'signature must be 65 bytes');
  let v = signature[64]!;
  if (v >= 27) v -= 27;
  if (v > 1) throw new InsituError('ERR_SIGNATURE_INVALID', 'bad signature recovery id');
  let pub: Uint8Array | null;
  try {
    // Refuses r or s outside [1, n) and an r that is not the x of a curve point. Like the
    // Ethereum and Cosmos recovery this does not demand a low s: a high-s signature recovers to
    // whichever key it recovers to, and is only good if that is the expected signer.
    pub = curve.recover(digest, signature.subarray(0, 64), v as 0 | 1);
  } catch (cause) {
    throw new InsituError('ERR_SIGNATURE_INVALID', 'signature does not recover to a key', { cause });
  }
  if (!pub) throw new InsituError('ERR_SIGNATURE_INVALID', 'signature does not recover to a key');
  return addressOfPoint(pub);
}
