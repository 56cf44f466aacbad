// Near-data jobs end to end: a job runs on the node holding the data, is paid from escrow, and
// compute-to-data lets a grantee run jobs over data it cannot download.

import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createClient, type InsituClient } from '@insitu/sdk';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
let alice: InsituClient;
let bob: InsituClient;
const csvAgg = () => readFile(new URL('../../wasm-jobs/build/csv-agg.wasm', import.meta.url));
const wc = () => readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 2 });
  alice = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
  bob = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[1]!.privateKey } });
  await alice.buckets.create('lab');
  const rows = ['id,sensor,reading'];
  for (let i = 0; i < 5000; i++) rows.push(`${i},s${i % 4},${i % 10}`);
  await alice.objects.put('lab', 'readings.csv', Buffer.from(`${rows.join('\n')}\n`));
});
test.after.always(async () => {
  await net?.stop();
});

test.serial('a job runs beside its input, returns a signed receipt and is paid fuel × price from escrow', async (t) => {
  const before = (await alice.account()).balance;
  const maxFee = 10n ** 15n;
  const run = await alice.jobs.submit({ module: await csvAgg(), input: 'lab/readings.csv', args: ['1', '2'], maxFee });
  t.is(run.receipt.state, 'succeeded', run.receipt.stderrTail);
  const output = Buffer.from(await alice.jobs.output(run.id)).toString();
  t.is(output.split('\n')[1], 's0,1250,5000.0,0.0,8.0,4.0');
  const job = await alice.jobs.get(run.id);
  t.is(job.status, 'settled');
  t.is(job.fuelUsed, BigInt(run.receipt.fuelUsed));
  t.is(job.fee, job.fuelUsed * run.executor.computePrice);
  t.is(job.outputHash, run.receipt.outputHash);
  const primary = (await alice.objects.head('lab', 'readings.csv')).placement[0]!;
  t.is(run.executor.id, primary.spId, 'the job ran on the primary that holds the object');
  // Alice paid the module upload, the submission and the job fee; nothing else left her account.
  t.true((await alice.account()).balance < before);
  t.true((await alice.jobs.list()).some((j) => j.id === run.id));
});

