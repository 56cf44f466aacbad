// One state machine, whichever way it runs: the same seeded random workload of signed
// transactions (accounts, buckets, objects, seals — Greenfield's and insitu's rounds —, policies, groups, payments, jobs, data offers,
// dataset runs and their jobs, months of development-clock time) goes through the embedded chain, which proposes its own blocks, and
// through two independent ABCI app instances fed the very same blocks (as CometBFT would feed
// them); the app hash agrees after every block.

import test from 'ava';
import { createChainApp } from '../src/state/index.ts';
import { testGenesis, tempDir } from './helpers.ts';
import { seeded } from '@insitu/test/random';
import { createWorkload } from './abci/workload.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('two ABCI app instances and the embedded chain reach the same app hash after every block of a random workload', async (t) => {
  const { rand } = seeded((l) => t.log(l));
  const g = testGenesis({ accounts: 5 });
  const authority = g.accounts[0]!;
  g.genesis.devClock = { authorities: [authority.address] };
  let clock = g.genesis.genesisTime;
  const embedded = createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, now: () => clock });
  const replicas = [
    createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, mode: 'abci' }),
    createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, mode: 'abci' }),
  ];
  for (const app of [embedded, ...replicas]) {
    await app.init();
    t.teardown(() => app.close());
  }
  t.deepEqual((await replicas[0]!.info()).height, 0n, 'an ABCI app waits for InitChain');

  // Genesis: InitChain's app hash is the embedded chain's genesis state hash.
  const genesisBlock = (await embedded.getBlock(0n))!;
  for (const r of replicas) t.is(hex(await r.initChain(g.genesis.chainId)), hex(genesisBlock.appHash));

  const workload = createWorkload({ reader: embedded, chainId: g.genesis.chainId, accounts: g.accounts, providers: g.providers, clockAuthority: authority, rand });
  const seen = new Set<string>();
  const codes: number[] = [];
  let txs: Uint8Array[] = [];
  const blocks = 24;
  for (let n = 1; n <= blocks; n++) {
    // Block 1 is the embedded chain's first block, made at init with the genesis time.
    const block = n === 1 ? (await embedded.getBlock(1n))! : (await embedded.produceBlock(txs)).block;
    const header = { height: block.height, time: block.headerTime, hash: block.hash };
    for (const [i, r] of replicas.entries()) {
      const executed = await r.finalizeBlock(header, txs);
      t.is(hex(executed.block.appHash), hex(block.appHash), `replica ${i + 1}'s FinalizeBlock app hash at height ${block.height}`);
      const committed = await r.commit();
      t.deepEqual(committed, block, `replica ${i + 1}'s block ${block.height}`);
      if (i === 0) codes.push(...executed.results.map((x) => x.code));
    }
    seen.add(hex(block.appHash));
    // Between blocks an hour to three days of header time pass.
    clock += 3_600_000 + rand(3 * 86_400_000);
    txs = await workload.nextBlock(5);
  }
  t.log(`${codes.length} transactions, ${codes.filter((c) => c === 0).length} succeeded, ${seen.size} distinct app hashes over ${blocks} blocks`);
  t.true(codes.filter((c) => c === 0).length >= 10, 'the workload changed state');
  t.true(codes.some((c) => c !== 0), 'some transactions failed (and failed alike everywhere)');
  t.true(seen.size >= blocks / 2, 'the app hash follows the state');
  // The market took part: offers were made and dataset runs opened (their jobs, funding and
  // closing follow as the seed has it).
  const offers = await embedded.kv().list<{ removed: boolean }>('offer/');
  const runs = await embedded.kv().list<{ id: bigint; status: string; jobCount: number }>('job-run/');
  t.log(`${offers.length} data offers (${offers.filter(([, o]) => o.removed).length} withdrawn), ${runs.length} dataset runs (${runs.filter(([, r]) => r.status !== 'open').length} closed) drawn on by ${runs.reduce((n, [, r]) => n + r.jobCount, 0)} jobs`);
  t.true(offers.length > 0, 'the workload made data offers');
  t.true(runs.length > 0, 'the workload opened dataset runs');
  // The replicas' state answers queries exactly as the embedded chain's does.
  const holdings = await embedded.query('/insitu.audit.Query/Holdings', {});
  const run = await embedded.query('/insitu.compute.Query/Run', { id: runs[0]![1].id });
  for (const r of replicas) {
    t.deepEqual((await r.query('/insitu.audit.Query/Holdings', {})).bank, holdings.bank);
    t.deepEqual(await r.query('/insitu.compute.Query/Run', { id: runs[0]![1].id }), run);
  }
});

test('a block executed with its transactions in another order gets another app hash', async (t) => {
  const { rand } = seeded((l) => t.log(l));
  const g = testGenesis({ accounts: 3 });
  g.genesis.devClock = { authorities: [g.accounts[0]!.address] };
  const clock = g.genesis.genesisTime + 1000;
  const embedded = createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, now: () => clock });
  const other = createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, mode: 'abci' });
  for (const app of [embedded, other]) {
    await app.init();
    t.teardown(() => app.close());
  }
  await other.initChain(g.genesis.chainId);
  const b1 = (await embedded.getBlock(1n))!;
  await other.finalizeBlock({ height: 1n, time: b1.headerTime, hash: b1.hash }, []);
  await other.commit();
  const workload = createWorkload({ reader: embedded, chainId: g.genesis.chainId, accounts: g.accounts.slice(1), providers: g.providers, clockAuthority: g.accounts[0]!, rand });
  let txs: Uint8Array[] = [];
  while (txs.length < 2) txs = await workload.nextBlock(2);
  const block = (await embedded.produceBlock(txs)).block;
  const swapped = await other.finalizeBlock({ height: block.height, time: block.headerTime, hash: block.hash }, [...txs].reverse());
  t.not(hex(swapped.block.appHash), hex(block.appHash));
});
