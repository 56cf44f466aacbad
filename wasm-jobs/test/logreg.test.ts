// The dataset trainer (logreg): map steps over CSV parts give partial sums whose reduce is one
// gradient step, the same as the step computed in plain JS over all rows; iterated runs, each fed
// the previous model, train a classifier on seeded separable data.

import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng, testSeed } from '@insitu/test/random';
import { createJobRuntime, type JobRuntime } from '@insitu/executor';

let runtime: JobRuntime;
let dir: string;
let hash: string;
const limits = { fuel: 50_000_000_000n, memoryMiB: 64, timeoutMs: 30_000, outputBytes: 1024 * 1024 };

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-logreg-'));
  runtime = createJobRuntime({ cacheDir: dir, workers: 1 });
  await runtime.start();
  hash = (await runtime.prepare(await readFile(new URL('../build/logreg.wasm', import.meta.url)))).hash;
});
test.after.always(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(input: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await runtime.run({ moduleHash: hash, input: { bytes: Buffer.from(input) }, args, limits, account: 'test' });
  return { ok: r.state === 'succeeded', out: Buffer.from(r.output).toString('utf8'), err: r.stderrTail };
}

/** Seeded points around two centres, labelled by side: `parts` CSV texts with a header each. */
function dataset(seed: number, parts: number, rowsPerPart: number): { csv: string[]; rows: number[][] } {
  const rand = rng(seed);
  const rows: number[][] = [];
  const csv: string[] = [];
  for (let p = 0; p < parts; p++) {
    const lines = ['x1,x2,label'];
    for (let i = 0; i < rowsPerPart; i++) {
      const y = rand(2);
      const x1 = (y ? 2 : -2) + (rand(2001) - 1000) / 500;
      const x2 = (y ? 1 : -1) + (rand(2001) - 1000) / 500;
      rows.push([x1, x2, y]);
      lines.push(`${x1},${x2},${y}`);
    }
    csv.push(`${lines.join('\n')}\n`);
  }
  return { csv, rows };
}

test('partial sums over parts, reduced, give the gradient step plain JS computes over all rows; iterating trains a classifier', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const { csv, rows } = dataset(seed, 4, 200);
  let model = '0';
  let w = [0, 0, 0];
  const losses: number[] = [];
  for (let step = 0; step < 8; step++) {
    const partials: string[] = [];
    for (const part of csv) {
      const r = await run(part, [model, '0.5']);
      t.true(r.ok, r.err);
      t.regex(r.out, /^#partial 200 /);
      partials.push(r.out);
    }
    const reduced = await run(partials.join(''), [model, '0.5']);
    t.true(reduced.ok, reduced.err);
    const [line, stats] = reduced.out.split('\n');
    const got = line!.split(',').map(Number);
    // The same step in plain JS.
    const g = [0, 0, 0];
    let loss = 0;
    for (const [x1, x2, y] of rows) {
      const p = 1 / (1 + Math.exp(-(w[0]! + w[1]! * x1! + w[2]! * x2!)));
      loss -= y! * Math.log(p) + (1 - y!) * Math.log(1 - p);
      const e = p - y!;
      g[0] += e;
      g[1] += e * x1!;
      g[2] += e * x2!;
    }
    w = w.map((v, j) => v - (0.5 * g[j]!) / rows.length);
    for (let j = 0; j < 3; j++) t.true(Math.abs(got[j]! - w[j]!) < 1e-9, `weight ${j} of step ${step}: ${got[j]} vs ${w[j]}`);
    losses.push(Number(/loss=([-\d.e]+)/.exec(stats!)![1]));
    t.true(Math.abs(losses.at(-1)! - loss / rows.length) < 1e-9);
    model = line!;
    w = got;
  }
  t.true(losses.at(-1)! < losses[0]! / 2, `the loss falls: ${losses.join(' → ')}`);
  const correct = rows.filter(([x1, x2, y]) => (w[0]! + w[1]! * x1! + w[2]! * x2! > 0 ? 1 : 0) === y).length;
  t.true(correct / rows.length > 0.9, `accuracy ${correct / rows.length}`);
  // An object with only a header (or nothing) is a map with nothing to add, not an error.
  t.is((await run('', ['0', '0.5'])).ok, true, 'an empty map has nothing to add');
});

test('bad input ends with a clear error: mixed rows and partials, a model of another dimension, no arguments', async (t) => {
  const mixed = await run('1,2,1\n#partial 1 0 0 0 0\n', ['0', '0.1']);
  t.false(mixed.ok);
  t.regex(mixed.err, /mixes rows and partials/);
  const dims = await run('1,2,1\n', ['0,0', '0.1']);
  t.false(dims.ok);
  t.regex(dims.err, /features/);
  const usage = await run('1,2,1\n', []);
  t.false(usage.ok);
  t.regex(usage.err, /usage/);
});
