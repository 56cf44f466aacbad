// Jobs over datasets end to end: a logistic-regression step over 50 CSV objects — one dataset run
// on chain with one escrow, one map job per object on the cheapest provider holding it, the
// provider stopped half-way, its maps retried on other holders (and those whose outputs it took
// down with it run again), then one reduce over every map's output — gives the step plain JS
// computes over all rows, keeps every map's receipt under the run, ends the run with the reduce
// and refunds what it did not use, and leaves the escrows of the jobs it abandoned to come back by
// cancelling; money is conserved. A run's reduce settled with a made-up receipt is disputed: the
// verifiers re-run it over the maps' outputs, overturn it, slash its provider and refund the fee.
// A run whose objects' primary is down retries every map elsewhere and tops its escrow up.

import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { signDigest, toHex, receiptDigest, type JobReceipt } from '@insitu/protocol';
import type { InsituClient } from '@insitu/sdk';
import { createChainClient } from '@insitu/sdk/chain';
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

test.serial('a training step over 50 objects survives the cheapest provider stopping half-way and equals the step over all rows', async (t) => {
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
  // One escrow for the whole run: every map attempt and the reduce drew from it, and the reduce's
  // settlement ended it with what was left refunded.
  const { run: onChain, jobs } = await owner.chain.getRun(run.runId);
  t.like(onChain, { status: 'done', resultJob: run.reduce!.id, outputHash: run.reduce!.receipt.outputHash, exitState: 'succeeded', available: 0n });
  t.is(onChain.objects.length, 50);
  t.true(onChain.escrowed >= onChain.mapFee * BigInt(50 + onChain.spareMaps) + onChain.reduceFee, 'the maps, the spares and the reduce escrowed at once (topped up only past the spares)');
  t.true(onChain.refunded > 0n, 'what the run did not use came back');
  t.true(jobs.every((j) => j.runId === run.runId), 'every job of the run drew from its escrow');
  const ids = new Set(jobs.map((j) => j.id));
  t.true(run.maps.every((m) => m.attempts.every((id) => ids.has(id))) && ids.has(run.reduce!.id), 'every map attempt and the reduce are recorded under the run');
  t.true(jobs.filter((j) => j.mode === '' && j.status === 'settled').every((j) => j.receipt !== '' && j.receiptSignature !== ''), 'with their receipts');
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

test.serial('a dataset run\'s reduce settled with a made-up receipt is disputed: the verifiers re-run it over the maps\' outputs, overturn it, slash its provider and refund the submitter', async (t) => {
  const [clock, owner] = [await net.client(0), await net.client(1)] as [InsituClient, InsituClient];
  await owner.buckets.create('counts');
  for (let i = 0; i < 3; i++) await owner.objects.put('counts', `part-${i}.csv`, Buffer.from(`a,b\n${'1,2\n'.repeat(10 + i)}`));
  const wc = new Uint8Array(await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)));
  // The honest result, from a run through the SDK.
  const honest = await owner.jobs.dataset({ module: wc, reduce: wc, input: 'counts', maxFee: 10n ** 15n });
  t.true(honest.succeeded);
  const total = (await clock.chain.holdings()).total;

  // A second run: its maps run honestly, its reduce's executor settles a made-up result.
  const moduleHash = createHash('sha256').update(wc).digest('hex');
  const module = { moduleBucket: 'counts', moduleObject: `.insitu/modules/${moduleHash}.wasm`, moduleHash, fuelLimit: 10_000_000_000n };
  const mapFee = 10n ** 14n;
  const { runId } = await owner.chain.openRun({ bucket: 'counts', prefix: '', moduleHash, reduceModuleHash: moduleHash, mapFee, reduceFee: mapFee });
  const maps: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const { jobId } = await owner.chain.submitJob({ ...module, bucket: 'counts', object: `part-${i}.csv`, maxFee: mapFee, runId });
    t.is((await owner.jobs.start(jobId)).receipt.state, 'succeeded');
    maps.push(jobId);
  }
  const { jobId } = await owner.chain.submitJob({ ...module, bucket: 'counts', object: 'part-0.csv', mode: 'gather', mapJobs: maps, maxFee: mapFee, runId });
  const job = await owner.jobs.get(jobId);
  const operatorKey = net.plan.nodes[job.executorSpId - 1]!.operatorKey;
  const liar = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: operatorKey });
  const first = JSON.parse((await owner.jobs.get(maps[0]!)).receipt) as JobReceipt;
  const lie: JobReceipt = { ...first, jobId: jobId.toString(), executorSpId: job.executorSpId, fuelUsed: '100000', outputHash: 'ee'.repeat(32), outputBytes: 12 };
  await liar.ackJob(jobId);
  await liar.settleJob({ jobId, receipt: JSON.stringify(lie), receiptSignature: toHex(signDigest(receiptDigest(lie), operatorKey)) });
  const settled = await owner.jobs.get(jobId);
  t.like((await owner.chain.getRun(runId)).run, { status: 'done', resultJob: jobId, outputHash: 'ee'.repeat(32) }, 'the made-up result ended the run');

  const depositBefore = (await owner.chain.getStorageProvider(job.executorSpId)).deposit ?? 0n;
  const before = (await owner.account()).balance;
  const decided = await owner.jobs.dispute(jobId, { wait: true, timeoutMs: 120_000 });
  const d = decided.dispute!;
  t.log(`verifiers ${d.verifiers.join(',')}: ${d.votes.map((v) => `${v.spId} ${v.agree ? 'agrees' : 'disagrees'}`).join(', ')}`);
  t.is(d.outcome, 'receipt-wrong');
  t.is(decided.status, 'overturned');
  for (const v of d.votes) t.is(v.outputHash, honest.reduce!.receipt.outputHash, `provider ${v.spId} re-ran the reduce over the maps' outputs to the honest result`);
  t.true(d.slashed > 0n);
  t.is((await owner.chain.getStorageProvider(job.executorSpId)).deposit, depositBefore - d.slashed, 'the liar\'s deposit paid');
  const gas = 120_000n * 5_000_000_000n;
  t.true((await owner.account()).balance - before + gas >= settled.fee + d.bond, 'the submitter got the reduce\'s fee and its bond back (the run had ended: straight to it)');
  t.is((await clock.chain.holdings()).total, total, 'slash, bond, refund and rewards conserve money');
});

