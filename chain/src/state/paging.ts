// Paged listings for queries: a page size taken from the request (bounded, so no query reads more
// than one page of records however large the state grows) and the cursor a caller passes back
// as `startAfter` to get the next page.

import { fail } from './context.ts';

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
