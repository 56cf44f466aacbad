// The HTTP client for storage nodes (undici): one function per node endpoint, signing each
// request with GNFD1-ECDSA when a key is given, streaming bodies both ways, and turning the
// node's XML errors into InsituErrors with the node's stable code. The verified reads' bulk
// bytes (openObject, openPieces) are read into the caller's buffers instead (body-reader.ts).

import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { InsituError, throwIfAborted, toAbortError } from '@insitu/protocol';
import { signRequest, encodePath } from '@insitu/protocol/auth';
import { answerError, lookup } from './http.ts';
import { openBody, readerOver, type BodyReader } from './body-reader.ts';

export type { BodyReader } from './body-reader.ts';

export const spDispatcher: Dispatcher = new Agent({ connect: { lookup: lookup as never }, keepAliveTimeout: 10_000, bodyTimeout: 120_000, headersTimeout: 60_000 });

export async function errorFrom(res: Dispatcher.ResponseData, what: string): Promise<InsituError> {
  const text = await res.body.text().catch(() => '');
  return answerError(res.statusCode, res.headers['x-insitu-error-code'], text, what);
}

export interface CallOpts {
  signal?: AbortSignal;
  /** Account key that signs the request; unsigned when absent (public objects). */
  privateKey?: string;
  /** A provider reading for a chain role names it; the serving node checks it on chain. */
  role?: ProviderRoleClaim;
  /**
   * Deadline in ms for the answer's headers and for each gap between body chunks: a node that
   * stops answering without closing its connection (frozen, overloaded to a standstill) is given
   * up after this long instead of the dispatcher's minute. ERR_NODE_UNAVAILABLE when it passes.
   */
  stallMs?: number;
}

/** How long a read waits for a node's first byte, or between its chunks, before going elsewhere. */
export const STALL_MS = 2_000;

/**
 * The chain role a provider reads for, beyond being in the object's group or its reserved
 * successor (which the serving node sees on chain by itself): the job it executes, the challenge
 * it checks.
 */
export interface ProviderRoleClaim {
  jobId?: bigint;
  challengeId?: number;
}

const roleHeaders = (role: ProviderRoleClaim | undefined): Record<string, string> => ({
  ...(role?.jobId !== undefined ? { 'x-insitu-job-id': role.jobId.toString() } : {}),
  ...(role?.challengeId !== undefined ? { 'x-insitu-challenge-id': String(role.challengeId) } : {}),
});

