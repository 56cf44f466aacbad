// What a person reads: sizes in KiB/MiB/GiB, amounts in BNB (base units on request), dates in
// ISO form, lists as aligned tables. `--json` output never goes through here: it keeps raw values.

import { InsituError } from '@insitu/protocol';

export function formatBytes(n: bigint | number): string {
  const v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(1)} ${units[i]}`;
}

const WEI = 10n ** 18n;

/** An amount of base units as BNB ("1.5 BNB"), or as base units ("1500000000000000000 wei") when asked. */
export function formatBnb(v: bigint, opts: { baseUnits?: boolean } = {}): string {
  if (opts.baseUnits) return `${v} wei`;
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % WEI).toString().padStart(18, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / WEI}${frac ? `.${frac}` : ''} BNB`;
}

/**
 * An amount with its unit: "1.5BNB", "1.5 BNB", "2000000000gwei", "1000wei". A bare number is
 * refused: whether "100" means BNB or base units is a 10^18 difference.
 */
export function parseBnb(text: string, what: string): bigint {
  const t = text.trim();
  const m = /^(\d+)(?:\.(\d+))?\s*(bnb|gwei|wei)$/i.exec(t);
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} needs a unit: 1.5BNB, or base units such as 1000wei or 2gwei, not "${text}"`);
  const unit = m[3]!.toLowerCase();
  const decimals = unit === 'bnb' ? 18 : unit === 'gwei' ? 9 : 0;
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} "${text}" is finer than one base unit (at most ${decimals} decimals in ${m[3]})`);
  const amount = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  if (amount === 0n) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be more than nothing`);
  return amount;
}

/** A chain time (milliseconds) as an ISO date-time; "-" for none. */
export const formatDate = (ms: number | bigint | undefined | null): string =>
  ms === undefined || ms === null || Number(ms) <= 0 ? '-' : new Date(Number(ms)).toISOString().replace(/\.000Z$/, 'Z');

/** Rows under headers, each column as wide as its widest cell; numbers could be right-aligned by the caller. */
export function table(headers: string[], rows: (string | number | bigint)[][], opts: { right?: number[] } = {}): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const right = new Set(opts.right ?? []);
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 && !right.has(i) ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** Seconds as "1h 02m", "3m 10s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
