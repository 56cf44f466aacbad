// Money is conserved through the whole stack: after well over a hundred random jobs — successes,
// traps, non-zero exits, out-of-fuel, too much output, timeouts — the sum of every account
// (escrow, fees and deposits included) is what it was, and every fee is fuel × price capped by
// the escrow.

import test from 'ava';
import { createClient } from '@insitu/sdk';
import { createTestnet } from '../src/testnet.ts';
import { wat, CAT, EXIT3, FLOOD, SPIN, TRAP } from '../../executor/test/fixtures.ts';

test('the sum of all balances is unchanged after random jobs', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 2 });
  t.teardown(() => net.stop());
  const alice = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
  await alice.buckets.create('money');
  await alice.objects.put('money', 'input', Buffer.from('some input bytes\n'.repeat(1000)));
  const modules = await Promise.all([CAT, EXIT3, FLOOD, SPIN, TRAP].map((m) => wat(m)));
  const app = net.chain.app as unknown as { kv(): { list<T>(p: string): Promise<[string, T][]> } };
  const sum = async (): Promise<bigint> => (await app.kv().list<{ balance: bigint }>('acct/')).reduce((s, [, a]) => s + a.balance, 0n);
  const before = await sum();
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const states = new Map<string, number>();
  const count = 120;
  for (let i = 0; i < count; i++) {
    const which = rand(5);
    const module = modules[which === 3 && rand(4) !== 0 ? 0 : which]!;
    const spin = module === modules[3];
    const run = await alice.jobs.submit({
      module,
      input: 'money/input',
      maxFee: BigInt(1 + rand(10 ** 9)),
      limits: { fuel: spin ? 1n << 40n : BigInt(1000 + rand(2_000_000)), timeoutMs: spin ? 200 : 10_000, outputBytes: 1 + rand(100_000) },
    });
    const key = run.receipt.code ?? 'succeeded';
    states.set(key, (states.get(key) ?? 0) + 1);
    const job = await alice.jobs.get(run.id);
    const cost = job.fuelUsed * run.executor.computePrice;
    t.is(job.fee, cost < job.maxFee ? cost : job.maxFee, `job ${run.id}`);
  }
  t.log(Object.fromEntries(states));
  t.true(states.size >= 4, 'jobs ended in several different ways');
  t.is(await sum(), before);
});