test.serial('compute-to-data: a grantee with execute but not get runs jobs and cannot download', async (t) => {
  await alice.policies.grant({ bucket: 'lab', object: 'readings.csv' }, bob.address, ['execute-object']);
  await bob.buckets.create('bob-code');
  const run = await bob.jobs.submit({ module: await wc(), input: 'lab/readings.csv', maxFee: 10n ** 15n, moduleBucket: 'bob-code' });
  t.is(run.receipt.state, 'succeeded');
  t.regex(Buffer.from(await bob.jobs.output(run.id)).toString(), /^5001 5001 \d+\n$/);
  const parts: Uint8Array[] = [];
  const e = await t.throwsAsync(async () => {
    for await (const c of bob.objects.get('lab', 'readings.csv')) parts.push(c);
  });
  t.is((e as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  const noGrant = await t.throwsAsync(alice.jobs.submit({ module: await wc(), input: 'bob-code/nothing', maxFee: 1000n }));
  t.truthy((noGrant as { code?: string }).code);
});

test.serial('an execute grant limited to listed modules runs those modules and refuses any other', async (t) => {
  const { createHash } = await import('node:crypto');
  await alice.objects.put('lab', 'private.csv', Buffer.from('a,1\nb,2\n'));
  const approved = await wc();
  const approvedHash = createHash('sha256').update(approved).digest('hex');
  await alice.policies.grant({ bucket: 'lab', object: 'private.csv' }, bob.address, ['execute-object'], { modules: [approvedHash] });
  const run = await bob.jobs.submit({ module: approved, input: 'lab/private.csv', maxFee: 10n ** 15n, moduleBucket: 'bob-code' });
  t.is(Buffer.from(await bob.jobs.output(run.id)).toString(), '2 2 8\n');
  const other = await t.throwsAsync(bob.jobs.submit({ module: await csvAgg(), input: 'lab/private.csv', args: ['0', '1'], maxFee: 10n ** 15n, moduleBucket: 'bob-code' }));
  t.is((other as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  t.regex((other as Error).message, /may not run module/);
  const bad = await t.throwsAsync(alice.policies.grant({ bucket: 'lab' }, bob.address, ['execute-object'], { modules: ['abc'] }));
  t.is((bad as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
});

test.serial('a job that breaks a limit is reported and settled as such, never as success', async (t) => {
  const run = await alice.jobs.submit({ module: await wc(), input: 'lab/readings.csv', maxFee: 10n ** 15n, limits: { fuel: 1000n } });
  t.is(run.receipt.state, 'failed');
  t.is(run.receipt.code, 'ERR_JOB_OUT_OF_FUEL');
  const job = await alice.jobs.get(run.id);
  t.is(job.exitState, 'ERR_JOB_OUT_OF_FUEL');
  t.true(job.fee > 0n);
});

test.serial('a hostile job does not hold up the node: reads go on while it spins until its limit, then its worker is replaced', async (t) => {
  const { wat, SPIN } = await import('@insitu/executor/testing');
  let spinDone = false;
  const spinning = alice.jobs.submit({ module: await wat(SPIN), input: 'lab/readings.csv', maxFee: 10n ** 15n, limits: { fuel: 1n << 55n, timeoutMs: 5000 } })
    .finally(() => { spinDone = true; });
  const { createHash } = await import('node:crypto');
  const spinHash = createHash('sha256').update(await wat(SPIN)).digest('hex');
  // Wait until the node runs the hostile job (it marks it running on chain when it starts it).
  while (!(await alice.jobs.list({ limit: 5 })).some((j) => j.moduleHash === spinHash && j.status === 'running')) await new Promise((r) => setTimeout(r, 50));
  const parts: Uint8Array[] = [];
  for await (const c of alice.objects.get('lab', 'readings.csv')) parts.push(c);
  t.true(Buffer.concat(parts).toString().startsWith('id,sensor,reading\n'));
  t.false(spinDone, 'the read finished while the hostile job was still running');
  const spun = await spinning;
  const other = await alice.jobs.submit({ module: await wc(), input: 'lab/readings.csv', maxFee: 10n ** 15n });
  t.is(other.receipt.state, 'succeeded', 'the node\'s replaced worker runs the next job');
  t.is(spun.receipt.code, 'ERR_JOB_TIMEOUT');
  const job = await alice.jobs.get(spun.id);
  t.is(job.fuelUsed, 1n << 55n, 'charged its whole fuel limit');
  t.is(job.fee, 10n ** 15n, 'which the maximum fee caps');
});

test.serial('verification: the same job re-run on another node gives an identical receipt', async (t) => {
  const run = await alice.jobs.submit({ module: await wc(), input: 'lab/readings.csv', maxFee: 10n ** 15n });
  const { original, replay, match } = await alice.jobs.verify(run.id);
  t.not(replay.executor.id, original.executorSpId, 'a different provider re-ran it');
  t.true(match);
  const { receiptDigest } = await import('@insitu/protocol');
  const strip = (r: typeof run.receipt) => ({ ...r, jobId: '', executorSpId: 0 });
  t.deepEqual(strip(replay.receipt), strip(run.receipt));
  t.deepEqual(receiptDigest(strip(replay.receipt)), receiptDigest(strip(run.receipt)));
  const { recoverAddress, fromHex } = await import('@insitu/protocol');
  t.is(recoverAddress(receiptDigest(replay.receipt), fromHex(replay.signature)), replay.executor.operatorAddress, 'signed by the re-running provider');
});

test.serial('side inputs named in the job appear read-only under /inputs', async (t) => {
  const { wat, CAT_SIDE } = await import('@insitu/executor/testing');
  await alice.objects.put('lab', 'side.txt', Buffer.from('lookup table\n'));
  const run = await alice.jobs.submit({ module: await wat(CAT_SIDE), input: 'lab/readings.csv', sideInputs: ['lab/side.txt'], maxFee: 10n ** 15n });
  t.is(run.receipt.state, 'succeeded', run.receipt.stderrTail);
  t.is(Buffer.from(await alice.jobs.output(run.id)).toString(), 'lookup table\n');
  t.deepEqual((await alice.jobs.get(run.id)).sideInputs, ['lab/side.txt']);
  const e = await t.throwsAsync(bob.jobs.submit({ module: await wat(CAT_SIDE), input: 'lab/readings.csv', sideInputs: ['lab/side.txt'], maxFee: 10n ** 15n, moduleBucket: 'bob-code' }));
  t.is((e as { code?: string }).code, 'ERR_PERMISSION_DENIED', 'a side input needs its own permission');
});
