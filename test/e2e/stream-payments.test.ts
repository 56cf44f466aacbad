// Storage paid as Greenfield pays it, through the whole stack: uploads lock and then stream,
// the primary enforces each bucket's monthly read quota, an owner whose balance runs out is
// frozen (reads and jobs refused) until topped up, and over random uploads, deletions, reads,
// quota purchases, jobs and time steps the chain holds exactly what genesis created.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createClient, type InsituClient } from '@insitu/sdk';
import { generatePrivateKey } from '@insitu/protocol';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { rng, seededBytes, testSeed } from '../src/random.ts';

const KiB = 1024;
const MiB = 1024 * 1024;
let net: Testnet;
let alice: InsituClient;

const wc = () => readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));

test.before(async () => {
  // A small free quota (1 MiB per bucket and month) so that tests can exhaust it.
  net = await createTestnet({ nodes: 7, accounts: 2, freeReadQuota: BigInt(MiB) });
  alice = await net.client(0);
});
test.after.always(async () => {
  await net?.stop();
});

async function read(c: InsituClient, bucket: string, name: string): Promise<Buffer | string> {
  try {
    const parts: Uint8Array[] = [];
    for await (const chunk of c.objects.get(bucket, name)) parts.push(chunk);
    return Buffer.concat(parts);
  } catch (e) {
    return (e as { code: string }).code;
  }
}

const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

test.serial('an upload locks its reserve, then streams to the providers; a delete stops the flow', async (t) => {
  const before = await alice.payments.view();
  await alice.buckets.create('streams');
  await alice.objects.put('streams', 'a', randomBytes(3 * MiB));
  const after = await alice.payments.view();
  t.true(after.netflowRate < before.netflowRate, 'the account pays more per second');
  t.is(after.lockBalance, before.lockBalance, 'the lock became a flow when the object was sealed');
  t.is(after.bufferBalance - before.bufferBalance, (before.netflowRate - after.netflowRate) * 180n * 86_400n, 'ReserveTime of the new flow is prepaid');
  const total = (await alice.chain.holdings()).total;
  const moved = await alice.chain.advanceTime(30 * 86_400);
  t.true(moved > Date.now() + 29 * 86_400_000);
  const month = await alice.payments.view();
  t.true(month.staticBalance < after.staticBalance, 'a month later the balance has gone down');
  t.is((await alice.chain.holdings()).total, total, 'what the owner paid, the providers hold');
  await alice.objects.delete('streams', 'a');
  t.is((await alice.payments.view()).netflowRate, before.netflowRate);
});

test.serial('the primary enforces the monthly read quota: free, then bought; a new month starts afresh', async (t) => {
  await alice.buckets.create('quota');
  const data = randomBytes(600 * KiB);
  await alice.objects.put('quota', 'file', data);
  t.deepEqual(await read(alice, 'quota', 'file'), data);
  t.is(await read(alice, 'quota', 'file'), 'ERR_QUOTA_EXCEEDED', 'the second read would pass the free 1 MiB, and no secondary serves it instead');
  let q = await alice.buckets.quota('quota');
  t.is(q.freeConsumedSize, String(600 * KiB));
  t.is(q.readQuotaSize, '0');
  const before = await alice.payments.view();
  await alice.buckets.buyQuota('quota', BigInt(MiB));
  const buying = await alice.payments.view();
  t.true(buying.netflowRate < before.netflowRate, 'bought quota is a flow');
  t.deepEqual(await read(alice, 'quota', 'file'), data);
  q = await alice.buckets.quota('quota');
  t.is(q.freeConsumedSize, String(MiB));
  t.is(q.readConsumedSize, String(1200 * KiB - MiB));
  t.is(q.readQuotaSize, String(MiB));
  // Someone else cannot see the bucket's quota; a month later the count starts again.
  const bob = await net.client(1);
  t.is(await code(bob.buckets.quota('quota')), 'ERR_PERMISSION_DENIED');
  const month = q.yearMonth;
  await alice.chain.advanceTime(32 * 86_400);
  q = await alice.buckets.quota('quota');
  t.not(q.yearMonth, month);
  t.is(q.totalConsumedSize, '0');
  t.is((await alice.buckets.quota('quota', { month })).totalConsumedSize, String(1200 * KiB), 'the past month is still on record');
  t.deepEqual(await read(alice, 'quota', 'file'), data);
});

