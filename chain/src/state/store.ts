// Key-value state on LevelDB with layered write caches: a tx's messages run on a cache above
// its fee/nonce cache, so a failing message is discarded while the fee is kept; a block commits
// every layer in one atomic batch.

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

export class LevelKV implements KV {
  constructor(readonly db: Level<string, string>) {}
  async get<T>(key: string): Promise<T | undefined> {
    const v = await this.db.get(key);
    return v === undefined ? undefined : decodeValue<T>(v);
  }
  put(): void {
    throw new Error('committed state is read-only; write through a cache');
  }
  del(): void {
    throw new Error('committed state is read-only; write through a cache');
  }
  async list<T>(prefix: string, o: ListOptions = {}): Promise<[string, T][]> {
    const opts = { ...o, limit: boundOf(o.limit) };
    const out: [string, T][] = [];
    const end = `${prefix}\xff`;
    const range = opts.reverse
      ? { gt: prefix, lt: opts.after && opts.after < end ? opts.after : end, limit: opts.limit ?? -1, reverse: true }
      : { gt: opts.after && opts.after > prefix ? opts.after : prefix, lt: end, limit: opts.limit ?? -1 };
    for await (const [k, v] of this.db.iterator(range)) out.push([k, decodeValue<T>(v)]);
    return out;
  }
}

export class CacheKV implements KV {
  readonly #writes = new Map<string, unknown>();
  constructor(readonly parent: KV) {}

  async get<T>(key: string): Promise<T | undefined> {
    if (this.#writes.has(key)) {
      const v = this.#writes.get(key);
      return v === TOMBSTONE ? undefined : (structuredClone(v) as T);
    }
    return this.parent.get<T>(key);
  }
  put(key: string, value: unknown): void {
    this.#writes.set(key, structuredClone(value));
  }
  del(key: string): void {
    this.#writes.set(key, TOMBSTONE);
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
      else base.set(k, structuredClone(v) as T);
    }
    const dir = opts.reverse ? -1 : 1;
    const sorted = [...base.entries()].sort(([a], [b]) => (a < b ? -dir : a > b ? dir : 0));
    return opts.limit ? sorted.slice(0, opts.limit) : sorted;
  }
  /** Moves this layer's writes into its parent cache. */
  flushInto(parent: CacheKV): void {
    for (const [k, v] of this.#writes) {
      if (v === TOMBSTONE) parent.del(k);
      else parent.put(k, v);
    }
    this.#writes.clear();
  }
  batch(): { type: 'put' | 'del'; key: string; value?: string }[] {
    return [...this.#writes].map(([key, v]) => (v === TOMBSTONE ? { type: 'del' as const, key } : { type: 'put' as const, key, value: encodeValue(v) }));
  }
}
