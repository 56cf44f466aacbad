// Job runtime speed: start latency (cold = prepare + first run, warm = module cached) and
// in-sandbox scan throughput of the wc job over 256 MiB against the same loop in plain JS.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobRuntime } from '@insitu/executor';
import type { BenchContext } from './index.ts';
import { percentile } from '../src/bench-support.ts';

export const name = 'jobs';

const MiB = 1024 * 1024;
const limits = { fuel: 1n << 50n, memoryMiB: 64, timeoutMs: 120_000, outputBytes: 1 << 20 };

/** The wc job's loop, in plain JS, over the same file read in 64 KiB chunks. */
async function plainWc(path: string): Promise<string> {
  let lines = 0;
  let words = 0;
  let bytes = 0;
  let inWord = false;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 10) lines++;
      const space = c === 32 || c === 10 || c === 9 || c === 13 || c === 11 || c === 12;
      if (space) inWord = false;
      else if (!inWord) {
        inWord = true;
        words++;
      }
    }
  }
  return `${lines} ${words} ${bytes}\n`;
}

export async function run(ctx: BenchContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-bench-jobs-'));
  const runtime = createJobRuntime({ cacheDir: join(dir, 'cache'), workers: 1 });
  await runtime.start();
  try {
    const wc = await readFile(fileURLToPath(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)));
    const small = { bytes: Buffer.from('hello world\n') };
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A fresh runtime and cache: wrap, transpile, instrument and compile from scratch.
      const fresh = createJobRuntime({ cacheDir: join(dir, `cold-${i}`), workers: 1 });
      await fresh.start();
      const t0 = performance.now();
      const prepared = await fresh.prepare(wc);
      await fresh.run({ moduleHash: prepared.hash, input: small, limits, account: 'bench' });
      cold.push(performance.now() - t0);
      await fresh.stop();
    }
    const { hash } = await runtime.prepare(wc);
    const warm: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await runtime.run({ moduleHash: hash, input: small, limits, account: 'bench' });
      warm.push(performance.now() - t0);
    }
    ctx.table('Job start latency (wc on 12 bytes, one worker)', [
      { case: 'cold (prepare + first run)', 'p50 ms': percentile(cold, 50).toFixed(1), 'p95 ms': percentile(cold, 95).toFixed(1) },
      { case: 'warm (module cached)', 'p50 ms': percentile(warm, 50).toFixed(1), 'p95 ms': percentile(warm, 95).toFixed(1) },
    ]);

    const file = join(dir, 'input.txt');
    const words = ['alpha ', 'beta\n', 'gamma ', 'delta ', 'eps\n'];
    const block = Buffer.from(Array.from({ length: 200_000 }, (_, i) => words[i % words.length]).join(''));
    const parts: Buffer[] = [];
    let size = 0;
    while (size < 256 * MiB) {
      const b = size + block.length > 256 * MiB ? block.subarray(0, 256 * MiB - size) : block;
      parts.push(b);
      size += b.length;
    }
    await writeFile(file, Buffer.concat(parts));
    // Three runs of each, interleaved, so both see the same machine; the medians are compared.
    const jsRuns: number[] = [];
    const wasmRuns: number[] = [];
    let js = '';
    let r: Awaited<ReturnType<typeof runtime.run>> | undefined;
    for (let i = 0; i < 3; i++) {
      let t0 = performance.now();
      js = await plainWc(file);
      jsRuns.push(performance.now() - t0);
      t0 = performance.now();
      r = await runtime.run({ moduleHash: hash, input: { path: file, length: size }, limits, account: 'bench' });
      wasmRuns.push(performance.now() - t0);
    }
    const jsMs = percentile(jsRuns, 50);
    const wasmMs = percentile(wasmRuns, 50);
    const same = Buffer.from(r!.output).toString() === js;
    ctx.table(`Scan of ${size / MiB} MiB (wc): in the sandbox vs the same loop in plain JS`, [
      { runner: 'plain JS (64 KiB reads), median of 3', 'MB/s': Math.round(size / MiB / (jsMs / 1000)), ratio: '1.00' },
      { runner: `insitu job (fuel metered), median of 3${same ? '' : ' — OUTPUT DIFFERS'}`, 'MB/s': Math.round(size / MiB / (wasmMs / 1000)), ratio: (jsMs / wasmMs).toFixed(2) },
    ]);
    ctx.note(`fuel used for ${size / MiB} MiB: ${r!.fuelUsed}`);
  } finally {
    await runtime.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
