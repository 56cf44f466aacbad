// Reed–Solomon erasure codec (systematic, klauspost/reedsolomon's default matrix) on top of a
// multiply-accumulate engine: the WASM SIMD kernel, or the portable loop where SIMD is missing.

import { InsituError } from '../errors.ts';
import { encodingMatrix, invert, multiply, type Matrix } from './gf256.ts';
import { createPortableEngine, SimdEngine, simdSupported, type MulEngine } from './kernel.ts';
import type { ErasureCodec } from './types.ts';

export interface ErasureCodecOptions {
  dataShards?: number;
  parityShards?: number;
  implementation?: 'auto' | 'wasm-simd' | 'portable';
}

export function createErasureCodec(options: ErasureCodecOptions = {}): ErasureCodec {
  const k = options.dataShards ?? 4;
  const m = options.parityShards ?? 2;
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 1 || k + m > 256) {
    throw new TypeError(`invalid geometry ${k}+${m}: need k ≥ 1, m ≥ 1, k + m ≤ 256`);
  }
  const impl = options.implementation ?? 'auto';
  let engine: MulEngine;
  if (impl === 'portable' || (impl === 'auto' && !simdSupported())) engine = createPortableEngine();
  else {
    if (!simdSupported()) throw new InsituError('ERR_CONFIG', 'this WebAssembly engine has no SIMD support');
    engine = new SimdEngine();
  }
  return new ReedSolomon(k, m, engine);
}

class ReedSolomon implements ErasureCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly name: string;
  readonly #engine: MulEngine;
  readonly #matrix: Matrix;
  readonly #parityRows: Matrix;
  readonly #plans = new Map<string, Matrix>();

  constructor(k: number, m: number, engine: MulEngine) {
    this.dataShards = k;
    this.parityShards = m;
    this.#engine = engine;
    this.name = engine.name;
    this.#matrix = encodingMatrix(k, k + m);
    this.#parityRows = this.#matrix.slice(k);
  }

  encode(segment: Uint8Array, into?: Uint8Array): Uint8Array[] {
    const k = this.dataShards;
    const m = this.parityShards;
    const shard = Math.ceil(segment.length / k);
    // Full data pieces are views of the segment (no copy); a piece that runs past the end is
    // copied and zero-padded; parity pieces share one buffer, the caller's when given.
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < k; i++) {
      const start = i * shard;
      if (start + shard <= segment.length) pieces.push(segment.subarray(start, start + shard));
      else {
        const padded = new Uint8Array(shard);
        if (start < segment.length) padded.set(segment.subarray(start));
        pieces.push(padded);
      }
    }
    if (into && into.length < m * shard) throw new TypeError(`parity buffer of ${into.length} bytes, ${m * shard} needed`);
    const parity = into ?? new Uint8Array(m * shard);
    for (let p = 0; p < m; p++) pieces.push(parity.subarray(p * shard, (p + 1) * shard));
    if (shard === 0) return pieces;
    this.#engine.mulRows(this.#parityRows, pieces.slice(0, k), pieces.slice(k), shard);
    return pieces;
  }

  reconstruct(pieces: (Uint8Array | null)[]): Uint8Array[] {
    const missing = this.#check(pieces);
    return this.#rebuild(pieces, missing);
  }

  decode(pieces: (Uint8Array | null)[], segmentSize: number): Uint8Array {
    const k = this.dataShards;
    const missing = this.#check(pieces).filter((i) => i < k);
    const shardLen = pieces.find((p) => p !== null)!.length;
    if (!Number.isInteger(segmentSize) || segmentSize < 0 || segmentSize > shardLen * k) {
      throw new InsituError('ERR_INVALID_ARGUMENT', `segment size ${segmentSize} does not fit ${k} pieces of ${shardLen} bytes`);
    }
    const full = missing.length === 0 ? pieces as Uint8Array[] : this.#rebuild(pieces, missing);
    const out = new Uint8Array(segmentSize);
    for (let i = 0, at = 0; i < k && at < segmentSize; i++, at += shardLen) {
      out.set(full[i]!.subarray(0, Math.min(shardLen, segmentSize - at)), at);
    }
    return out;
  }

  /** Validates the piece list; returns the indices that are missing. */
  #check(pieces: (Uint8Array | null)[]): number[] {
    const n = this.dataShards + this.parityShards;
    if (pieces.length !== n) {
      throw new InsituError('ERR_INVALID_ARGUMENT', `expected ${n} piece slots, got ${pieces.length}`);
    }
    let len = -1;
    const missing: number[] = [];
    pieces.forEach((p, i) => {
      if (p === null || p === undefined) {
        missing.push(i);
        return;
      }
      if (len === -1) len = p.length;
      else if (p.length !== len) {
        throw new InsituError('ERR_INVALID_ARGUMENT', `piece ${i} is ${p.length} bytes, others are ${len}`);
      }
    });
    if (n - missing.length < this.dataShards) {
      throw new InsituError('ERR_NOT_ENOUGH_PIECES',
        `${n - missing.length} of ${n} pieces present; ${this.dataShards} are needed to rebuild`);
    }
    return missing;
  }

  #rebuild(pieces: (Uint8Array | null)[], missing: number[]): Uint8Array[] {
    const k = this.dataShards;
    if (missing.length === 0) return pieces as Uint8Array[];
    const present: number[] = [];
    for (let i = 0; i < pieces.length && present.length < k; i++) if (pieces[i]) present.push(i);
    const key = `${present.join(',')}/${missing.join(',')}`;
    let rows = this.#plans.get(key);
    if (!rows) {
      const decodeMatrix = invert(present.map((i) => this.#matrix[i]!));
      // A missing data piece d is row d of the inverse; a missing parity piece p is its
      // encoding row times the inverse, so everything is rebuilt from the same k inputs.
      rows = missing.map((i) => (i < k ? decodeMatrix[i]! : multiply([this.#matrix[i]!], decodeMatrix)[0]!));
      this.#plans.set(key, rows);
    }
    const len = pieces[present[0]!]!.length;
    const outputs = missing.map(() => new Uint8Array(len));
    this.#engine.mulRows(rows, present.map((i) => pieces[i]!), outputs, len);
    const result = pieces.slice() as Uint8Array[];
    missing.forEach((i, j) => {
      result[i] = outputs[j]!;
    });
    return result;
  }
}
