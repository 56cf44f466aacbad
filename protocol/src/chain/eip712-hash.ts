// The EIP-712 digest of typed data (eth_signTypedData_v4), exactly as @metamask/eth-sig-util's
// TypedDataUtils.eip712Hash(data, 'V4') computes it, which is what greenfield-js-sdk and wallets
// sign. eth-sig-util's generic ABI encoder (bn.js numbers, Buffer copies, the type string rebuilt
// for every struct) costs milliseconds per transaction, more than the signature itself; this is
// the same algorithm, step for step, over the value shapes Greenfield's typed data holds (decimal
// strings and safe integers for uintN, strings, base64 or hex bytes, structs and arrays of them).
// Anything else (hex numbers, bool, address, intN, bytesN, odd shapes or anything eth-sig-util
// would refuse) is handed to eth-sig-util itself, so the digest, and every refusal, is always
// the one eth-sig-util gives.

import { createRequire } from 'node:module';
import { keccak256 } from '../crypto/keccak.ts';

const require = createRequire(import.meta.url);

type Field = { name: string; type: string };
type Types = Record<string, Field[]>;

/** Thrown inside the fast path for input it leaves to eth-sig-util. */
const UNSUPPORTED = Symbol('eip712-unsupported');
function unsupported(): never {
  throw UNSUPPORTED;
}

const ZERO_WORD = new Uint8Array(32);
const PREFIX = new Uint8Array([0x19, 0x01]);

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The struct definitions a type needs, as eth-sig-util's findTypeDependencies collects them. */
function dependencies(primaryType: unknown, types: Types, results: Set<string>): Set<string> {
  if (typeof primaryType !== 'string') unsupported();
  const base = primaryType.match(/^\w*/u)![0];
  if (results.has(base) || types[base] === undefined) return results;
  const fields = types[base];
  if (!Array.isArray(fields)) unsupported();
  results.add(base);
  for (const field of fields) dependencies(field.type, types, results);
  return results;
}

/** keccak256 of encodeType: the primary type, then its dependencies sorted, each as Name(type name,...). */
function typeHash(primaryType: string, types: Types): Uint8Array {
  // Each struct of an array (a round's objects, a transaction's messages) needs its type's hash:
  // worked out once per types table. A table is one digest's own (see fastHash), which nothing
  // changes while it is hashed, or a fixed one (fixTypes), which nothing changes at all.
  let known = typeHashesOf.get(types);
  if (!known) typeHashesOf.set(types, (known = new Map()));
  let hash = known.get(primaryType);
  if (!hash) known.set(primaryType, (hash = computeTypeHash(primaryType, types)));
  return hash;
}
const typeHashesOf = new WeakMap<Types, Map<string, Uint8Array>>();

function computeTypeHash(primaryType: string, types: Types): Uint8Array {
  const unsorted = dependencies(primaryType, types, new Set());
  unsorted.delete(primaryType);
  let encoded = '';
  for (const type of [primaryType, ...Array.from(unsorted).sort()]) {
    const fields = types[type];
    if (!Array.isArray(fields)) unsupported();
    encoded += `${type}(${fields.map(({ name, type: t }) => `${t} ${name}`).join(',')})`;
  }
  return remembered(typeHashes, encoded, () => keccak256(Buffer.from(encoded, 'utf-8')));
}

/**
 * Type strings and domains repeat in every transaction (a handful of message types, one chain),
 * and keccak in JavaScript costs tens of microseconds for the longer type strings, so their
 * hashes are remembered, each under the exact input it was computed from.
 */
const typeHashes = new Map<string, Uint8Array>();
const domainHashes = new Map<string, Uint8Array>();
const REMEMBERED = 256;

function remembered(cache: Map<string, Uint8Array>, key: string, compute: () => Uint8Array): Uint8Array {
  const known = cache.get(key);
  if (known) return known;
  const value = compute();
  if (cache.size >= REMEMBERED) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

/**
 * The domain separator. Remembered only for a domain of plain strings and safe integers, keyed by
 * the field list and those values in JSON, which tells every such input apart.
 */
function domainHash(fields: Field[], domain: unknown): Uint8Array {
  const compute = (): Uint8Array => keccak256(encodeData('EIP712Domain', domain, { EIP712Domain: fields }));
  if (!Array.isArray(fields) || typeof domain !== 'object' || domain === null) return compute();
  const values: unknown[] = [];
  for (const f of fields) {
    if (typeof f?.name !== 'string' || typeof f.type !== 'string') return compute();
    const v = (domain as Record<string, unknown>)[f.name];
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v))) return compute();
    values.push(v);
  }
  return remembered(domainHashes, JSON.stringify([fields.map((f) => [f.name, f.type]), values]), compute);
}

const UINT = /^uint([1-9][0-9]*)$/;
const DECIMAL = /^[0-9]+$/;

