// Compute payments on chain: escrow at submission, settlement by the executing provider, and
// money conserved exactly over many random jobs.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient, type ChainClient } from '@insitu/sdk/chain/index.ts';
import { computeChecksums } from '@insitu/sdk/integrity/index.ts';
import { sealSignDoc } from '@insitu/sdk/chain/seal.ts';
import { blsAggregate, blsSign } from '@insitu/sdk/crypto/bls.ts';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('jobs escrow their max fee, pay fuel × price to the provider, refund the rest, and conserve money', async (t) => {
  const g = testGenesis({ accounts: 3 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const opts = { rpcUrl: chain.rpcUrl, chainId: chain.chainId };
  const [alice, bob, carol] = await Promise.all(g.accounts.map((a) => createChainClient({ ...opts, privateKey: a.privateKey })));
  const sp1 = await createChainClient({ ...opts, privateKey: g.providers[0]!.privateKey });
  const sp2 = await createChainClient({ ...opts, privateKey: g.providers[1]!.privateKey });

  await alice!.createBucket({ name: 'data', primarySp: g.providers[0]!.address });
  const sealed = async (client: ChainClient, name: string): Promise<void> => {
    const { checksums } = await computeChecksums(randomBytes(1000));
    const { object } = await client.createObject({ bucket: 'data', name, payloadSize: 1000n, checksums });
    const gvg = await client.getGlobalVirtualGroup(object.gvgId);
    const doc = sealSignDoc({ chainId: chain.chainId, gvgId: gvg.id, objectId: object.id, checksums });
    await sp1.sealObject({ bucket: 'data', name, gvgId: gvg.id, blsSignature: blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, g.providers[id - 1]!.blsSecret))) });
  };
  await sealed(alice!, 'input.csv');
  await sealed(alice!, 'job.wasm');
  // Bob may execute over the input and read the module, but not download the input.
  await alice!.putPolicy({ principal: { type: 'account', address: bob!.address }, bucket: 'data', object: 'input.csv', statements: [{ effect: 'allow', actions: ['execute-object'] }] });
  await alice!.putPolicy({ principal: { type: 'account', address: bob!.address }, bucket: 'data', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  t.is(await chain.app.query('/greenfield.storage.Query/VerifyPermission', { operator: bob!.address, bucketName: 'data', objectName: 'input.csv', actionType: 6 }).then((r) => r.effect), 2);

  const sum = async (): Promise<bigint> => {
    let total = 0n;
    for (const [, a] of await (chain.app as unknown as { kv(): { list<T>(p: string): Promise<[string, T][]> } }).kv().list<{ balance: bigint }>('acct/')) total += a.balance;
    return total;
  };
  const before = await sum();
  const price = (await sp1.getStorageProvider(1)).computePrice;
  const moduleHash = 'ab'.repeat(32);
  const base = { bucket: 'data', object: 'input.csv', moduleBucket: 'data', moduleObject: 'job.wasm', moduleHash, fuelLimit: 1_000_000n };

  const denied = await t.throwsAsync(carol!.submitJob({ ...base, maxFee: 1000n }));
  t.is((denied as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  const broke = await t.throwsAsync(bob!.submitJob({ ...base, maxFee: 10n ** 30n }));
  t.is((broke as { code?: string }).code, 'ERR_INSUFFICIENT_BALANCE');

  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const expected = new Map<bigint, bigint>();
  for (let i = 0; i < 40; i++) {
    const who = rand(2) === 0 ? alice! : bob!;
    const maxFee = BigInt(1 + rand(100_000));
    const { jobId } = await who.submitJob({ ...base, maxFee });
    const job = await who.getJob(jobId);
    t.is(job.status, 'submitted');
    t.is(job.maxFee, maxFee);
    if (rand(5) === 0) {
      const wrong = await t.throwsAsync(sp2.settleJob({ jobId, fuelUsed: 1n, outputHash: '', exitState: 'succeeded', receiptSignature: '' }));
      t.is((wrong as { code?: string }).code, 'ERR_PERMISSION_DENIED');
    }
    const fuelUsed = BigInt(rand(200));
    await sp1.settleJob({ jobId, fuelUsed, outputHash: 'cd'.repeat(32), exitState: rand(3) === 0 ? 'ERR_JOB_OUT_OF_FUEL' : 'succeeded', receiptSignature: 'ee' });
    const cost = fuelUsed * price;
    expected.set(jobId, cost < maxFee ? cost : maxFee);
  }
  for (const [id, fee] of expected) {
    const job = await alice!.getJob(id);
    t.is(job.status, 'settled');
    t.is(job.fee, fee);
  }
  const again = await t.throwsAsync(sp1.settleJob({ jobId: [...expected.keys()][0]!, fuelUsed: 1n, outputHash: '', exitState: '', receiptSignature: '' }));
  t.regex((again as Error).message, /already settled/);
  t.is(await sum(), before, 'the sum of all balances (escrow and fee collector included) is unchanged');
  const escrow = await chain.app.query('/cosmos.bank.v1beta1.Query/Balance', { address: '0x00000000000000000000000000000000000e5c00' });
  t.is((escrow.balance as { amount: string }).amount, '0');
});

test('parallel job records, environment rules, and cancelling a job no provider settled', async (t) => {
  const g = testGenesis({ accounts: 2 });
  let now = Date.now();
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis, now: () => now });
  await chain.start();
  t.teardown(() => chain.stop());
  const opts = { rpcUrl: chain.rpcUrl, chainId: chain.chainId };
  const [alice, bob] = await Promise.all(g.accounts.map((a) => createChainClient({ ...opts, privateKey: a.privateKey })));
  const sp1 = await createChainClient({ ...opts, privateKey: g.providers[0]!.privateKey });
  await alice!.createBucket({ name: 'data', primarySp: g.providers[0]!.address });
  for (const name of ['input.csv', 'job.wasm']) {
    const { checksums } = await computeChecksums(randomBytes(100));
    const { object } = await alice!.createObject({ bucket: 'data', name, payloadSize: 100n, checksums });
    const gvg = await alice!.getGlobalVirtualGroup(object.gvgId);
    const doc = sealSignDoc({ chainId: chain.chainId, gvgId: gvg.id, objectId: object.id, checksums });
    await sp1.sealObject({ bucket: 'data', name, gvgId: gvg.id, blsSignature: blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, g.providers[id - 1]!.blsSecret))) });
  }
  const base = { bucket: 'data', object: 'input.csv', moduleBucket: 'data', moduleObject: 'job.wasm', moduleHash: 'ab'.repeat(32), fuelLimit: 1000n, maxFee: 1000n };
  const code = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as { code?: string }).code;

  t.is(await code(alice!.submitJob({ ...base, env: ['INSITU_PHASE=map'] })), 'ERR_INVALID_ARGUMENT', 'INSITU_ names are the runtime\'s');
  t.is(await code(alice!.submitJob({ ...base, env: ['novalue'] })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(alice!.submitJob({ ...base, mode: 'map', pieceIndex: 4 })), 'ERR_INVALID_ARGUMENT', 'pieces 0..3 hold data');
  const { jobId } = await alice!.submitJob({ ...base, maxFee: 10n ** 17n, env: ['A=1', 'B=x=y'] });
  t.deepEqual((await alice!.getJob(jobId)).env, ['A=1', 'B=x=y']);

  const maps: bigint[] = [];
  for (let i = 0; i < 4; i++) maps.push((await alice!.submitJob({ ...base, mode: 'map', pieceIndex: i, executorSpId: 2 + i })).jobId);
  const m1 = await alice!.getJob(maps[1]!);
  t.deepEqual([m1.mode, m1.pieceIndex, m1.executorSpId], ['map', 1, 3]);
  t.is(await code(alice!.submitJob({ ...base, mode: 'reduce', mapJobs: maps })), 'ERR_INVALID_ARGUMENT', 'maps must have succeeded first');
  t.is(await code(alice!.submitJob({ ...base, mode: 'reduce', mapJobs: [maps[1]!, maps[0]!, maps[2]!, maps[3]!] })), 'ERR_INVALID_ARGUMENT', 'in piece order');
  t.is(await code(alice!.submitJob({ ...base, mode: 'reduce', mapJobs: maps.slice(0, 3) })), 'ERR_INVALID_ARGUMENT', 'one per data piece');
  await alice!.putPolicy({ principal: { type: 'account', address: bob!.address }, bucket: 'data', statements: [{ effect: 'allow', actions: ['execute-object', 'get-object'] }] });
  t.is(await code(bob!.submitJob({ ...base, mode: 'reduce', mapJobs: maps })), 'ERR_INVALID_ARGUMENT', 'only the maps\' submitter reduces them');

  // Cancelling: not before the longest run has passed, only by the submitter, once.
  const balance = async () => (await alice!.getAccount(alice!.address)).balance;
  t.is(await code(alice!.cancelJob(jobId)), 'ERR_INVALID_ARGUMENT');
  now += 16 * 60_000;
  t.is(await code(bob!.cancelJob(jobId)), 'ERR_PERMISSION_DENIED');
  const before = await balance();
  await alice!.cancelJob(jobId);
  const job = await alice!.getJob(jobId);
  t.is(job.status, 'cancelled');
  const fee = before - (await balance());
  t.true(fee < 0n, 'the escrow came back (more than the fee of the cancel tx)');
  t.is(await code(alice!.cancelJob(jobId)), 'ERR_INVALID_ARGUMENT');
  t.is(await code(sp1.settleJob({ jobId, fuelUsed: 1n, outputHash: '', exitState: 'succeeded', receiptSignature: '' })), 'ERR_INVALID_ARGUMENT', 'a cancelled job is never settled');
});
