// The compute market end to end on a real testnet: a buyer with only a data offer (no get) runs
// the modules the offer allows and gets nothing past its output cap, is refused other modules, and
// the owner is paid the offer's price when the dispute window closes; the chain picks the
// cheapest holder of the input, a secondary that reads the object verified; a pipeline of two
// jobs whose second reads the first's stored output, recorded as made by the first — and offered
// on in turn. Money is conserved throughout.

import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { InsituClient } from '@insitu/sdk';
import { createChainClient, type ChainClient } from '@insitu/sdk/chain';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
let clock: InsituClient;
let owner: InsituClient;
let buyer: InsituClient;
let carol: InsituClient;
let operators: ChainClient[];
const wasm = (name: string) => readFile(new URL(`../../wasm-jobs/build/${name}.wasm`, import.meta.url));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ESCROW = '0x00000000000000000000000000000000000e5c00';
const rows = ['id,sensor,reading'];
for (let i = 0; i < 300; i++) rows.push(`${i},s${i % 4},${i % 10}`);
const csv = `${rows.join('\n')}\n`;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 4 });
  [clock, owner, buyer, carol] = await Promise.all([0, 1, 2, 3].map((i) => net.client(i))) as [InsituClient, InsituClient, InsituClient, InsituClient];
  operators = await Promise.all(net.plan.nodes.map((n) => createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: n.operatorKey })));
  await owner.buckets.create('sales');
  await owner.objects.put('sales', 'q1/readings.csv', Buffer.from(csv));
  await owner.objects.put('sales', 'secret/keys.csv', Buffer.from('k,1\n'));
  await buyer.buckets.create('lab');
});
test.after.always(async () => {
  await net?.stop();
});

const balance = async (a: string): Promise<bigint> => (await clock.chain.getAccount(a as `0x${string}`).catch(() => ({ balance: 0n }))).balance;

test.serial('a buyer with only an offer runs an allowed module, gets nothing past the cap, is refused other modules and reads, and the owner is paid at the window\'s end', async (t) => {
  const total = (await clock.chain.holdings()).total;
  const [wc, agg, grep] = await Promise.all([wasm('wc'), wasm('csv-agg'), wasm('grep')]);
  const { offerId } = await owner.offers.create('sales/q1/', { buyers: [buyer.address], modules: [sha(wc), sha(agg)], pricePerJob: 10n ** 12n, maxOutputBytes: 32n });
  t.true((await buyer.offers.list({ all: true })).some((o) => o.id === offerId), 'buyers browse what is on offer');
  const nowhere = await t.throwsAsync(buyer.jobs.submit({ module: wc, input: 'sales/q1/readings.csv', maxFee: 10n ** 15n, offerId }));
  t.is((nowhere as { code?: string }).code, 'ERR_INVALID_ARGUMENT', 'a buyer names a bucket of its own for the module');
  const run = await buyer.jobs.submit({ module: wc, input: 'sales/q1/readings.csv', maxFee: 10n ** 15n, offerId, moduleBucket: 'lab' });
  t.is(run.receipt.state, 'succeeded', run.receipt.stderrTail);
  t.is(Buffer.from(await buyer.jobs.output(run.id)).toString(), `301 301 ${csv.length}\n`);
  const job = await buyer.jobs.get(run.id);
  t.is(job.dataFee, 10n ** 12n);
  t.is(job.outputCap, 32n);
  // csv-agg's summary is longer than the offer lets out: the node stops it and nothing leaves.
  const big = await buyer.jobs.submit({ module: agg, input: 'sales/q1/readings.csv', args: ['1', '2'], maxFee: 10n ** 15n, offerId, moduleBucket: 'lab', limits: { outputBytes: 1 << 20 } });
  t.is(big.receipt.state, 'failed');
  t.is(big.receipt.code, 'ERR_JOB_OUTPUT_LIMIT');
  t.is(big.receipt.outputBytes, 0);
  t.is((await buyer.jobs.output(big.id)).length, 0, 'not a byte of it left the node');
  const refused = await t.throwsAsync(buyer.jobs.submit({ module: grep, input: 'sales/q1/readings.csv', args: ['s1'], maxFee: 10n ** 15n, offerId, moduleBucket: 'lab' }));
  t.is((refused as { code?: string }).code, 'ERR_PERMISSION_DENIED', 'a module outside the offer');
  const outside = await t.throwsAsync(buyer.jobs.submit({ module: wc, input: 'sales/secret/keys.csv', maxFee: 10n ** 15n, offerId, moduleBucket: 'lab' }));
  t.is((outside as { code?: string }).code, 'ERR_PERMISSION_DENIED', 'data outside the offer');
  const read = await t.throwsAsync(async () => {
    for await (const _ of buyer.objects.get('sales', 'q1/readings.csv')) void _;
  });
  t.is((read as { code?: string }).code, 'ERR_PERMISSION_DENIED', 'an offer is no read permission');
  const ownerBefore = await balance(owner.address);
  await clock.chain.advanceTime(3700);
  await clock.chain.transfer(clock.address, 1n);
  t.is(await balance(owner.address) - ownerBefore, 2n * 10n ** 12n, 'the owner was paid the offer price for both jobs that read the data');
  t.is(await balance(ESCROW), 0n);
  t.is((await clock.chain.holdings()).total, total, 'money conserved');
});