async function call(method: 'GET' | 'PUT' | 'POST', url: URL, opts: CallOpts & { headers?: Record<string, string>; body?: Readable | Uint8Array | AsyncIterable<Uint8Array>; what: string }): Promise<Dispatcher.ResponseData> {
  throwIfAborted(opts.signal);
  const extra = { ...opts.headers, ...roleHeaders(opts.role) };
  const headers = opts.privateKey
    ? signRequest({ method, url, privateKey: opts.privateKey, headers: extra })
    : extra;
  try {
    const res = await request(url, {
      method,
      headers,
      dispatcher: spDispatcher,
      ...(opts.stallMs !== undefined ? { headersTimeout: opts.stallMs, bodyTimeout: opts.stallMs } : {}),
      // undici sends any async iterable as a body; its types list streams and bytes only.
      ...(opts.body ? { body: opts.body as Readable | Uint8Array } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.statusCode >= 300) throw await errorFrom(res, opts.what);
    return res;
  } catch (e) {
    if (opts.signal?.aborted) throw toAbortError(opts.signal.reason);
    if (e instanceof InsituError) throw e;
    throw new InsituError('ERR_NODE_UNAVAILABLE', `${opts.what}: ${url.host} did not answer (${(e as Error).message})`, { cause: e });
  }
}

/** How long a read with no stall deadline of its own waits for a silent node (undici's body timeout). */
const LONG_STALL_MS = 120_000;

/**
 * A GET whose body the caller reads into its own buffers (body-reader.ts): over its own socket for
 * plain HTTP, through undici for TLS.
 */
async function open(url: URL, opts: CallOpts & { headers?: Record<string, string>; what: string }): Promise<BodyReader> {
  throwIfAborted(opts.signal);
  if (url.protocol !== 'http:') {
    const res = await call('GET', url, opts);
    return readerOver(res.body, Number(res.headers['content-length'] ?? 0), () => res.body.destroy());
  }
  const extra = { ...opts.headers, ...roleHeaders(opts.role) };
  const headers = opts.privateKey ? signRequest({ method: 'GET', url, privateKey: opts.privateKey, headers: extra }) : extra;
  return openBody(url, { headers, stallMs: opts.stallMs ?? LONG_STALL_MS, what: opts.what, ...(opts.signal ? { signal: opts.signal } : {}) });
}

const objectUrl = (endpoint: string, bucket: string, object: string): URL => new URL(`/${bucket}/${encodePath(object)}`, endpoint);

export interface PutObjectInput extends CallOpts {
  endpoint: string;
  bucket: string;
  object: string;
  body: AsyncIterable<Uint8Array> | Uint8Array;
  size: bigint;
  txHash?: string;
  contentType?: string;
}

/** Uploads an object to its bucket's primary; resolves once the node has stored and sealed it. */
export async function putObject(input: PutObjectInput): Promise<{ sealed: boolean }> {
  // The iterable itself, not a Readable over it: undici then asks for the next chunk only once the
  // socket has taken the last one, so a source may read its chunks into reused buffers.
  const body = input.body;
  const res = await call('PUT', objectUrl(input.endpoint, input.bucket, input.object), {
    ...input,
    what: `upload of ${input.bucket}/${input.object}`,
    headers: {
      'content-length': input.size.toString(),
      'content-type': input.contentType ?? 'application/octet-stream',
      ...(input.txHash ? { 'x-gnfd-txn-hash': input.txHash } : {}),
    },
    body,
  });
  const out = (await res.body.json().catch(() => ({}))) as { sealed?: boolean };
  return { sealed: out.sealed === true };
}

export interface GetObjectInput extends CallOpts {
  endpoint: string;
  bucket: string;
  object: string;
  /** Inclusive byte range. */
  range?: { start: number; end: number };
}

export async function getObject(input: GetObjectInput): Promise<{ body: AsyncIterable<Uint8Array>; length: number }> {
  const res = await call('GET', objectUrl(input.endpoint, input.bucket, input.object), {
    ...input,
    what: `download of ${input.bucket}/${input.object}`,
    headers: input.range ? { range: `bytes=${input.range.start}-${input.range.end}` } : {},
  });
  return { body: res.body as AsyncIterable<Uint8Array>, length: Number(res.headers['content-length'] ?? 0) };
}

/** An object's bytes (or a range of them) as a body read into the caller's buffers. */
export async function openObject(input: GetObjectInput): Promise<BodyReader> {
  return open(objectUrl(input.endpoint, input.bucket, input.object), {
    ...input,
    what: `download of ${input.bucket}/${input.object}`,
    headers: input.range ? { range: `bytes=${input.range.start}-${input.range.end}` } : {},
  });
}

export interface PieceInput extends CallOpts {
  endpoint: string;
  objectId: bigint;
  /** -1: the primary's segments; 0..n-1: piece index. */
  index: number;
}

/** The per-unit SHA-256 list a node holds for one index of an object. */
export async function getPieceHashes(input: PieceInput): Promise<Uint8Array[]> {
  const url = new URL(`/insitu/v1/piece-hashes?index=${input.index}&object-id=${input.objectId}`, input.endpoint);
  const res = await call('GET', url, { ...input, what: `piece hashes of object ${input.objectId} index ${input.index}` });
  const out = (await res.body.json()) as { hashes: string[] };
  return out.hashes.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
}

/**
 * Greenfield's challenge endpoint: one piece (segment `segment` of index `index`) and the hash
 * list of that index, for a challenger the chain named (`role.challengeId`).
 */
export async function getChallengePiece(input: PieceInput & { segment: number }): Promise<{ piece: Uint8Array; hashes: Uint8Array[] }> {
  const url = new URL('/greenfield/admin/v1/challenge', input.endpoint);
  const res = await call('GET', url, {
    ...input,
    what: `challenge piece ${input.index} of segment ${input.segment} of object ${input.objectId}`,
    headers: { 'x-gnfd-object-id': input.objectId.toString(), 'x-gnfd-redundancy-index': String(input.index), 'x-gnfd-piece-index': String(input.segment) },
  });
  const piece = new Uint8Array(await res.body.arrayBuffer());
  const list = String(res.headers['x-gnfd-piece-hash'] ?? '');
  const hashes = list ? list.split(',').map((h) => new Uint8Array(Buffer.from(h, 'hex'))) : [];
  return { piece, hashes };
}

export async function getPiece(input: PieceInput & { segment: number }): Promise<Uint8Array> {
  const url = new URL(`/insitu/v1/piece?index=${input.index}&object-id=${input.objectId}&segment=${input.segment}`, input.endpoint);
  const res = await call('GET', url, { ...input, what: `piece ${input.index} of segment ${input.segment} of object ${input.objectId}` });
  return new Uint8Array(await res.body.arrayBuffer());
}

/**
 * Pieces `index` of segments [first, last] in one answer, as a stream (each piece verified by the
 * node before it is sent; the caller checks each against the hash list too). Destroy the stream
 * to stop reading early.
 */
export async function getPieceStream(input: PieceInput & { first: number; last: number }): Promise<Readable> {
  const url = new URL(`/insitu/v1/piece?index=${input.index}&object-id=${input.objectId}&segment=${input.first}&last=${input.last}`, input.endpoint);
  const res = await call('GET', url, { ...input, what: `piece ${input.index} of segments ${input.first}-${input.last} of object ${input.objectId}` });
  return res.body as unknown as Readable;
}

/** Pieces `index` of segments [first, last] in one answer, as a body read into the caller's buffers. */
export async function openPieces(input: PieceInput & { first: number; last: number }): Promise<BodyReader> {
  const url = new URL(`/insitu/v1/piece?index=${input.index}&object-id=${input.objectId}&segment=${input.first}&last=${input.last}`, input.endpoint);
  return open(url, { ...input, what: `piece ${input.index} of segments ${input.first}-${input.last} of object ${input.objectId}` });
}

export interface ReplicateInput extends PieceInput {
  body: AsyncIterable<Uint8Array>;
  privateKey: string;
}

/** Primary → secondary: streams piece `index` of every segment; returns the secondary's BLS approval. */
export async function replicatePiece(input: ReplicateInput): Promise<Uint8Array> {
  const url = new URL('/greenfield/receiver/v1/replicate-piece', input.endpoint);
  const res = await call('PUT', url, {
    ...input,
    what: `replication of piece ${input.index} of object ${input.objectId} to ${url.host}`,
    headers: { 'x-gnfd-object-id': input.objectId.toString(), 'x-gnfd-redundancy-index': String(input.index) },
    // The iterable itself, not a Readable over it: undici then asks for the next piece only
    // once the socket has taken the last one, which the primary relies on to reuse its buffers.
    body: input.body,
  });
  const sig = res.headers['x-gnfd-integrity-hash-signature'];
  await res.body.dump();
  if (typeof sig !== 'string' || !/^[0-9a-f]{192}$/i.test(sig)) {
    throw new InsituError('ERR_REPLICATION_FAILED', `${url.host} returned no approval signature`);
  }
  return new Uint8Array(Buffer.from(sig, 'hex'));
}

/**
 * Whether a node's process answers at all (its chain-free health endpoint, within `stallMs`): tells
 * a node that is busy, e.g. waiting on the chain, from one that is frozen or cut off.
 */
export async function nodeAlive(endpoint: string, stallMs = STALL_MS): Promise<boolean> {
  try {
    const res = await call('GET', new URL('/healthz', endpoint), { stallMs, signal: AbortSignal.timeout(stallMs), what: 'node health' });
    await res.body.dump();
    return true;
  } catch {
    return false;
  }
}

export async function nodeStatus(endpoint: string, opts: CallOpts = {}): Promise<Record<string, unknown>> {
  const res = await call('GET', new URL('/status', endpoint), { ...opts, what: 'node status' });
  return (await res.body.json()) as Record<string, unknown>;
}

/** A bucket's read quota for a month as its primary counts it (Greenfield's GetBucketReadQuota). */
export interface ReadQuota {
  bucketName: string;
  bucketId: string;
  yearMonth: string;
  /** Bought (charged) quota, bytes per month. */
  readQuotaSize: string;
  spFreeReadQuotaSize: string;
  readConsumedSize: string;
  freeConsumedSize: string;
  totalConsumedSize: string;
  remaining: string;
  frozen: boolean;
  paymentAddress: string;
}

export async function readQuota(input: CallOpts & { endpoint: string; bucket: string; month?: string }): Promise<ReadQuota> {
  const url = new URL(`/${input.bucket}`, input.endpoint);
  url.searchParams.set('read-quota', '');
  if (input.month) url.searchParams.set('year-month', input.month);
  const res = await call('GET', url, { ...input, what: `read quota of ${input.bucket}`, headers: { accept: 'application/json' } });
  return (await res.body.json()) as ReadQuota;
}
