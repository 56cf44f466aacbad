// Arithmetic in GF(2^8) with the polynomial 0x11D and the matrices klauspost/reedsolomon builds
// by default (a Vandermonde matrix made systematic), so pieces match Greenfield's byte for byte.

import { InsituError } from '../errors.ts';

export const EXP = new Uint8Array(510);
export const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]!;
}

export function mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a]! + LOG[b]!]!;
}

export function div(a: number, b: number): number {
  if (b === 0) throw new InsituError('ERR_INTERNAL', 'division by zero in GF(2^8)');
  if (a === 0) return 0;
  return EXP[(LOG[a]! - LOG[b]! + 255) % 255]!;
}

function exp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a]! * n) % 255]!;
}

/** 256×256 product table: MUL_TABLE[c * 256 + x] = c·x. */
export const MUL_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  for (let c = 0; c < 256; c++) for (let x = 0; x < 256; x++) t[c * 256 + x] = mul(c, x);
  return t;
})();

/** A matrix as an array of rows. */
export type Matrix = Uint8Array[];

export function multiply(a: Matrix, b: Matrix): Matrix {
  const cols = b[0]!.length;
  return a.map((row) => {
    const out = new Uint8Array(cols);
    for (let c = 0; c < cols; c++) {
      let v = 0;
      for (let k = 0; k < row.length; k++) v ^= mul(row[k]!, b[k]![c]!);
      out[c] = v;
    }
    return out;
  });
}

/** Gauss–Jordan inversion; throws if singular. */
export function invert(m: Matrix): Matrix {
  const n = m.length;
  const work = m.map((row, r) => {
    const w = new Uint8Array(2 * n);
    w.set(row);
    w[n + r] = 1;
    return w;
  });
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && work[pivot]![col] === 0) pivot++;
    if (pivot === n) throw new InsituError('ERR_INTERNAL', 'singular matrix');
    if (pivot !== col) [work[pivot], work[col]] = [work[col]!, work[pivot]!];
    const row = work[col]!;
    const scale = row[col]!;
    if (scale !== 1) {
      const inv = div(1, scale);
      for (let c = 0; c < 2 * n; c++) row[c] = mul(row[c]!, inv);
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const other = work[r]!;
      const f = other[col]!;
      if (f === 0) continue;
      for (let c = 0; c < 2 * n; c++) other[c]! ^= mul(f, row[c]!);
    }
  }
  return work.map((row) => row.slice(n));
}

/** klauspost/reedsolomon's default encoding matrix: rows 0..k-1 identity, then parity rows. */
export function encodingMatrix(dataShards: number, totalShards: number): Matrix {
  const vm: Matrix = [];
  for (let r = 0; r < totalShards; r++) {
    const row = new Uint8Array(dataShards);
    for (let c = 0; c < dataShards; c++) row[c] = exp(r, c);
    vm.push(row);
  }
  const topInverse = invert(vm.slice(0, dataShards));
  return multiply(vm, topInverse);
}
