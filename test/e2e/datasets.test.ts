// Jobs over datasets end to end: a logistic-regression step over 50 CSV objects — one map job per
// object on the cheapest provider holding it, the provider stopped half-way, its maps retried on
// other holders (and those whose outputs it took down with it run again), then one reduce over
// every map's output — gives the step plain JS computes over all rows, keeps every map's receipt,
// and leaves the escrows of the jobs it abandoned to come back by cancelling; money is conserved.

import test from 'ava';
import { readFile } from 'node:fs/promises';
import type { InsituClient } from '@insitu/sdk';
import { createChainClient } from '@insitu/sdk/chain/index.ts';
import { rng, testSeed } from '../src/random.ts';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
const ESCROW = '0x00000000000000000000000000000000000e5c00';

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 2 });
});
test.after.always(async () => {
  await net?.stop();
});

test('a training step over 50 objects survives the cheapest provider stopping half-way and equals the step over all rows', async (t) => {
  const [clock, owner] = [await net.client(0), await net.client(1)] as [InsituClient, InsituClient];
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  await owner.buckets.create('train');
  const all: number[][] = [];
  const files: [string, string][] = [];
  for (let f = 0; f < 50; f++) {
    const lines = ['x1,x2,label'];
    for (let i = 0; i < 8; i++) {
      const y = rand(2);
      const x1 = (y ? 1 : -1) + (rand(201) - 100) / 50;
      const x2 = (rand(201) - 100) / 50;
      all.push([x1, x2, y]);
      lines.push(`${x1},${x2},${y}`);
    }
    files.push([`part-${String(f).padStart(2, '0')}.csv`, `${lines.join('\n')}\n`]);
  }
  for (let i = 0; i < files.length; i += 5) await Promise.all(files.slice(i, i + 5).map(([name, text]) => owner.objects.put('train', `points/${name}`, Buffer.from(text))));
  const total = (await clock.chain.holdings()).total;

  // One secondary of the data's group is the cheapest: the chain sends every map there.
  const head = await owner.objects.head('train', 'points/part-00.csv');
  const cheapest = head.placement[2]!.spId;
  const operators = await Promise.all(net.plan.nodes.map((n) => createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: n.operatorKey })));
  const idx = (await Promise.all(operators.map(async (c) => (await c.getStorageProvider(c.address)).id))).indexOf(cheapest);
  await operators[idx]!.setComputePrice(10n);

  const logreg = await readFile(new URL('../../wasm-jobs/build/logreg.wasm', import.meta.url));
  let stopped = false;
  let onCheapest = 0;
  const run = await owner.jobs.dataset({
    module: logreg, reduce: logreg, input: 'train/points/', args: ['0', '0.5'], maxFee: 51n * 10n ** 14n, cheapest: true, concurrency: 4,
    onMap: async (m, ended) => {
      if (!stopped && m.executor.id === cheapest) onCheapest++;
      if (ended === 25 && !stopped) {
        stopped = true;
        await net.stopNode(idx);
      }
    },
  });
  t.true(stopped, 'the provider was stopped half-way');
  t.true(run.succeeded, run.reduce?.receipt.stderrTail ?? 'a map failed');
  t.is(run.maps.length, 50, 'one map per object');
  t.deepEqual(run.maps.map((m) => m.object), files.map(([name]) => `points/${name}`));
  t.true(run.maps.every((m) => m.receipt.state === 'succeeded' && m.signature.length > 0), 'every map\'s receipt is kept');
  t.true(onCheapest > 0, 'maps ran on the cheapest before it stopped');
  t.true(run.maps.every((m) => m.executor.id !== cheapest), 'none of its outputs is needed now: they were run again elsewhere');
  t.true(run.maps.some((m) => m.attempts.length > 1), 'maps were retried or run again elsewhere');
  t.not(run.reduce!.executor.id, cheapest);
  const reduce = await owner.jobs.get(run.reduce!.id);
  t.is(reduce.mode, 'gather');
  t.deepEqual(reduce.mapJobs, run.maps.map((m) => m.id));

  // The same step in plain JS from the zero model.
  const g: [number, number, number] = [0, 0, 0];
  for (const [x1, x2, y] of all) {
    const e = 0.5 - y!;
    g[0] += e;
    g[1] += e * x1!;
    g[2] += e * x2!;
  }
  const [line, stats] = Buffer.from(run.output).toString().split('\n');
  const w = line!.split(',').map(Number);
  for (let j = 0; j < 3; j++) t.true(Math.abs(w[j]! - (-0.5 * g[j]!) / all.length) < 1e-9, `weight ${j}: ${w[j]} vs ${(-0.5 * g[j]!) / all.length}`);
  t.regex(stats!, /^# rows=400 loss=0\.69314718/);

  // The jobs left on the stopped provider come back by cancelling once their deadline passed.
  await clock.chain.advanceTime(3700);
  const left = [];
  for (const id of run.abandoned) {
    const j = await owner.jobs.get(id);
    if (j.status === 'submitted' || j.status === 'running') left.push(id);
  }
  for (const id of left) await owner.jobs.cancel(id);
  await clock.chain.transfer(clock.address, 1n);
  t.is(await balance(clock, ESCROW), 0n, 'every escrow paid out or returned');
  t.is((await clock.chain.holdings()).total, total, 'money conserved');
  await net.startNode(idx);
});

const balance = async (c: InsituClient, a: string): Promise<bigint> => (await c.chain.getAccount(a as `0x${string}`).catch(() => ({ balance: 0n }))).balance;