test.serial('the chain picks the cheapest holder of the input; that secondary reads the object verified from the network, runs the job and is paid its recorded price', async (t) => {
  const head = await owner.objects.head('sales', 'q1/readings.csv');
  const secondary = head.placement[3]!.spId;
  const idx = (await Promise.all(operators.map(async (c) => (await c.getStorageProvider(c.address)).id))).indexOf(secondary);
  await operators[idx]!.setComputePrice(100n);
  const stats = await owner.chain.computeStats();
  t.is(stats.find((s) => s.spId === secondary)!.computePrice, '100');
  const run = await owner.jobs.submit({ module: await wasm('wc'), input: 'sales/q1/readings.csv', maxFee: 10n ** 15n, cheapest: true });
  t.is(run.executor.id, secondary, 'the cheapest holder won');
  t.is(Buffer.from(await owner.jobs.output(run.id)).toString(), `301 301 ${csv.length}\n`, 'the same result as the primary gives');
  const job = await owner.jobs.get(run.id);
  t.is(job.computePrice, 100n);
  t.is(job.fee, job.fuelUsed * 100n);
  const capped = await t.throwsAsync(owner.jobs.submit({ module: await wasm('wc'), input: 'sales/q1/readings.csv', maxFee: 10n ** 15n, maxComputePrice: 1n }));
  t.is((capped as { code?: string }).code, 'ERR_PROVIDER_NOT_FOUND', 'nobody holding it is that cheap');
  await operators[idx]!.setComputePrice(1000n);
});

test.serial('a pipeline: the first job\'s output is stored and recorded as its own, the second job reads it, and the result is offered on', async (t) => {
  const [grep, wc] = await Promise.all([wasm('grep'), wasm('wc')]);
  const { offerId } = await owner.offers.create('sales/q1/readings.csv', { modules: [sha(grep)], maxOutputBytes: 64n * 1024n });
  const first = await buyer.jobs.submit({ module: grep, input: 'sales/q1/readings.csv', args: [',s1,'], maxFee: 10n ** 15n, offerId, output: 'lab/s1.csv' });
  t.is(first.receipt.state, 'succeeded', first.receipt.stderrTail);
  t.is(first.stored?.objectName, 's1.csv');
  const expected = rows.filter((r) => r.includes(',s1,'));
  const prov = (await carol.jobs.provenance('lab', 's1.csv'))!;
  t.is(prov.jobId, first.id);
  t.true(prov.checked, 'the chain matched the stored object to the receipt');
  t.is(prov.moduleHash, sha(grep));
  const input = await owner.objects.head('sales', 'q1/readings.csv');
  t.is(prov.input.checksums[0], Buffer.from(input.checksums[0]!).toString('hex'));
  const second = await buyer.jobs.submit({ module: wc, input: 'lab/s1.csv', maxFee: 10n ** 15n });
  t.is(Buffer.from(await buyer.jobs.output(second.id)).toString().split(' ')[0], String(expected.length), 'the second job read the first one\'s output');
  // The result is data like any other: its owner offers it on.
  const { offerId: resale } = await buyer.offers.create('lab/s1.csv', { buyers: [carol.address], modules: [sha(wc)], pricePerJob: 5n, maxOutputBytes: 100n });
  await carol.buckets.create('carol-code');
  const third = await carol.jobs.submit({ module: wc, input: 'lab/s1.csv', maxFee: 10n ** 15n, offerId: resale, moduleBucket: 'carol-code' });
  t.is(third.receipt.state, 'succeeded');
  t.is((await carol.jobs.get(third.id)).dataOwner, buyer.address);
});

