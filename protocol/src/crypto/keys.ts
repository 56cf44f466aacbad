// Account keys: secp256k1 private keys and Ethereum-style 0x addresses, as on Greenfield.

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { InsituError } from '../errors.ts';

export type Hex = `0x${string}`;

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
  return keccak_256(data);
}

export function generatePrivateKey(): Hex {
  return toHex(secp256k1.utils.randomSecretKey());
}

export function normalizePrivateKey(key: string): Hex {
  const bytes = fromHex(key);
  if (bytes.length !== 32 || !secp256k1.utils.isValidSecretKey(bytes)) {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'a private key is 32 bytes of hex');
  }
  return toHex(bytes);
}

/** Uncompressed public key (65 bytes) → 0x address with EIP-55 checksum. */
export function publicKeyToAddress(publicKey: Uint8Array): Hex {
  const point = secp256k1.Point.fromBytes(publicKey);
  const uncompressed = point.toBytes(false);
  return checksumAddress(toHex(keccak256(uncompressed.subarray(1)).subarray(12)));
}

export function privateKeyToAddress(privateKey: string): Hex {
  return publicKeyToAddress(secp256k1.getPublicKey(fromHex(privateKey), false));
}

/** The compressed public key (33 bytes) a signed transaction carries for its signer. */
export function compressedPublicKey(privateKey: string): Uint8Array {
  return secp256k1.getPublicKey(fromHex(privateKey), true);
}

export function checksumAddress(address: string): Hex {
  const lower = address.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{40}$/.test(lower)) throw new InsituError('ERR_INVALID_ARGUMENT', `not an address: ${address}`);
  const hash = bytesToHex(keccak256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  return out as Hex;
}

export function isAddress(value: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(value);
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Signs a 32-byte digest; returns r||s||v with v in {0,1} (Greenfield's GNFD1-ECDSA form). */
export function signDigest(digest: Uint8Array, privateKey: string): Uint8Array {
  const sig = secp256k1.sign(digest, fromHex(privateKey), { prehash: false, format: 'recovered' });
  // noble's 'recovered' format is v||r||s; Greenfield wants r||s||v.
  const out = new Uint8Array(65);
  out.set(sig.subarray(1, 65), 0);
  out[64] = sig[0]!;
  return out;
}

/** Recovers the signer's address from r||s||v (v in {0,1} or {27,28}). */
export function recoverAddress(digest: Uint8Array, signature: Uint8Array): Hex {
  if (signature.length !== 65) throw new InsituError('ERR_SIGNATURE_INVALID', 'signature must be 65 bytes');
  let v = signature[64]!;
  if (v >= 27) v -= 27;
  if (v > 1) throw new InsituError('ERR_SIGNATURE_INVALID', 'bad signature recovery id');
  const recovered = new Uint8Array(65);
  recovered[0] = v;
  recovered.set(signature.subarray(0, 64), 1);
  try {
    const pub = secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
    return publicKeyToAddress(pub);
  } catch (cause) {
    throw new InsituError('ERR_SIGNATURE_INVALID', 'signature does not recover to a key', { cause });
  }
}
