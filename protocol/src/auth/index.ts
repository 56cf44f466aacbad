// GNFD1-ECDSA request signatures, as Greenfield storage providers check them: keccak256 over
// METHOD \n path \n query \n canonical headers (the supported headers present, sorted, then the
// host without its port) \n signed header names, signed with the caller's account key.

import { createHash } from 'node:crypto';
import { InsituError } from '../errors.ts';
import { keccak256, signDigest, recoverAddress, fromHex, type Hex } from '../crypto/keys.ts';

export const SIGNED_HEADERS = [
  'x-gnfd-content-sha256', 'x-gnfd-txn-hash', 'x-gnfd-object-id', 'x-gnfd-redundancy-index', 'x-gnfd-resource',
  'x-gnfd-date', 'x-gnfd-expiry-timestamp', 'range', 'x-gnfd-piece-index', 'content-type', 'content-md5',
  'x-gnfd-unsigned-msg', 'x-gnfd-user-address',
];

export const EMPTY_SHA256_HEX = createHash('sha256').digest('hex');
export const MAX_EXPIRY_MS = 7 * 24 * 3600 * 1000;

/** Greenfield's path encoding: unreserved characters and '/' stay, everything else is %XX of UTF-8. */
export function encodePath(path: string): string {
  if (/^[a-zA-Z0-9\-_.~/]+$/.test(path)) return path;
  let out = '';
  for (const ch of path) {
    if (/[a-zA-Z0-9\-_.~/]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface CanonicalInput {
  method: string;
  /** The request path exactly as sent (already encoded). */
  path: string;
  /** The query string exactly as sent, without '?'. */
  query: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** Host name without port. */
  host: string;
}

export function canonicalRequest(input: CanonicalInput): string {
  const names = SIGNED_HEADERS.filter((h) => input.headers[h] !== undefined).sort();
  const lines = names.map((h) => `${h}:${input.headers[h]}`);
  lines.push(input.host, '');
  return [input.method.toUpperCase(), input.path, input.query, lines.join('\n'), names.join(';')].join('\n');
}

const formatDate = (d: Date): string => d.toISOString().replace(/\.\d{3}/, '');

export interface SignOptions {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  privateKey: string;
  /** Signature lifetime; default 1 hour, at most 7 days. */
  expiresInMs?: number;
  now?: number;
}

/** Returns the headers to send (lower-case names), including Authorization. */
export function signRequest(opts: SignOptions): Record<string, string> {
  const now = opts.now ?? Date.now();
  const headers: Record<string, string> = {
    'x-gnfd-content-sha256': EMPTY_SHA256_HEX,
    'x-gnfd-date': formatDate(new Date(now)),
    'x-gnfd-expiry-timestamp': formatDate(new Date(now + Math.min(opts.expiresInMs ?? 3600_000, MAX_EXPIRY_MS))),
    ...Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const canonical = canonicalRequest({
    method: opts.method,
    path: opts.url.pathname,
    query: opts.url.search.replace(/^\?/, ''),
    headers,
    host: opts.url.hostname,
  });
  const sig = signDigest(keccak256(new TextEncoder().encode(canonical)), opts.privateKey);
  headers.authorization = `GNFD1-ECDSA, Signature=${Buffer.from(sig).toString('hex')}`;
  return headers;
}

export interface VerifyInput {
  method: string;
  /** Raw request target: path plus optional ?query, as received. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  now?: number;
}

const header = (h: VerifyInput['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** True when the request carries an Authorization header at all. */
export const isSigned = (headers: VerifyInput['headers']): boolean => header(headers, 'authorization') !== undefined;

/**
 * Verifies a GNFD1-ECDSA request and returns the signer's address. Throws ERR_UNAUTHENTICATED
 * (no signature), ERR_SIGNATURE_EXPIRED or ERR_SIGNATURE_INVALID.
 */
export function verifyRequest(input: VerifyInput): Hex {
  const auth = header(input.headers, 'authorization');
  if (!auth) throw new InsituError('ERR_UNAUTHENTICATED', 'this request must be signed (Authorization: GNFD1-ECDSA)');
  const m = /^GNFD1-ECDSA,\s*Signature=([0-9a-fA-F]{130})$/.exec(auth.trim());
  if (!m) throw new InsituError('ERR_SIGNATURE_INVALID', 'Authorization must be "GNFD1-ECDSA, Signature=<130 hex digits>"');
  const expiry = header(input.headers, 'x-gnfd-expiry-timestamp');
  if (!expiry) throw new InsituError('ERR_SIGNATURE_INVALID', 'X-Gnfd-Expiry-Timestamp is required');
  const expiresAt = Date.parse(expiry);
  const now = input.now ?? Date.now();
  if (Number.isNaN(expiresAt)) throw new InsituError('ERR_SIGNATURE_INVALID', 'X-Gnfd-Expiry-Timestamp is not a date');
  if (expiresAt < now) throw new InsituError('ERR_SIGNATURE_EXPIRED', `the signature expired at ${expiry}`);
  if (expiresAt > now + MAX_EXPIRY_MS + 60_000) throw new InsituError('ERR_SIGNATURE_INVALID', 'X-Gnfd-Expiry-Timestamp is more than 7 days ahead');
  const hostHeader = header(input.headers, 'host') ?? '';
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!;
  const q = input.target.indexOf('?');
  const headers: Record<string, string | undefined> = {};
  for (const h of SIGNED_HEADERS) headers[h] = header(input.headers, h);
  const canonical = canonicalRequest({
    method: input.method,
    path: q === -1 ? input.target : input.target.slice(0, q),
    query: q === -1 ? '' : input.target.slice(q + 1),
    headers,
    host,
  });
  return recoverAddress(keccak256(new TextEncoder().encode(canonical)), fromHex(m[1]!));
}
