// Key-value state on LevelDB with layered write caches: a tx's messages run on a cache above
// its fee/nonce cache, so a failing message is discarded while the fee is kept; a block commits
// every layer in one atomic batch.
//
// The committed state keeps a bounded cache of the records it has read (decoded) and written
// (as stored, decoded when first read), so the records every upload touches — its account, bucket,
// object, virtual group, providers — are not read from LevelDB and decoded again for each
// transaction and query. Every write to the committed state goes through commit(), which updates
// the cache with the batch it stores, so a read answers exactly what LevelDB holds: what a record
// decodes to never depends on whether it was cached (nothing stored changes, nor the app hash).

import { Level } from 'level';
import { encodeJson, decodeJson } from '@insitu/protocol/chain';

export interface KV {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): void;
  del(key: string): void;
  /**
   * Keys and values under a prefix, in key order (committed state merged with pending writes);
   * `reverse` walks it backwards. `after` is a cursor: the listing continues past that key in
   * the direction of the walk (greater keys forwards, smaller keys in reverse).
   */
  list<T>(prefix: string, opts?: ListOptions): Promise<[string, T][]>;
}

export interface ListOptions {
  limit?: number;
  after?: string;
  reverse?: boolean;
}

const TOMBSTONE = Symbol('deleted');

/**
 * A listing's bound: absent means none; anything given is a bound of at least 1, so a limit
 * that is 0, negative or not a number (which LevelDB would read as "no limit") never turns a
 * page into a walk over the whole prefix.
 */
const boundOf = (limit: number | undefined): number | undefined =>
  limit === undefined ? undefined : Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;

/** Stored values are the same JSON the chain's own queries answer with (bigints and bytes intact). */
export const encodeValue = encodeJson;
export const decodeValue = decodeJson;

/**
 * A copy of a record for its caller, which may change it. Records are plain data (what
 * decodeValue gives: objects, arrays, strings, numbers, booleans, null, bigints, bytes), which a
 * walk copies many times faster than structuredClone's serializer (about 2 µs instead of 30 for
 * an object record); anything else in a record (a Map, a class instance, a null-prototype object)
 * is copied by structuredClone, as before.
 */
export function cloneRecord<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneRecord(v[i]);
    return out as T;
  }
  if (v instanceof Uint8Array) return (v.constructor === Uint8Array || Buffer.isBuffer(v) ? new Uint8Array(v) : structuredClone(v)) as T;
  if (Object.getPrototypeOf(v) !== Object.prototype) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = cloneRecord((v as Record<string, unknown>)[k]);
    // An own "__proto__" stays a property, as structuredClone keeps it.
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return out as T;
}

/** A record as LevelDB stores it, not yet decoded. */
class Stored {
  constructor(readonly text: string) {}
}
/** A key LevelDB does not hold. */
const ABSENT = Symbol('absent');

/** Records the committed state keeps decoded by default (up to twice as many, see LevelKV). */
export const RECORD_CACHE = 8192;

/** Listings the committed state keeps, and the most rows one may have to be kept. */
const MAX_LISTINGS = 128;
const MAX_LISTING_ROWS = 100;

export type WriteBatch = { type: 'put' | 'del'; key: string; value?: string }[];

/** Rows a short listing is read with (see LevelKV.list). */
const LISTING_WINDOW = 16;

/**
 * A kept listing: the first rows of its range in its direction, as #read gives them (at most
 * `limit` when it has one); `complete` when they are all the range holds.
 */
interface Listing {
  prefix: string;
  after: string | undefined;
  reverse: boolean;
  limit: number | undefined;
  complete: boolean;
  rows: [string, unknown][];
}

/**
 * Brings a kept listing up to date with writes under its prefix (in batch order); false when it
 * cannot (a row of an incomplete listing deleted leaves it no longer known which key follows:
 * it stays known while rows remain — they are still the first ones — and dropped when none do).
 */
function updateListing(l: Listing, writes: WriteBatch): boolean {
  // The range exactly as #read walks it.
  const end = `${l.prefix}\xff`;
  const lo = l.reverse ? l.prefix : l.after && l.after > l.prefix ? l.after : l.prefix;
  const hi = l.reverse ? (l.after && l.after < end ? l.after : end) : end;
  const before = (a: string, b: string): boolean => (l.reverse ? a > b : a < b);
  for (const w of writes) {
    if (!(w.key > lo && w.key < hi)) continue;
    const rows = l.rows;
    const last = rows.length > 0 ? rows[rows.length - 1]![0] : undefined;
    // Past the last row of an incomplete listing: outside what it holds.
    if (!l.complete && (last === undefined || before(last, w.key))) continue;
    let at = 0;
    while (at < rows.length && before(rows[at]![0], w.key)) at++;
    const found = at < rows.length && rows[at]![0] === w.key;
    if (w.type === 'del') {
      if (found) rows.splice(at, 1);
      if (!l.complete && rows.length === 0) return false;
      continue;
    }
    const row: [string, unknown] = [w.key, decodeValue(w.value!)];
    if (found) rows[at] = row;
    else rows.splice(at, 0, row);
    if (l.limit !== undefined && rows.length > l.limit) {
      rows.pop();
      l.complete = false;
    }
    if (rows.length > MAX_LISTING_ROWS) return false;
  }
  return true;
}