/** One 32-byte word for an atomic value; only unsigned integers given as decimals or safe integers. */
function atomicWord(type: string, value: unknown): Uint8Array {
  const m = UINT.exec(type);
  if (!m) unsupported();
  const bits = Number(m[1]);
  if (bits % 8 !== 0 || bits < 8 || bits > 256) unsupported();
  let n: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) n = BigInt(value);
  else if (typeof value === 'string' && DECIMAL.test(value)) n = BigInt(value);
  else return unsupported();
  if (n >= 1n << BigInt(bits)) unsupported();
  const word = new Uint8Array(32);
  for (let i = 31; i >= 0 && n > 0n; i--) {
    word[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return word;
}

/** encodeField: the 32-byte word one field contributes to its struct's encoding. */
function fieldWord(types: Types, type: string, value: unknown): Uint8Array {
  if (types[type] !== undefined) {
    if (value === null || value === undefined) return ZERO_WORD;
    return keccak256(encodeData(type, value, types));
  }
  if (value === undefined) unsupported();
  if (type === 'bytes') {
    if (typeof value !== 'string') unsupported();
    const s = value;
    if (/^0x[0-9A-Fa-f]*$/.test(s)) return keccak256(Buffer.from((s.length % 2 ? '0' : '') + s.slice(2), 'hex'));
    return keccak256(Buffer.from(s, 'utf8'));
  }
  if (type === 'string') {
    if (value !== null && typeof value !== 'string') unsupported();
    return keccak256(Buffer.from((value as string | null) ?? '', 'utf8'));
  }
  if (type.endsWith(']')) {
    if (!Array.isArray(value)) unsupported();
    const items: unknown[] = value;
    const element = type.slice(0, type.lastIndexOf('['));
    const words: Uint8Array[] = [];
    for (let i = 0; i < items.length; i++) {
      if (!(i in items)) unsupported();
      words.push(fieldWord(types, element, items[i]));
    }
    return keccak256(concat(words));
  }
  return atomicWord(type, value);
}

/** encodeData: the type's hash, then one word per field in declaration order. */
function encodeData(primaryType: string, data: unknown, types: Types): Uint8Array {
  const fields = types[primaryType];
  if (!Array.isArray(fields) || typeof data !== 'object' || data === null) unsupported();
  const words = [typeHash(primaryType, types)];
  for (const field of fields) words.push(fieldWord(types, field.type, (data as Record<string, unknown>)[field.name]));
  return concat(words);
}

/** Types tables frozen through and through by fixTypes: their type hashes are kept with them. */
const fixed = new WeakSet<object>();

/**
 * Freezes a types table (a plain object of arrays of plain { name, type } objects, with its
 * EIP712Domain) through and through, so the digests of typed data that share it keep its type
 * hashes instead of working them out for each; returns it.
 */
export function fixTypes<T extends Types>(types: T): T {
  if (Object.getPrototypeOf(types) !== Object.prototype || !Array.isArray(types.EIP712Domain)) return types;
  for (const fields of Object.values(types)) {
    if (!Array.isArray(fields)) return types;
    for (const field of fields) Object.freeze(field);
    Object.freeze(fields);
  }
  fixed.add(Object.freeze(types));
  return types;
}

function fastHash(typed: Record<string, unknown>): Uint8Array {
  // eth-sig-util's sanitizeData: only truthy members count, and EIP712Domain defaults to no fields.
  const { types: given, primaryType, domain, message } = typed;
  if (!given || typeof given !== 'object') unsupported();
  // A fixed table holds its own EIP712Domain and never changes: it serves as it is.
  const types = fixed.has(given) ? (given as Types) : (Object.assign({ EIP712Domain: [] }, given) as Types);
  const separator = domainHash(types.EIP712Domain!, domain || undefined);
  if (primaryType === 'EIP712Domain') return keccak256(concat([PREFIX, separator]));
  if (typeof primaryType !== 'string' || primaryType === '') unsupported();
  return keccak256(concat([PREFIX, separator, keccak256(encodeData(primaryType, message || undefined, types))]));
}

interface SigUtil { TypedDataUtils: { eip712Hash(data: unknown, version: string): Uint8Array } }
let sigUtil: SigUtil | undefined;

/**
 * The 32-byte EIP-712 (V4) digest a signer of `typed` signs. Whatever the fast path does not
 * finish (unsupported shapes, and every input eth-sig-util would refuse) goes to eth-sig-util, so
 * the answer or the error is always its own.
 */
export function typedDataDigest(typed: Record<string, unknown>): Uint8Array {
  try {
    return fastHash(typed);
  } catch {
    // Left to eth-sig-util: input outside the shapes above, or input it refuses, in its words.
  }
  sigUtil ??= require('@metamask/eth-sig-util') as SigUtil;
  return new Uint8Array(sigUtil.TypedDataUtils.eip712Hash(typed, 'V4'));
}