test.serial('a job whose chosen provider is down is reassigned after the short deadline to another holder, which runs it', async (t) => {
  const hash = sha(await wasm('wc'));
  const head = await owner.objects.head('sales', 'q1/readings.csv');
  const down = head.placement[5]!.spId;
  const ids = await Promise.all(operators.map(async (c) => (await c.getStorageProvider(c.address)).id));
  await net.stopNode(ids.indexOf(down));
  try {
    const { jobId } = await owner.chain.submitJob({
      bucket: 'sales', object: 'q1/readings.csv', moduleBucket: 'sales', moduleObject: `.insitu/modules/${hash}.wasm`, moduleHash: hash,
      maxFee: 10n ** 15n, fuelLimit: 10_000_000_000n, executorSpId: down,
    });
    const early = await t.throwsAsync(owner.jobs.reassign(jobId));
    t.is((early as { code?: string }).code, 'ERR_INVALID_ARGUMENT', 'not before the deadline');
    await clock.chain.advanceTime(121);
    const moved = await owner.jobs.reassign(jobId, { maxComputePrice: 10n ** 6n });
    t.not(moved.executorSpId, down);
    const run = await owner.jobs.start(jobId);
    t.is(run.receipt.state, 'succeeded');
    t.is(Buffer.from(await owner.jobs.output(jobId)).toString(), `301 301 ${csv.length}\n`);
    const job = await owner.jobs.get(jobId);
    t.deepEqual(job.reassignedFrom, [down]);
    t.is(job.executorSpId, moved.executorSpId);
  } finally {
    await net.startNode(ids.indexOf(down));
  }
});

test.serial('a dataset reduce fetches its maps\' outputs under its role; another provider naming it, or the reduce after it settled, is refused', async (t) => {
  const { signRequest } = await import('@insitu/protocol/auth');
  const { request } = await import('undici');
  const { spDispatcher } = await import('@insitu/sdk/sp');
  const wc = await wasm('wc');
  const run = await owner.jobs.dataset({ module: wc, reduce: wc, input: 'sales/q1/', maxFee: 10n ** 15n });
  t.true(run.succeeded);
  t.is(Buffer.from(run.output).toString(), `301 301 ${csv.length}\n`, 'wc\'s reduce step (INSITU_PHASE=reduce) adds up the maps\' counts');
  // One escrow for the run: its map and its reduce drew from it; the reduce's result ended it.
  t.like(run.run, { status: 'done', resultJob: run.reduce!.id, objects: ['q1/readings.csv'], available: 0n });
  t.is(run.run.escrowed, run.run.mapFee * BigInt(1 + run.run.spareMaps) + run.run.reduceFee);
  t.is((await owner.jobs.get(run.maps[0]!.id)).runId, run.runId);
  t.is((await owner.jobs.get(run.reduce!.id)).runId, run.runId);
  const map = run.maps[0]!;
  const ids = await Promise.all(operators.map(async (c) => (await c.getStorageProvider(c.address)).id));
  const fetchAs = async (spId: number, named: bigint | null) => {
    const url = new URL(`/insitu/v1/jobs/${map.id}/output`, map.executor.endpoint);
    const headers = { ...signRequest({ method: 'GET', url, privateKey: net.plan.nodes[ids.indexOf(spId)]!.operatorKey }), ...(named !== null ? { 'x-insitu-job-id': named.toString() } : {}) };
    const res = await request(url, { method: 'GET', headers, dispatcher: spDispatcher });
    await res.body.dump();
    return res.statusCode;
  };
  const other = ids.find((id) => id !== map.executor.id && id !== run.reduce!.executor.id)!;
  t.is(await fetchAs(other, null), 403, 'a provider without a role');
  t.is(await fetchAs(other, run.reduce!.id), 403, 'a provider naming a reduce it does not run');
  t.is(await fetchAs(run.reduce!.executor.id, run.reduce!.id), 403, 'the reduce is settled: its role has ended');
  t.is(await fetchAs(other, 999_999n), 403);
  // An object at least `parallelAbove` bytes is mapped over its data pieces, as a parallel job.
  const par = await owner.jobs.dataset({ module: wc, reduce: wc, input: 'sales/q1/', maxFee: 10n ** 15n, parallelAbove: 1 });
  t.true(par.succeeded);
  t.is(Buffer.from(par.output).toString(), `301 301 ${csv.length}\n`, 'the same result from the pieces');
  t.is((await owner.jobs.get(par.maps[0]!.id)).mode, 'reduce');
  t.is((await owner.chain.getRun(par.runId)).jobs.length, 4 + 1 + 1, 'the pieces\' maps, their reduce and the run\'s reduce all drew from the run');
  t.is(par.maps[0]!.maps?.length, 4, 'one map per data piece');
  const health = await request(new URL('/healthz', map.executor.endpoint), { dispatcher: spDispatcher });
  await health.body.dump();
  t.is(health.statusCode, 200, 'the node is still healthy');
});