export class LevelKV implements KV {
  /**
   * Key → decoded record, its stored text, or ABSENT, in two generations of at most cacheSize
   * each: a read found in the older one moves to the newer; when the newer is full it becomes
   * the older, and the older is dropped: the cacheSize most recently read are always kept, and
   * no entry moves on a read of the newer generation (a Map's delete and set again on every read
   * cost more than the read itself).
   */
  #young = new Map<string, unknown>();
  #old = new Map<string, unknown>();
  readonly #generationSize: number;
  constructor(readonly db: Level<string, string>, readonly cacheSize = RECORD_CACHE) {
    this.#generationSize = Math.max(1, cacheSize);
  }

  async get<T>(key: string): Promise<T | undefined> {
    let v = this.#young.get(key);
    if (v === undefined) {
      v = this.#old.get(key);
      if (v !== undefined) {
        this.#old.delete(key);
        if (v instanceof Stored) v = decodeValue<T>(v.text);
        this.#remember(key, v);
      } else {
        // Synchronous: a read LevelDB answers from its memtable or block cache costs less than
        // handing it to the thread pool and back, and no commit can come between the read and its
        // entry in the cache.
        const text = this.db.getSync(key);
        v = text === undefined ? ABSENT : decodeValue<T>(text);
        this.#remember(key, v);
      }
    } else if (v instanceof Stored) {
      v = decodeValue<T>(v.text);
      this.#young.set(key, v);
    }
    // The caller owns what it is given (records are changed and put back); the cache keeps its own.
    return v === ABSENT ? undefined : cloneRecord(v as T);
  }

  #remember(key: string, v: unknown): void {
    this.#young.set(key, v);
    if (this.#young.size >= this.#generationSize) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }

  #forget(key: string): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  /** Stores a write batch atomically; the cache holds the batch's records from then on. */
  async commit(writes: WriteBatch): Promise<void> {
    this.#committing++;
    try {
      await this.db.batch(writes as never);
    } catch (e) {
      // Whether any of it was stored is unknown: what the cache held of it is forgotten.
      for (const w of writes) this.#forget(w.key);
      this.#listings.clear();
      throw e;
    } finally {
      this.#committing--;
      this.#generation++;
    }
    for (const w of writes) {
      this.#old.delete(w.key);
      this.#remember(w.key, w.type === 'put' ? new Stored(w.value!) : ABSENT);
    }
    // A listing written under is brought up to date with the batch, or dropped where it cannot be.
    // Each prefix is searched once however many listings it has (a few prefixes, many cursors).
    const under = new Map<string, WriteBatch>();
    for (const [id, l] of this.#listings) {
      let hits = under.get(l.prefix);
      if (hits === undefined) under.set(l.prefix, (hits = writes.filter((w) => w.key.startsWith(l.prefix))));
      if (hits.length > 0 && !updateListing(l, hits)) this.#listings.delete(id);
    }
  }

  /**
   * Recent listings (the per-block walks of due items, which are mostly empty, and the pages
   * nodes ask for again and again), each kept until a commit writes a key under its prefix.
   */
  readonly #listings = new Map<string, Listing>();
  /** Commits done (a listing read across one is not kept) and under way (none is kept meanwhile). */
  #generation = 0;
  #committing = 0;

  put(): void {
    throw new Error('committed state is read-only; write through a cache');
  }
  del(): void {
    throw new Error('committed state is read-only; write through a cache');
  }
  async list<T>(prefix: string, o: ListOptions = {}): Promise<[string, T][]> {
    const opts = { ...o, limit: boundOf(o.limit) };
    const id = `${prefix}\0${opts.limit ?? ''}\0${opts.after ?? ''}\0${opts.reverse ? 1 : 0}`;
    const kept = this.#listings.get(id);
    if (kept && (kept.complete || kept.rows.length >= opts.limit!)) {
      return cloneRecord(opts.limit !== undefined && kept.rows.length > opts.limit ? kept.rows.slice(0, opts.limit) : kept.rows) as [string, T][];
    }
    const generation = this.#generation;
    // A short page (the per-block walks ask for the first due item) is read a few rows long, so
    // the items a block removes from its front leave the next ones known.
    const read = opts.limit !== undefined && opts.limit < LISTING_WINDOW ? { ...opts, limit: LISTING_WINDOW } : opts;
    const rows = await this.#read<T>(prefix, read);
    if (generation === this.#generation && this.#committing === 0 && rows.length <= MAX_LISTING_ROWS) {
      this.#listings.set(id, {
        prefix, after: opts.after, reverse: !!opts.reverse, limit: read.limit,
        complete: read.limit === undefined || rows.length < read.limit, rows: cloneRecord(rows),
      });
      if (this.#listings.size > MAX_LISTINGS) this.#listings.delete(this.#listings.keys().next().value!);
    }
    return opts.limit !== undefined && rows.length > opts.limit ? rows.slice(0, opts.limit) : rows;
  }