test.serial('a run whose objects\' primary is down retries every map on another holder, tops its escrow up past the spares, and gives back what it did not use', async (t) => {
  const [clock, owner] = [await net.client(0), await net.client(1)] as [InsituClient, InsituClient];
  const wc = new Uint8Array(await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)));
  const honest = (await owner.jobs.dataset({ module: wc, reduce: wc, input: 'counts', maxFee: 10n ** 15n })).output;
  const total = (await clock.chain.holdings()).total;
  const primary = (await owner.buckets.head('counts')).primarySpId;
  await net.stopNode(primary - 1);
  t.teardown(() => net.startNode(primary - 1));
  // No spares and every map in flight at once: each first attempt lands on the stopped primary and
  // holds its share, so the retries find the run short and top it up.
  const run = await owner.jobs.dataset({ module: wc, reduce: wc, input: 'counts', maxFee: 10n ** 15n, spareMaps: 0, concurrency: 3 });
  t.true(run.succeeded);
  t.deepEqual(Buffer.from(run.output), Buffer.from(honest), 'the same result from the other holders');
  t.true(run.maps.every((m) => m.executor.id !== primary && m.attempts.length === 2), 'every map ran on its second holder');
  const base = run.run.mapFee * 3n + run.run.reduceFee;
  t.true(run.run.escrowed > base, `the run was topped up (escrowed ${run.run.escrowed}, opened with ${base})`);
  t.is(run.run.status, 'done');
  t.true(run.abandoned.length >= 3);
  await net.startNode(primary - 1);
  // The maps left on the stopped primary are cancelled after the deadline: the run has ended, so their escrow goes straight back.
  await clock.chain.advanceTime(200);
  for (const id of run.abandoned) {
    const j = await owner.jobs.get(id);
    if (j.status === 'submitted' || j.status === 'running') await owner.jobs.cancel(id);
  }
  await clock.chain.advanceTime(3700);
  await clock.chain.transfer(clock.address, 1n);
  t.is(await balance(clock, ESCROW), 0n, 'every escrow paid out or returned');
  t.is((await clock.chain.holdings()).total, total, 'money conserved');
});
