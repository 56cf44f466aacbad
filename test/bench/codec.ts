// Erasure codec throughput on 64 MiB: insitu's SIMD kernel and portable loop against Greenfield's
// @bnb-chain/reed-solomon and a plain Buffer.copy of the same bytes, all in one run.

import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { createErasureCodec } from '@insitu/protocol/codec';
import { computeChecksums } from '@insitu/protocol';
import type { ErasureCodec } from '@insitu/protocol/codec';
import type { BenchContext } from './index.ts';

export const name = 'codec';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const SEGMENT = 16 * MiB;

function best(runs: number, fn: () => void): number {
  let bestMs = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return bestMs;
}

const mbps = (bytes: number, ms: number): number => Math.round(bytes / MiB / (ms / 1000));

export async function run(ctx: BenchContext): Promise<void> {
  const data = randomBytes(SIZE);
  const segments = Array.from({ length: SIZE / SEGMENT }, (_, i) => data.subarray(i * SEGMENT, (i + 1) * SEGMENT));
  const results: { impl: string; encode: number; decode: number | null }[] = [];

  const copyTarget = Buffer.allocUnsafe(SIZE);
  const copyMs = best(5, () => {
    for (const s of segments) Buffer.from(s.buffer, s.byteOffset, s.length).copy(copyTarget, s.byteOffset - data.byteOffset);
  });
  results.push({ impl: 'Buffer.copy', encode: mbps(SIZE, copyMs), decode: mbps(SIZE, copyMs) });

  const measure = (codec: ErasureCodec, runs: number): void => {
    best(2, () => segments.forEach((s) => codec.encode(s))); // warm-up (JIT and wasm tier-up)
    const encodeMs = best(runs, () => segments.forEach((s) => codec.encode(s)));
    const encoded = segments.map((s) => codec.encode(s).map((p) => p.slice()));
    const decodeMs = best(runs, () => encoded.forEach((pieces, i) => codec.decode([null, pieces[1]!, null, pieces[3]!, pieces[4]!, pieces[5]!], segments[i]!.length)));
    results.push({ impl: `insitu ${codec.name}`, encode: mbps(SIZE, encodeMs), decode: mbps(SIZE, decodeMs) });
  };
  measure(createErasureCodec({ implementation: 'wasm-simd' }), 7);
  measure(createErasureCodec({ implementation: 'portable' }), 2);

  const require = createRequire(import.meta.url);
  const { ReedSolomon } = require('@bnb-chain/reed-solomon') as { ReedSolomon: new () => { encodeSegment(d: Uint8Array): Uint8Array[] } };
  const reference = new ReedSolomon();
  const refMs = best(1, () => segments.forEach((s) => reference.encodeSegment(s)));
  results.push({ impl: '@bnb-chain/reed-solomon', encode: mbps(SIZE, refMs), decode: null });

  const copy = results[0]!.encode;
  const ref = results.at(-1)!.encode;
  ctx.table(`Reed–Solomon 4+2 over ${SIZE / MiB} MiB (16 MiB segments, one core; decode = two data pieces lost)`, results.map((r) => ({
    implementation: r.impl,
    'encode MB/s': r.encode,
    'decode MB/s': r.decode ?? 'n/a',
    'encode vs copy': (r.encode / copy).toFixed(3),
    'encode vs reference': (r.encode / ref).toFixed(1),
  })));

  const t0 = performance.now();
  await computeChecksums(data);
  const checksumMs = performance.now() - t0;
  ctx.table('Greenfield checksums (encode + SHA-256 of segments and pieces)', [
    { what: 'computeChecksums', 'MB/s': mbps(SIZE, checksumMs), 'vs copy': (mbps(SIZE, checksumMs) / copy).toFixed(3) },
  ]);
}
