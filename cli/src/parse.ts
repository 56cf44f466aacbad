// Reading what people type: sizes, amounts, durations, <bucket>/<name> targets, byte ranges,
// addresses and whole numbers. Bad input is ERR_INVALID_ARGUMENT (ERR_INVALID_RANGE for ranges)
// with what was expected.

import { InsituError, isAddress, type Hex } from '@insitu/protocol';

const UNITS: Record<string, bigint> = { '': 1n, b: 1n, k: 1000n, kb: 1000n, kib: 1024n, m: 1000n ** 2n, mb: 1000n ** 2n, mib: 1024n ** 2n, g: 1000n ** 3n, gb: 1000n ** 3n, gib: 1024n ** 3n, t: 1000n ** 4n, tb: 1000n ** 4n, tib: 1024n ** 4n };

/** "3GiB", "500MB", "1048576" → bytes. */
export function parseSize(text: string, what: string): bigint {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a size such as 1048576, 500MB or 3GiB, not "${text}"`);
  return BigInt(m[1]!) * unit;
}

/** "1.5" BNB or "123wei" (base units) → base units. */
export function parseAmount(text: string, what: string): bigint {
  const t = text.trim();
  const wei = /^(\d+)wei$/i.exec(t);
  if (wei) return BigInt(wei[1]!);
  const m = /^(\d+)(?:\.(\d{1,18}))?(?:\s*BNB)?$/i.exec(t);
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be an amount of BNB such as 0.5 (or base units such as 1000wei), not "${text}"`);
  return BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0') || '0');
}

/** "30d", "12h", "90m", "3600s", "3600" → seconds. */
export function parseDuration(text: string): number {
  const m = /^\+?(\d+)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `a duration looks like 3600, 90m, 12h, 30d or 2w, not "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 's') as 's'];
}

export function splitTarget(target: string, needObject: boolean): { bucket: string; object?: string } {
  const at = target.indexOf('/');
  const bucket = at === -1 ? target : target.slice(0, at);
  const object = at === -1 ? undefined : target.slice(at + 1);
  if (!bucket) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" names no bucket (use <bucket>/<name>)`);
  if (needObject && !object) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" names no object (use <bucket>/<name>)`);
  return object ? { bucket, object } : { bucket };
}

export function parseRange(text: string): { start: number; end: number } {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2])) throw new InsituError('ERR_INVALID_RANGE', `--range "${text}" must be a-b with a ≤ b (bytes, inclusive)`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

export function parseAddress(text: string, what: string): Hex {
  if (!isAddress(text)) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be an address (0x and 40 hex digits), not "${text}"`);
  return text as Hex;
}

/** A whole number (ids, prices in base units, byte counts). */
export function parseWhole(v: string, what: string): bigint {
  if (!/^\d{1,40}$/.test(v)) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a whole number, not "${v}"`);
  return BigInt(v);
}

/** A repeatable option's values, in order. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];