test.serial('the market through the CLI: offer create, ls --all and rm, job run --offer and --cheapest and over a prefix, provider ls; bad values refused with their codes', async (t) => {
  const { run } = await import('@insitu/cli');
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { Writable } = await import('node:stream');
  const keys = await Promise.all([1, 2].map(async (i) => {
    const f = join(net.dir, `market-${i}.key`);
    await writeFile(f, `${net.accounts[i]!.privateKey}\n`);
    return f;
  }));
  const cli = async (who: 0 | 1, ...args: string[]) => {
    const chunks: [Buffer[], Buffer[]] = [[], []];
    const sink = (k: 0 | 1) => new Writable({ write(c, _e, cb) { chunks[k].push(Buffer.from(c)); cb(); } });
    const code = await run([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keys[who]!], { stdout: sink(0), stderr: sink(1), env: {}, cwd: net.dir });
    return { code, out: Buffer.concat(chunks[0]).toString(), err: Buffer.concat(chunks[1]).toString() };
  };
  const wcPath = new URL('../../wasm-jobs/build/wc.wasm', import.meta.url).pathname;
  const hash = sha(await wasm('wc'));
  let r = await cli(0, 'offer', 'create', 'sales/q1/', '--max-output', '100', '--price-per-job', '7', '--module', hash, '--json');
  t.is(r.code, 0, r.err);
  const offerId = String((JSON.parse(r.out) as { offerId: string }).offerId);
  r = await cli(1, 'offer', 'ls', '--all');
  t.regex(r.out, /^\s*ID\s+OVER\s+BUYERS\s+MODULES\s+PER JOB\s+PER GIB\s+MAX OUTPUT\s+EXPIRES\s+OWNER$/m, 'a table with headers');
  t.regex(r.out, new RegExp(`^\\s*${offerId}  sales/q1/\\s+anyone\\s+${hash.slice(0, 12)}\\s+0\\.000000000000000007 BNB\\s+0 BNB\\s+100 B\\s+never\\s+0x`, 'm'));
  r = await cli(1, 'job', 'run', wcPath, 'sales/q1/readings.csv', '--offer', offerId, '--module-bucket', 'lab', '--cheapest', '--quiet');
  t.is(r.code, 0, r.err);
  t.is(r.out, `301 301 ${csv.length}\n`);
  r = await cli(0, 'job', 'run', wcPath, 'sales/q1/', '--reduce', wcPath);
  t.is(r.code, 0, r.err);
  t.is(r.out, `301 301 ${csv.length}\n`, 'a job over a prefix through the CLI');
  t.regex(r.err, /^run \d+ over sales\/q1\/: 1 object\(s\), escrow \d+ \(map fee \d+ × 1 \+ 1 spare, reduce fee \d+\)$/m, 'one run with its one escrow');
  t.regex(r.err, /^map \d+ over q1\/readings\.csv on provider \d+: succeeded, fuel \d+, output [0-9a-f]{64}$/m, 'each map\'s receipt');
  t.regex(r.err, /^reduce \d+ on provider \d+: succeeded, fuel \d+, output [0-9a-f]{64}$/m);
  t.regex(r.err, /^run \d+ done: result of job \d+; \d+ of the escrow came back$/m);
  r = await cli(0, 'job', 'run', wcPath, 'sales/q1/', '--reduce', wcPath, '--spare-maps', '2', '--json');
  t.is(r.code, 0, r.err);
  const shown = JSON.parse(r.out) as { run: { id: string; status: string; escrowed: string; refunded: string; resultJob: string; jobs: string[]; spareMaps: number }; maps: { job: string; receipt: { state: string } }[]; reduce: { job: string } };
  t.like(shown.run, { status: 'done', resultJob: shown.reduce.job, spareMaps: 2 });
  for (const bad of ['lots', '5000']) {
    r = await cli(0, 'job', 'run', wcPath, 'sales/q1/', '--reduce', wcPath, '--spare-maps', bad);
    t.regex(r.err, /ERR_INVALID_ARGUMENT/, `--spare-maps ${bad}`);
  }
  t.deepEqual(shown.run.jobs, [shown.maps[0]!.job, shown.reduce.job], 'the run\'s jobs: its map and its reduce');
  t.true(BigInt(shown.run.refunded) > 0n && BigInt(shown.run.refunded) < BigInt(shown.run.escrowed));
  r = await cli(0, 'job', 'status', shown.maps[0]!.job);
  t.regex(r.out, new RegExp(`^fee .*, from dataset run ${shown.run.id}'s escrow`, 'm'), 'a map of a run says whose escrow paid it');
  r = await cli(1, 'provider', 'ls', '--json');
  const sps = JSON.parse(r.out) as { id: number; computePrice: string; load: number; done: number }[];
  t.is(sps.length, 7);
  t.true(sps.reduce((a, s) => a + s.done, 0) > 0, 'jobs done per provider');
  r = await cli(1, 'provider', 'ls');
  t.regex(r.out, /^\s*ID\s+MONIKER\s+STATUS\s+COMPUTE PRICE\s+LOAD\s+JOBS DONE\s+ENDPOINT$/m, 'providers as a table with headers');
  t.is(r.out.trim().split('\n').length, 8, 'a header and one row per provider');
  t.regex(r.out, /\d BNB\/fuel/, 'compute prices in BNB per unit of fuel');
  r = await cli(1, 'offer', 'rm', offerId);
  t.not(r.code, 0);
  t.regex(r.err, /ERR_PERMISSION_DENIED/);
  r = await cli(0, 'offer', 'create', 'sales', '--max-output', 'lots');
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);
  r = await cli(0, 'offer', 'create', 'sales', '--max-output', '10', '--module', 'abc');
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);
  r = await cli(1, 'job', 'run', wcPath, 'sales/q1/readings.csv', '--executor', 'first');
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);
  r = await cli(0, 'offer', 'rm', offerId);
  t.is(r.code, 0, r.err);
  r = await cli(1, 'offer', 'ls', '--all', '--json');
  t.false((JSON.parse(r.out) as { id: string }[]).some((o) => String(o.id) === offerId), 'withdrawn');
});

