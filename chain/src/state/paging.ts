// Paged listings for queries: a page size taken from the request (bounded, so no query reads more
// than one page of records however large the state grows) and the cursor a caller passes back
// as `startAfter` to get the next page.

import { fail } from './context.ts';
import type { KV } from './store.ts';
import { big, toLong } from '../gnfd.ts';

/** The page size a request asks for: `fallback` when absent, at most `max`; anything not a positive whole number is refused. */
export function pageLimit(v: unknown, fallback: number, max = 1000): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) return fail('ERR_INVALID_ARGUMENT', `limit is a whole number from 1 to ${max}, not "${String(v).slice(0, 40)}"`);
  return Math.min(n, max);
}

/** A whole-number cursor (an id) from a request, or null when absent. */
export function idCursor(v: unknown, what = 'startAfter'): bigint | null {
  if (v === undefined || v === null || v === '' || v === 0 || v === '0') return null;
  if (!/^\d{1,20}$/.test(String(v))) return fail('ERR_INVALID_ARGUMENT', `${what} is an id, a whole number, not "${String(v).slice(0, 40)}"`);
  return BigInt(String(v));
}

/**
 * One page of a prefix as a Cosmos PageRequest asks for it: from `key` (the `nextKey` of the page
 * before, inclusive) or `offset` rows in, `limit` rows (100 by default, at most 1000), forwards
 * or in reverse; `nextKey` names the first row of the next page (empty on the last), `total` is
 * counted only when asked (`countTotal`) and comes from a counter, not a walk.
 */
export async function cosmosPage<T>(kv: KV, prefix: string, pagination: unknown, count: () => Promise<number>): Promise<{ rows: T[]; pagination: { nextKey: Uint8Array; total: unknown } }> {
  const p = (pagination && typeof pagination === 'object' ? pagination : {}) as { key?: unknown; offset?: unknown; limit?: unknown; countTotal?: unknown; reverse?: unknown };
  const keyBytes = p.key instanceof Uint8Array ? p.key : typeof p.key === 'string' ? new TextEncoder().encode(p.key) : new Uint8Array();
  const key = keyBytes.length ? Buffer.from(keyBytes).toString('utf8') : '';
  const limit = Number(big(p.limit ?? 0)) || 100;
  if (limit < 1) fail('ERR_INVALID_ARGUMENT', 'pagination.limit must be positive');
  const offset = key ? 0 : Number(big(p.offset ?? 0));
  if (offset < 0 || offset > MAX_OFFSET) fail('ERR_INVALID_ARGUMENT', `pagination.offset is at most ${MAX_OFFSET}; page with pagination.key (the nextKey of the page before) instead`);
  const reverse = p.reverse === true;
  const want = Math.min(limit, 1000);
  const rows: [string, T][] = [];
  if (key) {
    const first = await kv.get<T>(prefix + key);
    if (first !== undefined) rows.push([prefix + key, first]);
  }
  rows.push(...(await kv.list<T>(prefix, { limit: offset + want + 1 - rows.length, reverse, ...(key ? { after: prefix + key } : {}) })));
  const page = rows.slice(offset, offset + want);
  const next = rows[offset + want];
  return {
    rows: page.map(([, v]) => v),
    pagination: { nextKey: next ? new TextEncoder().encode(next[0].slice(prefix.length)) : new Uint8Array(), total: toLong(p.countTotal === true ? await count() : 0) },
  };
}

const MAX_OFFSET = 10_000;