test.serial('an owner whose balance runs out is frozen: reads and jobs on its buckets are refused until a deposit', async (t) => {
  const key = generatePrivateKey();
  const poor = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: key } });
  // Fees for a handful of transactions, the reserve of one small object, and a little more.
  const fee = 120_000n * 5_000_000_000n;
  const reserve = (10n + 1n * 6n) * BigInt(MiB) * 101n / 100n * 180n * 86_400n;
  await alice.chain.transfer(poor.address, 4n * fee + reserve + reserve / 10n);
  await poor.buckets.create('poor');
  const data = Buffer.from('a line\nanother line\n'.repeat(1000));
  await poor.objects.put('poor', 'data', data);
  await poor.policies.grant({ bucket: 'poor', object: 'data' }, alice.address, ['execute-object']);
  const view = await poor.payments.view();
  t.false(view.frozen);
  t.truthy(view.runsOutAt);
  const left = Number(view.runsOutAt! - view.now);
  // The reserve buffer alone lasts 180 days; what is left of the fees lasts a while longer.
  t.true(left > 179 * 86_400 && left < 5 * 365 * 86_400, `runs out in ${left / 86_400} days`);
  t.deepEqual(await read(poor, 'poor', 'data'), data);

  await alice.chain.advanceTime(left + 3600);
  const frozen = await poor.payments.view();
  t.true(frozen.frozen, 'frozen once the balance ran out');
  t.is(frozen.netflowRate, 0n);
  t.is(await read(poor, 'poor', 'data'), 'ERR_ACCOUNT_FROZEN');
  t.is(await code(alice.jobs.submit({ module: await wc(), input: 'poor/data', maxFee: 10n ** 15n, moduleBucket: 'streams' })), 'ERR_ACCOUNT_FROZEN');

  // Alice tops the account up: it resumes, and reads and jobs work again.
  await alice.payments.deposit(poor.address, 2n * reserve);
  const resumed = await poor.payments.view();
  t.false(resumed.frozen);
  t.is(resumed.netflowRate, view.netflowRate);
  t.deepEqual(await read(poor, 'poor', 'data'), data);
  const run = await alice.jobs.submit({ module: await wc(), input: 'poor/data', maxFee: 10n ** 15n, moduleBucket: 'streams' });
  t.is(run.receipt.state, 'succeeded');
});

test.serial('payment accounts pay for buckets, and money is conserved over random uploads, deletions, reads, quota purchases, jobs and time', async (t) => {
  const bob = await net.client(1);
  const pa = await bob.payments.createAccount();
  await bob.payments.deposit(pa.address, 10n ** 18n);
  await bob.buckets.create('bob-pays', { paymentAddress: pa.address, chargedReadQuota: BigInt(4 * MiB) });
  t.is((await bob.buckets.head('bob-pays')).paymentAddress, pa.address);
  t.true((await bob.payments.view(pa.address)).netflowRate < 0n, 'the read quota flows from the payment account');
  t.is((await bob.payments.view()).paymentAccounts!.map((p) => p.address).includes(pa.address), true);

  const seed = testSeed('INSITU_PAYMENT_SEED');
  t.log(`seed ${seed} — replay with INSITU_PAYMENT_SEED=${seed} npx ava test/e2e/stream-payments.test.ts`);
  const rand = rng(seed);
  const total = (await alice.chain.holdings()).total;
  const clients = [alice, bob];
  const buckets = ['streams', 'bob-pays'];
  const objects: { bucket: string; name: string; who: number }[] = [];
  const module = await wc();
  const outcomes = new Map<string, number>();
  for (let step = 0; step < 40; step++) {
    const who = buckets[1] === 'bob-pays' && rand(2) ? 1 : 0;
    const c = clients[who]!;
    const bucket = who === 1 ? 'bob-pays' : 'streams';
    const op = rand(6);
    let what = '';
    let outcome = 'ok';
    try {
      if (op === 0 || objects.length === 0) {
        what = 'upload';
        const name = `r${step}`;
        await c.objects.put(bucket, name, seededBytes(rand, 1 + rand(2 * MiB)));
        objects.push({ bucket, name, who });
      } else if (op === 1) {
        what = 'delete';
        const [o] = objects.splice(rand(objects.length), 1);
        await clients[o!.who]!.objects.delete(o!.bucket, o!.name);
      } else if (op === 2) {
        what = 'read';
        const o = objects[rand(objects.length)]!;
        const r = await read(clients[o.who]!, o.bucket, o.name);
        if (typeof r === 'string') outcome = r;
      } else if (op === 3) {
        what = 'quota';
        await c.buckets.buyQuota(bucket, BigInt(rand(8)) * BigInt(MiB));
      } else if (op === 4) {
        what = 'job';
        const o = objects.find((v) => v.who === who);
        if (o) await c.jobs.submit({ module, input: `${o.bucket}/${o.name}`, maxFee: BigInt(1 + rand(10 ** 9)) });
      } else {
        what = 'time';
        await alice.chain.advanceTime(1 + rand(20 * 86_400));
      }
    } catch (e) {
      outcome = (e as { code?: string }).code ?? String(e);
    }
    outcomes.set(`${what}:${outcome}`, (outcomes.get(`${what}:${outcome}`) ?? 0) + 1);
    t.is((await alice.chain.holdings()).total, total, `after step ${step} (${what}: ${outcome}), seed ${seed}`);
  }
  t.log(Object.fromEntries([...outcomes.entries()].sort()));
});