test.serial('a dataset run under an offer escrows the owner\'s data fees with the compute fees once; the owner is paid for the maps that read its data and the unused spare comes back', async (t) => {
  // Earlier tests' held fees are paid out first, so the owner's income below is this run's.
  await clock.chain.advanceTime(3700);
  await clock.chain.transfer(clock.address, 1n);
  const total = (await clock.chain.holdings()).total;
  const wc = await wasm('wc');
  const price = 5n * 10n ** 11n;
  const { offerId } = await owner.offers.create('sales/q1/', { modules: [sha(wc)], pricePerJob: price, maxOutputBytes: 64n });
  const run = await buyer.jobs.dataset({ module: wc, reduce: wc, input: 'sales/q1/', maxFee: 10n ** 15n, offerId, workBucket: 'lab' });
  t.true(run.succeeded);
  t.is(Buffer.from(run.output).toString(), `301 301 ${csv.length}\n`);
  // One object and one spare attempt, each with the offer's data fee.
  t.like(run.run, { offerId, dataFees: 2n * price, status: 'done', objects: ['q1/readings.csv'] });
  t.is(run.run.escrowed, run.run.mapFee * 2n + run.run.reduceFee + 2n * price);
  t.is((await buyer.jobs.get(run.maps[0]!.id)).dataFee, price, 'the map read the data under the offer');
  t.is((await buyer.jobs.get(run.reduce!.id)).offerId ?? 0n, 0n, 'the reduce reads only the map\'s output');
  const ownerBefore = await balance(owner.address);
  await clock.chain.advanceTime(3700);
  await clock.chain.transfer(clock.address, 1n);
  t.is(await balance(owner.address) - ownerBefore, price, 'the owner is paid for the one map that read its data');
  t.is(await balance(ESCROW), 0n);
  t.is((await clock.chain.holdings()).total, total, 'money conserved');
});
