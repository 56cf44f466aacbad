// Money is conserved through the whole stack: after three hundred random jobs from two accounts — successes,
// traps, non-zero exits, out-of-fuel, too much output, timeouts — and disputes over some of them
// (honest receipts upheld with the bond lost, a made-up one overturned with its provider slashed),
// the sum of every account (escrow with its held fees and bonds, deposits, fees) is what it was,
// every fee is fuel × price capped by the escrow, and once the dispute windows close every held
// fee has left the escrow.

import test from 'ava';
import { createClient } from '@insitu/sdk';
import { createChainClient } from '@insitu/sdk/chain';
import { signDigest, toHex } from '@insitu/protocol';
import { receiptDigest, type JobReceipt } from '@insitu/protocol';
import { createTestnet } from '../src/testnet.ts';
import { rng, testSeed } from '../src/random.ts';
import { wat, CAT, EXIT3, FLOOD, SPIN, TRAP } from '@insitu/executor/testing';

test('the sum of all balances is unchanged after random jobs', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 2 });
  t.teardown(() => net.stop());
  const clients = await Promise.all(net.accounts.map((a) => createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: a.privateKey } })));
  for (const [i, c] of clients.entries()) {
    await c.buckets.create(`money-${i}`);
    await c.objects.put(`money-${i}`, 'input', Buffer.from('some input bytes\n'.repeat(1000)));
  }
  const modules = await Promise.all([CAT, EXIT3, FLOOD, SPIN, TRAP].map((m) => wat(m)));
  // Everything the chain holds: bank balances, stream records (the modules uploaded below lock and pay), escrow, fees.
  const sum = async (): Promise<bigint> => (await clients[0]!.chain.holdings()).total;
  const before = await sum();
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const states = new Map<string, number>();
  const settledRuns: { id: bigint; receipt: JobReceipt; who: number }[] = [];
  const count = 300;
  const kinds = ['cat', 'exit', 'flood', 'timeout', 'out-of-fuel', 'trap'] as const;
  const one = async (c: (typeof clients)[number], bucket: string, kind: (typeof kinds)[number]): Promise<void> => {
    const module = modules[{ cat: 0, exit: 1, flood: 2, timeout: 3, 'out-of-fuel': 3, trap: 4 }[kind]]!;
    const run = await c.jobs.submit({
      module,
      input: `${bucket}/input`,
      maxFee: BigInt(1 + rand(10 ** 9)),
      limits: {
        fuel: kind === 'timeout' ? 1n << 40n : kind === 'out-of-fuel' ? BigInt(1000 + rand(100_000)) : BigInt(1000 + rand(2_000_000)),
        timeoutMs: kind === 'timeout' ? 150 : 10_000,
        outputBytes: 1 + rand(100_000),
      },
    });
    const key = run.receipt.code ?? 'succeeded';
    if (kind === 'cat' && key === 'succeeded') settledRuns.push({ id: run.id, receipt: run.receipt, who: clients.indexOf(c) });
    states.set(key, (states.get(key) ?? 0) + 1);
    const job = await c.jobs.get(run.id);
    const cost = job.fuelUsed * run.executor.computePrice;
    t.is(job.fee, cost < job.maxFee ? cost : job.maxFee, `job ${run.id}`);
    if (kind === 'timeout' || kind === 'out-of-fuel') t.is(job.fuelUsed, job.fuelLimit, `job ${run.id} (${kind}) is charged its fuel limit`);
  };
  // Three jobs in flight per account; each account's transactions go out one at a time.
  const plan = Array.from({ length: count }, (_, i) => ({ who: i % clients.length, kind: kinds[rand(kinds.length)]! }));
  await Promise.all(clients.map(async (c, who) => {
    const mine = plan.filter((p) => p.who === who);
    const lanes = Array.from({ length: 3 }, async (_, lane) => {
      for (let i = lane; i < mine.length; i += 3) await one(c, `money-${who}`, mine[i]!.kind);
    });
    await Promise.all(lanes);
  }));
  t.log(Object.fromEntries(states));
  for (const code of ['succeeded', 'ERR_JOB_TRAP', 'ERR_JOB_EXIT_NONZERO', 'ERR_JOB_TIMEOUT', 'ERR_JOB_OUT_OF_FUEL', 'ERR_JOB_OUTPUT_LIMIT']) {
    t.true((states.get(code) ?? 0) > 0, `some jobs ended ${code}: ${JSON.stringify(Object.fromEntries(states))}`);
  }
  t.is([...states.values()].reduce((a, b) => a + b, 0), count);
  t.is(await sum(), before);

  // Disputes: two honest receipts (upheld: the other account loses its bonds) ...
  for (const r of settledRuns.slice(0, 2)) {
    const job = await clients[1 - r.who]!.jobs.dispute(r.id, { wait: true, timeoutMs: 120_000 });
    t.is(job.dispute!.outcome, 'receipt-upheld', `job ${r.id}`);
  }
  // ... and a made-up one, signed with its provider's real key (overturned: slashed, refunded, rewarded).
  const template = settledRuns[0]!;
  // The job runs over the template's input, so its owner submits it (the other account may not).
  const owner = clients[template.who]!;
  const cat = await owner.jobs.get(template.id);
  const { jobId } = await owner.chain.submitJob({ bucket: cat.bucket, object: cat.object, moduleBucket: cat.moduleBucket, moduleObject: cat.moduleObject, moduleHash: cat.moduleHash, maxFee: 10n ** 9n, fuelLimit: 10n ** 8n });
  const spId = (await owner.jobs.get(jobId)).executorSpId;
  const key = net.plan.nodes[spId - 1]!.operatorKey;
  const liar = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: key });
  const lie: JobReceipt = { ...template.receipt, jobId: jobId.toString(), executorSpId: spId, fuelUsed: String(10n ** 8n), outputHash: '0f'.repeat(32) };
  await liar.settleJob({ jobId, receipt: JSON.stringify(lie), receiptSignature: toHex(signDigest(receiptDigest(lie), key)) });
  const overturned = await clients[1 - template.who]!.jobs.dispute(jobId, { wait: true, timeoutMs: 120_000 });
  t.is(overturned.dispute!.outcome, 'receipt-wrong');
  t.true(overturned.dispute!.slashed > 0n);
  t.is(await sum(), before, 'bonds, held fees, slashes and rewards conserve money');
  // The windows close: every held fee leaves the escrow for its provider.
  await clients[0]!.chain.advanceTime(2 * 3600);
  await clients[0]!.chain.transfer(clients[1]!.address, 1n);
  t.is((await clients[0]!.chain.getAccount('0x00000000000000000000000000000000000e5c00')).balance, 0n, 'nothing is left in escrow');
  t.is(await sum(), before);
});
