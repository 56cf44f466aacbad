// Parallel jobs end to end: maps on the secondaries over the data pieces they hold, lines that
// cross piece boundaries joined by the reducer, and the same results as a single run — also
// with a secondary down, whose piece is rebuilt from the others and mapped elsewhere.

import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createClient, type InsituClient } from '@insitu/sdk';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
let alice: InsituClient;
let data: Buffer;
const job = (name: string) => readFile(new URL(`../../wasm-jobs/build/${name}.wasm`, import.meta.url));
const maxFee = 10n ** 16n;

// 20 MiB of CSV rows of varied length (lines cross piece and segment boundaries at arbitrary
// points), with one 5 MiB line in the middle that spans a whole 4 MiB piece.
function dataset(): Buffer {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const rows = ['id,key,value,pad'];
  let size = 0;
  let i = 0;
  while (size < 20 * 1024 * 1024) {
    const row = i === 60_000 ? 'y'.repeat(5 * 1024 * 1024) : `${i},k${i % 7},${i % 100},${'x'.repeat(Math.floor(rand() * 200))}`;
    rows.push(row);
    size += row.length + 1;
    i++;
  }
  return Buffer.from(`${rows.join('\n')}\n`);
}

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 1 });
  alice = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
  await alice.buckets.create('big');
  data = dataset();
  await alice.objects.put('big', 'rows.csv', data);
});
test.after.always(async () => {
  await net?.stop();
});

const text = async (id: bigint) => Buffer.from(await alice.jobs.output(id)).toString();

function plainWc(b: Buffer): string {
  let lines = 0;
  let words = 0;
  let inWord = false;
  for (const c of b) {
    if (c === 10) lines++;
    const space = c === 32 || (c >= 9 && c <= 13);
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      words++;
    }
  }
  return `${lines} ${words} ${b.length}\n`;
}

function plainCsvAgg(b: Buffer): Map<string, { count: number; sum: number; min: number; max: number }> {
  const stats = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const line of b.toString().split('\n').slice(1)) {
    const cols = line.split(',');
    if (cols.length < 3) continue;
    const v = Number.parseFloat(cols[2]!);
    if (Number.isNaN(v)) continue;
    const s = stats.get(cols[1]!) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
    s.count++;
    s.sum += v;
    s.min = Math.min(s.min, v);
    s.max = Math.max(s.max, v);
    stats.set(cols[1]!, s);
  }
  return stats;
}

test.serial('wc, grep and csv-agg in parallel give exactly the single run\'s output and plain JS\'s result', async (t) => {
  const object = await alice.objects.head('big', 'rows.csv');
  const secondaries = object.placement.slice(1).map((p) => p.spId);
  for (const [name, args] of [['wc', []], ['grep', ['k3,42,']], ['csv-agg', ['1', '2']]] as const) {
    const single = await alice.jobs.submit({ module: await job(name), input: 'big/rows.csv', args: [...args], maxFee });
    const parallel = await alice.jobs.submit({ module: await job(name), input: 'big/rows.csv', args: [...args], maxFee, parallel: true });
    t.is(single.receipt.state, 'succeeded', single.receipt.stderrTail);
    t.is(parallel.receipt.state, 'succeeded', parallel.receipt.stderrTail);
    t.is(parallel.maps?.length, 4);
    t.deepEqual(parallel.maps!.map((m) => m.executor.id), secondaries.slice(0, 4), `${name}: each map ran on the secondary holding its piece`);
    t.is(parallel.receipt.outputHash, single.receipt.outputHash, `${name}: parallel and single outputs are identical`);
    const out = await text(parallel.id);
    if (name === 'wc') t.is(out, plainWc(data));
    if (name === 'grep') {
      const expected = data.toString().split('\n').filter((l) => l.includes('k3,42,'));
      t.true(expected.length > 10);
      t.is(out, `${expected.join('\n')}\n`);
    }
    if (name === 'csv-agg') {
      const stats = plainCsvAgg(data);
      const lines = out.trim().split('\n');
      t.is(lines[0], 'key,count,sum,min,max,mean');
      t.is(lines.length - 1, stats.size);
      for (const line of lines.slice(1)) {
        const [key, count, sum, min, max] = line.split(',');
        const s = stats.get(key!)!;
        t.deepEqual([Number(count), Number(sum), Number(min), Number(max)], [s.count, s.sum, s.min, s.max], key);
      }
    }
  }
});

test.serial('a map output goes to providers only; a job that cannot run in parallel says so', async (t) => {
  const run = await alice.jobs.submit({ module: await job('wc'), input: 'big/rows.csv', maxFee, parallel: true });
  const e = await t.throwsAsync(alice.jobs.output(run.maps![0]!.id));
  t.is((e as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  const sha = await alice.jobs.submit({ module: await job('sha256'), input: 'big/rows.csv', maxFee, parallel: true });
  t.is(sha.receipt.state, 'failed');
  t.is(sha.receipt.code, 'ERR_JOB_EXIT_NONZERO');
  t.regex(sha.receipt.stderrTail, /does not run in parallel/);
  t.is(sha.maps?.length, 4);
});

test.serial('with a secondary down, its piece is rebuilt from the others and mapped elsewhere, with the same result', async (t) => {
  const object = await alice.objects.head('big', 'rows.csv');
  const holder = object.placement[1 + 1]!.spId;
  const single = await alice.jobs.submit({ module: await job('csv-agg'), input: 'big/rows.csv', args: ['1', '2'], maxFee });
  await net.stopNode(holder - 1);
  try {
    const parallel = await alice.jobs.submit({ module: await job('csv-agg'), input: 'big/rows.csv', args: ['1', '2'], maxFee, parallel: true });
    t.is(parallel.receipt.state, 'succeeded', parallel.receipt.stderrTail);
    t.not(parallel.maps![1]!.executor.id, holder, 'the down secondary\'s share ran on another provider');
    t.is(parallel.receipt.outputHash, single.receipt.outputHash);
    // The rebuilt share gives the same map result (same output hash and fuel) as the holder's own piece.
    const verify = await alice.jobs.verify(parallel.maps![0]!.id);
    t.true(verify.match);
  } finally {
    await net.startNode(holder - 1);
  }
});