  async #read<T>(prefix: string, opts: { limit?: number | undefined; after?: string | undefined; reverse?: boolean | undefined }): Promise<[string, T][]> {
    const out: [string, T][] = [];
    const end = `${prefix}\xff`;
    const range = opts.reverse
      ? { gt: prefix, lt: opts.after && opts.after < end ? opts.after : end, limit: opts.limit ?? -1, reverse: true }
      : { gt: opts.after && opts.after > prefix ? opts.after : prefix, lt: end, limit: opts.limit ?? -1 };
    // One trip to LevelDB's thread for a page (an iterator walked entry by entry takes two or more).
    for (const [k, v] of await this.db.iterator(range).all()) out.push([k, decodeValue<T>(v)]);
    return out;
  }
}

export class CacheKV implements KV {
  readonly #writes = new Map<string, unknown>();
  /** Each write's stored form once batch() made it, until the key is written again. */
  readonly #encoded = new Map<string, string>();
  constructor(readonly parent: KV) {}

  async get<T>(key: string): Promise<T | undefined> {
    if (this.#writes.has(key)) {
      const v = this.#writes.get(key);
      return v === TOMBSTONE ? undefined : (cloneRecord(v) as T);
    }
    return this.parent.get<T>(key);
  }
  put(key: string, value: unknown): void {
    this.#writes.set(key, cloneRecord(value));
    this.#encoded.delete(key);
  }
  del(key: string): void {
    this.#writes.set(key, TOMBSTONE);
    this.#encoded.delete(key);
  }
  async list<T>(prefix: string, o: ListOptions = {}): Promise<[string, T][]> {
    const opts = { ...o, limit: boundOf(o.limit) };
    const past = (k: string): boolean => !!opts.after && (opts.reverse ? k >= opts.after : k <= opts.after);
    const inRange = (k: string): boolean => k.startsWith(prefix) && !past(k);
    // With a limit, the parent need only supply that many more keys than this layer deletes.
    let deleted = 0;
    if (opts.limit) for (const [k, v] of this.#writes) if (v === TOMBSTONE && inRange(k)) deleted++;
    const base = new Map(await this.parent.list<T>(prefix, { ...(opts.after ? { after: opts.after } : {}), ...(opts.limit ? { limit: opts.limit + deleted } : {}), ...(opts.reverse ? { reverse: true } : {}) }));
    for (const [k, v] of this.#writes) {
      if (!inRange(k)) continue;
      if (v === TOMBSTONE) base.delete(k);
      else base.set(k, cloneRecord(v) as T);
    }
    const dir = opts.reverse ? -1 : 1;
    const sorted = [...base.entries()].sort(([a], [b]) => (a < b ? -dir : a > b ? dir : 0));
    return opts.limit ? sorted.slice(0, opts.limit) : sorted;
  }
  /** Moves this layer's writes into its parent cache (they are this layer's own copies: moved, not copied again). */
  flushInto(parent: CacheKV): void {
    for (const [k, v] of this.#writes) {
      parent.#writes.set(k, v);
      parent.#encoded.delete(k);
    }
    this.#writes.clear();
    this.#encoded.clear();
  }
  /**
   * The writes as LevelDB stores them. A block's are asked for twice (its app hash, then its
   * commit): each value is encoded once.
   */
  batch(): WriteBatch {
    return [...this.#writes].map(([key, v]) => {
      if (v === TOMBSTONE) return { type: 'del' as const, key };
      let value = this.#encoded.get(key);
      if (value === undefined) this.#encoded.set(key, (value = encodeValue(v)));
      return { type: 'put' as const, key, value };
    });
  }
}
