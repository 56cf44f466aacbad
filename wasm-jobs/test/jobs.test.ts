// Every example job, run through the executor, checked against the same computation in plain JS.

import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { seeded } from '@insitu/test/random';
import { createJobRuntime, type JobRuntime } from '@insitu/executor';

let runtime: JobRuntime;
let dir: string;
const limits = { fuel: 50_000_000_000n, memoryMiB: 256, timeoutMs: 30_000, outputBytes: 16 * 1024 * 1024 };

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-jobs-'));
  runtime = createJobRuntime({ cacheDir: dir, workers: 2 });
  await runtime.start();
});
test.after.always(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(job: string, input: Uint8Array, args: string[] = []): Promise<string> {
  const module = await readFile(new URL(`../build/${job}.wasm`, import.meta.url));
  const { hash } = await runtime.prepare(module);
  const r = await runtime.run({ moduleHash: hash, input: { bytes: input }, args, limits, account: 'test' });
  if (r.state !== 'succeeded') throw new Error(`${job}: ${r.code} ${r.message} ${r.stderrTail}`);
  return Buffer.from(r.output).toString('utf8');
}

function text(lines: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'needle', 'omega', 'x'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(Array.from({ length: (i * 7) % 13 }, (_, j) => words[(i + j) % words.length]).join(j(i)));
  return Buffer.from(`${out.join('\n')}\n`);
  function j(i: number): string {
    return i % 3 === 0 ? '  ' : ' ';
  }
}

test('wc counts lines, words and bytes like a plain loop', async (t) => {
  const input = text(40_000);
  const s = input.toString();
  const words = s.split(/\s+/).filter(Boolean).length;
  const lines = s.split('\n').length - 1;
  t.is(await run('wc', input), `${lines} ${words} ${input.length}\n`);
});

test('grep prints exactly the matching lines, across chunk boundaries', async (t) => {
  const input = text(30_000);
  const expected = input.toString().split('\n').slice(0, -1).filter((l) => l.includes('needle omega')).map((l) => `${l}\n`).join('');
  t.is(await run('grep', input, ['needle omega']), expected);
});

test('sha256 matches node:crypto for several sizes', async (t) => {
  const { bytes } = seeded((l) => t.log(l));
  for (const size of [0, 1, 55, 56, 64, 65_536, 200_001]) {
    const input = bytes(size);
    t.is(await run('sha256', input), `${createHash('sha256').update(input).digest('hex')}\n`, `size ${size}`);
  }
});

test('csv-agg aggregates a column by key like plain JS', async (t) => {
  const rows = ['id,sensor,reading'];
  const stats = new Map<string, { n: number; sum: number; min: number; max: number }>();
  for (let i = 0; i < 20_000; i++) {
    const key = `s${i % 7}`;
    const v = Math.round(Math.sin(i) * 1000) / 10;
    rows.push(`${i},${key},${v}`);
    const s = stats.get(key) ?? { n: 0, sum: 0, min: Infinity, max: -Infinity };
    s.n++;
    s.sum += v;
    s.min = Math.min(s.min, v);
    s.max = Math.max(s.max, v);
    stats.set(key, s);
  }
  const out = (await run('csv-agg', Buffer.from(`${rows.join('\n')}\n`), ['1', '2'])).trim().split('\n');
  t.is(out[0], 'key,count,sum,min,max,mean');
  const keys = [...stats.keys()].sort();
  t.is(out.length, keys.length + 1);
  keys.forEach((k, i) => {
    const [key, count, sum, min, max, mean] = out[i + 1]!.split(',');
    const s = stats.get(k)!;
    t.is(key, k);
    t.is(Number(count), s.n);
    t.true(Math.abs(Number(sum) - s.sum) < 1e-6);
    t.is(Number(min), s.min);
    t.is(Number(max), s.max);
    t.true(Math.abs(Number(mean) - s.sum / s.n) < 1e-9);
  });
});

test('kmeans finds the same centroids as the same algorithm in plain JS', async (t) => {
  const rows = ['x,y'];
  const pts: [number, number][] = [];
  for (let i = 0; i < 3000; i++) {
    const c = i % 3;
    const x = c * 10 + Math.sin(i * 1.7) * 2;
    const y = c * -5 + Math.cos(i * 0.9) * 2;
    pts.push([x, y]);
    rows.push(`${x},${y}`);
  }
  const k = 3;
  const cent = pts.slice(0, k).map((p) => [...p]);
  const sizes = new Array<number>(k).fill(0);
  for (let it = 0; it < 10; it++) {
    const sums = cent.map(() => [0, 0]);
    sizes.fill(0);
    for (const p of pts) {
      let best = 0;
      let bd = Infinity;
      cent.forEach((c, ci) => {
        const d = (p[0] - c[0]!) ** 2 + (p[1] - c[1]!) ** 2;
        if (d < bd) {
          bd = d;
          best = ci;
        }
      });
      sizes[best]!++;
      sums[best]![0]! += p[0];
      sums[best]![1]! += p[1];
    }
    cent.forEach((c, ci) => {
      if (sizes[ci]) {
        c[0] = sums[ci]![0]! / sizes[ci]!;
        c[1] = sums[ci]![1]! / sizes[ci]!;
      }
    });
  }
  const out = (await run('kmeans', Buffer.from(`${rows.join('\n')}\n`), ['3', '10', '0', '1'])).trim().split('\n');
  t.is(out[0], 'cluster,size,c0,c1');
  for (let c = 0; c < k; c++) {
    const [, size, x, y] = out[c + 1]!.split(',').map(Number);
    t.is(size, sizes[c]);
    t.true(Math.abs(x! - cent[c]![0]!) < 1e-9);
    t.true(Math.abs(y! - cent[c]![1]!) < 1e-9);
  }
});
