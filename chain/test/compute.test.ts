// Compute on chain: escrow at submission; settlement only with a receipt the chain can check
// (signed by the executing provider's key, fuel within the limit, output within the owner's
// cap); fees held for the dispute window; acknowledged jobs not cancellable; refused modules
// ended with the escrow returned; disputes decided by the chosen verifiers' receipts, with the
// liar slashed or the bond lost — and money conserved exactly through all of it.

import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import type { JobReceipt } from '@insitu/protocol';
import { rng, testSeed } from '@insitu/test/random';
import { DEFAULT_COMPUTE_PARAMS } from '../src/state/modules/compute/records.ts';
import { computeMsgs } from '../src/state/modules/compute.ts';
import { CacheKV, type KV } from '../src/state/store.ts';
import type { MsgContext } from '../src/state/context.ts';
import { computeChain } from './compute-fixture.ts';

const ESCROW = '0x00000000000000000000000000000000000e5c00';
const HOUR = 60 * 60_000;
const EMPTY_HASH = createHash('sha256').digest('hex');

async function setup(t: ExecutionContext) {
  const f = await computeChain(t);
  const [alice, bob, carol] = f.accounts;
  await alice.createBucket({ name: 'data', primarySp: f.g.providers[0]!.address });
  await f.seal(alice, 'data', 'input.csv');
  await f.seal(alice, 'data', 'job.wasm');
  const deposit = async (spId: number): Promise<bigint> => BigInt((await f.kv.get<{ deposit?: string }>(`sp/${spId}`))?.deposit ?? '0');
  const base = { bucket: 'data', object: 'input.csv', moduleBucket: 'data', moduleObject: 'job.wasm', moduleHash: 'ab'.repeat(32), fuelLimit: 1_000_000n };
  return { ...f, alice, bob, carol, deposit, base };
}

test('a settlement the chain cannot check is refused and changes nothing: fuel above the limit, a bad or foreign signature, a malformed output hash, another job\'s receipt', async (t) => {
  const { alice, sps, sum, balance, receipt, base, code } = await setup(t);
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  const job = await alice.getJob(jobId);
  const before = await sum();
  const escrow = await balance(ESCROW);
  const sp1 = sps[0]!;
  t.is(await code(sp1.settleJob({ jobId, ...receipt(job, 1, { fuelUsed: String(10n ** 30n) }) })), 'ERR_INVALID_RECEIPT', 'fuel above the limit');
  t.is(await code(sp1.settleJob({ jobId, receipt: receipt(job, 1).receipt, receiptSignature: 'not-a-signature' })), 'ERR_SIGNATURE_INVALID');
  t.is(await code(sp1.settleJob({ jobId, receipt: receipt(job, 1).receipt, receiptSignature: receipt(job, 2).receiptSignature })), 'ERR_SIGNATURE_INVALID', 'signed by another provider');
  const tampered = JSON.parse(receipt(job, 1).receipt) as JobReceipt;
  t.is(await code(sp1.settleJob({ jobId, receipt: JSON.stringify({ ...tampered, fuelUsed: '99' }), receiptSignature: receipt(job, 1).receiptSignature })), 'ERR_SIGNATURE_INVALID', 'the signature covers the fuel');
  t.is(await code(sp1.settleJob({ jobId, ...receipt(job, 1, { outputHash: 'deadbeef' }) })), 'ERR_INVALID_RECEIPT', 'output hash not a SHA-256');
  t.is(await code(sp1.settleJob({ jobId, ...receipt({ ...job, id: job.id + 100n }, 1) })), 'ERR_INVALID_RECEIPT', 'a receipt of another job');
  t.is(await code(sp1.settleJob({ jobId, ...receipt(job, 1, { args: ['x'] }) })), 'ERR_INVALID_RECEIPT', 'other arguments');
  t.is(await code(sp1.settleJob({ jobId, receipt: '{"jobId":1}', receiptSignature: '00' })), 'ERR_INVALID_RECEIPT');
  t.is(await code(sps[1]!.settleJob({ jobId, ...receipt(job, 2) })), 'ERR_PERMISSION_DENIED', 'not the executor');
  t.is((await alice.getJob(jobId)).status, 'submitted');
  t.is(await balance(ESCROW), escrow, 'the escrow is untouched');
  t.is(await sum(), before);
  await sp1.settleJob({ jobId, ...receipt(job, 1) });
  t.is((await alice.getJob(jobId)).fuelUsed, 100n, 'the honest receipt settles');
});

test('jobs escrow their max fee, hold fuel × price for the dispute window, refund the rest, and conserve money', async (t) => {
  const { alice, bob, carol, sps, sum, balance, receipt, base, code, clock, g } = await setup(t);
  await alice.putPolicy({ principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'input.csv', statements: [{ effect: 'allow', actions: ['execute-object'] }] });
  await alice.putPolicy({ principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  t.is(await code(carol.submitJob({ ...base, maxFee: 1000n })), 'ERR_PERMISSION_DENIED');
  t.is(await code(bob.submitJob({ ...base, maxFee: 10n ** 30n })), 'ERR_INSUFFICIENT_BALANCE');
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const before = await sum();
  const price = (await sps[0]!.getStorageProvider(1)).computePrice;
  const funding = g.providers[0]!.address;
  const expected = new Map<bigint, bigint>();
  for (let i = 0; i < 25; i++) {
    const who = rand(2) === 0 ? alice : bob;
    const maxFee = BigInt(1 + rand(100_000));
    const { jobId } = await who.submitJob({ ...base, maxFee });
    const job = await who.getJob(jobId);
    t.is(job.status, 'submitted');
    const rejected = rand(6) === 0;
    const fuelUsed = rejected ? 0n : BigInt(rand(200));
    const r = receipt(job, 1, rejected ? { state: 'rejected', code: 'ERR_JOB_FORBIDDEN_IMPORT', exitCode: -1, fuelUsed: '0', outputHash: EMPTY_HASH, outputBytes: 0 } : { fuelUsed: String(fuelUsed) });
    if (!rejected && rand(2) === 0) await sps[0]!.ackJob(jobId);
    await sps[0]!.settleJob({ jobId, ...r });
    const cost = (rejected ? BigInt(DEFAULT_COMPUTE_PARAMS.rejectFuel) : fuelUsed) * price;
    expected.set(jobId, cost < maxFee ? cost : maxFee);
    t.is((await who.getJob(jobId)).status, rejected ? 'rejected' : 'settled');
  }
  let held = 0n;
  for (const [id, fee] of expected) {
    const job = await alice.getJob(id);
    t.is(job.fee, fee);
    held += fee;
  }
  t.is(await balance(ESCROW), held, 'settled fees are held in escrow during the dispute window');
  t.is(await code(sps[0]!.settleJob({ jobId: [...expected.keys()][0]!, ...receipt(await alice.getJob([...expected.keys()][0]!), 1) })), 'ERR_INVALID_ARGUMENT', 'settled once');
  t.is(await sum(), before, 'conserved while fees are held');
  // Random disputes: bonds in, verifiers' receipts agreeing, disagreeing or missing, slashes and rewards out.
  const receipts = new Map<bigint, JobReceipt>();
  for (const id of expected.keys()) receipts.set(id, JSON.parse((await alice.getJob(id)).receipt) as JobReceipt);
  const outcomes: string[] = [];
  let slashedTotal = 0n;
  for (const id of [...expected.keys()].filter(() => rand(3) === 0).slice(0, 6)) {
    const disputer = [alice, bob, carol][rand(3)]!;
    await disputer.disputeJob(id);
    const job = await alice.getJob(id);
    const r = receipts.get(id)!;
    for (const v of job.dispute!.verifiers) {
      const vote = rand(4);
      if (vote === 3) continue;
      await sps[v - 1]!.verifyJob({ jobId: id, ...receipt(job, v, vote === 0 ? { ...r, executorSpId: v, outputHash: '0b'.repeat(32) } : { ...r, executorSpId: v }) }).catch((e: { code?: string }) => {
        if (e.code !== 'ERR_DISPUTE_CLOSED') throw e;
      });
      t.is(await sum(), before, `conserved after a verifier's receipt of job ${id}`);
    }
  }
  clock.now += DEFAULT_COMPUTE_PARAMS.verifyWindowMs + 1000;
  await alice.transfer(bob.address, 1n);
  for (const id of expected.keys()) {
    const d = (await alice.getJob(id)).dispute;
    if (!d) continue;
    outcomes.push(d.outcome);
    slashedTotal += d.slashed;
    t.not(d.outcome, 'open', `the dispute of job ${id} was decided at its deadline`);
  }
  t.log(`disputes: ${outcomes.join(', ') || 'none'}; slashed ${slashedTotal}`);
  t.is(await sum(), before, 'conserved with bonds, slashes and rewards');
  // The window closes: the next block pays every held fee still owed to the provider's funding address.
  clock.now += HOUR + 1000;
  const owed = [...expected.keys()].length ? (await Promise.all([...expected.keys()].map((id) => alice.getJob(id)))).reduce((a, j) => a + (j.releaseAt ? j.fee : 0n), 0n) : 0n;
  const gasBefore = await balance(funding);
  await alice.transfer(bob.address, 1n);
  t.is(await balance(ESCROW), 0n, 'nothing is left in escrow');
  t.is(await balance(funding) - gasBefore, owed, 'the provider received every fee still held at once');
  t.is(await sum(), before, 'the sum of all balances (escrow, deposits and fee collector included) is unchanged');
});

test('cancelling: an unacknowledged job after a short deadline; an acknowledged one is refused while it runs; a cancelled job is never settled', async (t) => {
  const { alice, bob, sps, balance, receipt, base, code, clock } = await setup(t);
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  t.is(await code(alice.cancelJob(jobId)), 'ERR_INVALID_ARGUMENT', 'not before the short deadline');
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1000;
  t.is(await code(bob.cancelJob(jobId)), 'ERR_PERMISSION_DENIED');
  const before = await balance(alice.address);
  await alice.cancelJob(jobId);
  t.true(await balance(alice.address) > before, 'the escrow came back (more than the cancel tx\'s fee)');
  t.is(await code(alice.cancelJob(jobId)), 'ERR_INVALID_ARGUMENT');
  t.is(await code(sps[0]!.ackJob(jobId)), 'ERR_INVALID_ARGUMENT', 'a cancelled job is not started');
  t.is(await code(sps[0]!.settleJob({ jobId, ...receipt(await alice.getJob(jobId), 1) })), 'ERR_INVALID_ARGUMENT', 'a cancelled job is never settled');

  const { jobId: running } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  t.is(await code(sps[1]!.ackJob(running)), 'ERR_PERMISSION_DENIED', 'only its executor acknowledges it');
  await sps[0]!.ackJob(running);
  t.is((await alice.getJob(running)).status, 'running');
  clock.now += 15 * 60_000;
  t.is(await code(alice.cancelJob(running)), 'ERR_JOB_RUNNING', 'the submitter cannot take the escrow back from a running job');
  t.is(await balance(ESCROW), 10n ** 15n);
  await sps[0]!.settleJob({ jobId: running, ...receipt(await alice.getJob(running), 1) });
  t.is((await alice.getJob(running)).status, 'settled');

  // A node that acknowledged and went away: the escrow can come back after the longest run.
  const { jobId: lost } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  await sps[0]!.ackJob(lost);
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelAckedAfterMs + 1000;
  await alice.cancelJob(lost);
  t.is((await alice.getJob(lost)).status, 'cancelled');
});

test('a refused module ends its job on chain with a small fee for the node and the rest of the escrow returned', async (t) => {
  const { alice, sps, balance, receipt, base, code, sum } = await setup(t);
  const maxFee = 10n ** 15n;
  const before = await sum();
  const { jobId } = await alice.submitJob({ ...base, maxFee });
  const job = await alice.getJob(jobId);
  t.is(await code(sps[0]!.settleJob({ jobId, ...receipt(job, 1, { state: 'rejected', code: 'ERR_JOB_INVALID_MODULE', fuelUsed: '5', outputHash: EMPTY_HASH, outputBytes: 0 }) })), 'ERR_INVALID_RECEIPT', 'a refusal uses no fuel');
  const aliceBefore = await balance(alice.address);
  await sps[0]!.settleJob({ jobId, ...receipt(job, 1, { state: 'rejected', code: 'ERR_JOB_INVALID_MODULE', exitCode: -1, fuelUsed: '0', outputHash: EMPTY_HASH, outputBytes: 0 }) });
  const ended = await alice.getJob(jobId);
  const fee = BigInt(DEFAULT_COMPUTE_PARAMS.rejectFuel) * 5n;
  t.deepEqual([ended.status, ended.exitState, ended.fee], ['rejected', 'ERR_JOB_INVALID_MODULE', fee]);
  t.is(await balance(alice.address) - aliceBefore, maxFee - fee, 'the rest of the escrow came back at once');
  t.is(await sum(), before);
});

test('an execute grant\'s output policy caps every job\'s output, and a settlement above the cap is refused', async (t) => {
  const { alice, bob, sps, receipt, base, code } = await setup(t);
  await alice.putPolicy({ principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  await alice.putPolicy({
    principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'input.csv',
    statements: [{ effect: 'allow', actions: ['execute-object'], resources: [`grn:insitu:module::${'ab'.repeat(32)}`, 'grn:insitu:output-max::64', 'grn:insitu:output-ratio::500000'] }],
  });
  t.is(await code(bob.submitJob({ ...base, moduleHash: 'cd'.repeat(32), maxFee: 1000n })), 'ERR_PERMISSION_DENIED', 'another module is refused');
  const { jobId } = await bob.submitJob({ ...base, maxFee: 10n ** 15n, maxOutputBytes: 10_000 });
  const job = await bob.getJob(jobId);
  t.is(job.outputCap, 64n, 'the owner\'s cap wins over the submitter\'s');
  t.is(await code(sps[0]!.settleJob({ jobId, ...receipt(job, 1, { outputBytes: 65 }) })), 'ERR_INVALID_RECEIPT');
  await sps[0]!.settleJob({ jobId, ...receipt(job, 1, { outputBytes: 64 }) });
  // The ratio: 0.5 bytes per byte of the 1000-byte input.
  await alice.putPolicy({
    principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'input.csv',
    statements: [{ effect: 'allow', actions: ['execute-object'], resources: [`grn:insitu:module::${'ab'.repeat(32)}`, 'grn:insitu:output-ratio::500000'] }],
  });
  t.is((await bob.getJob((await bob.submitJob({ ...base, maxFee: 1000n })).jobId)).outputCap, 500n);
  t.is(await code(alice.putPolicy({ principal: { type: 'account', address: bob.address }, bucket: 'data', statements: [{ effect: 'allow', actions: ['execute-object'], resources: ['grn:insitu:output-max::lots'] }] })), 'ERR_INVALID_ARGUMENT');
  t.is((await alice.getJob((await alice.submitJob({ ...base, maxFee: 1000n })).jobId)).outputCap, BigInt(DEFAULT_COMPUTE_PARAMS.defaultOutputBytes), 'the owner has no cap');
});

test('a dishonest settlement disputed: the verifiers\' receipts overturn it, the executor is slashed, the submitter refunded and the disputer paid', async (t) => {
  const { alice, carol, sps, sum, balance, deposit, receipt, base, code, clock, g } = await setup(t);
  const before = await sum();
  const maxFee = 10n ** 15n;
  const { jobId } = await alice.submitJob({ ...base, maxFee });
  const job = await alice.getJob(jobId);
  await sps[0]!.ackJob(jobId);
  // The executor claims the whole fuel limit and a made-up output, signed with its real key.
  const aliceBefore = await balance(alice.address);
  await sps[0]!.settleJob({ jobId, ...receipt(job, 1, { fuelUsed: '1000000', outputHash: 'ee'.repeat(32) }) });
  const fee = 1_000_000n * 5n;
  t.is(await balance(alice.address) - aliceBefore, maxFee - fee);
  const depositBefore = await deposit(1);
  const carolBefore = await balance(carol.address);
  t.is(await code(sps[0]!.disputeJob(jobId)), 'ERR_INVALID_ARGUMENT', 'an executor does not dispute itself');
  await carol.disputeJob(jobId);
  const d = (await alice.getJob(jobId)).dispute!;
  t.is(d.verifiers.length, 3);
  t.false(d.verifiers.includes(1), 'never the executor');
  t.is(new Set(d.verifiers).size, 3);
  t.is(await code(carol.disputeJob(jobId)), 'ERR_DISPUTE_CLOSED', 'one dispute per job');
  const outsider = [2, 3, 4, 5, 6, 7].find((id) => !d.verifiers.includes(id));
  if (outsider) t.is(await code(sps[outsider - 1]!.verifyJob({ jobId, ...receipt(job, outsider) })), 'ERR_PERMISSION_DENIED', 'only chosen verifiers post');
  const [v1, v2, v3] = d.verifiers as [number, number, number];
  const honest = { fuelUsed: '1234', outputHash: 'cd'.repeat(32) };
  t.is(await code(sps[v1 - 1]!.verifyJob({ jobId, receipt: receipt(job, v1, honest).receipt, receiptSignature: receipt(job, v2, honest).receiptSignature })), 'ERR_SIGNATURE_INVALID');
  await sps[v1 - 1]!.verifyJob({ jobId, ...receipt(job, v1, honest) });
  t.is(await code(sps[v1 - 1]!.verifyJob({ jobId, ...receipt(job, v1, honest) })), 'ERR_INVALID_ARGUMENT', 'one receipt per verifier');
  t.is((await alice.getJob(jobId)).dispute!.outcome, 'open');
  const aliceMid = await balance(alice.address);
  const fundsBefore = await Promise.all([1, v1, v2, v3].map((id) => balance(g.providers[id - 1]!.address)));
  await sps[v2 - 1]!.verifyJob({ jobId, ...receipt(job, v2, honest) });
  const after = await alice.getJob(jobId);
  t.is(after.status, 'overturned');
  t.is(after.dispute!.outcome, 'receipt-wrong');
  t.is(await balance(alice.address) - aliceMid, fee, 'the submitter got the fee back');
  const slashed = after.dispute!.slashed;
  t.log(`executor deposit ${depositBefore}, slashed ${slashed}`);
  t.true(slashed > 0n, 'the executor lost part of its deposit');
  t.is(slashed, depositBefore < after.dispute!.slashWant ? depositBefore : after.dispute!.slashWant);
  t.is(await deposit(1), depositBefore - slashed, 'taken from the executor\'s deposit');
  const toVerifier = slashed / 2n / 2n;
  const fundsAfter = await Promise.all([1, v1, v2, v3].map((id) => balance(g.providers[id - 1]!.address)));
  t.is(fundsAfter[0], fundsBefore[0], 'the executor got nothing');
  t.true(fundsAfter[2]! - fundsBefore[2]! >= toVerifier - 10n ** 15n, 'the deciding verifier was paid (minus its tx fee)');
  t.is(await balance(carol.address) - carolBefore + 2n * 120_000n * 5_000_000_000n, slashed - 2n * toVerifier, 'the disputer has its bond back and the rest of the slash (less its two tx fees)');
  t.is(await code(sps[v3 - 1]!.verifyJob({ jobId, ...receipt(job, v3, honest) })), 'ERR_DISPUTE_CLOSED', 'decided');
  clock.now += 2 * HOUR;
  await alice.transfer(carol.address, 1n);
  t.is(await balance(ESCROW), 0n, 'nothing left in escrow, nothing paid to the liar later');
  t.is(await sum(), before, 'slashes, bonds, refunds and rewards conserve money');
});

test('an honest settlement disputed: the verifiers agree, the disputer loses the bond, and the fee is paid at the end of the window', async (t) => {
  const { alice, bob, sps, sum, balance, receipt, base, code, clock, g } = await setup(t);
  const before = await sum();
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  const job = await alice.getJob(jobId);
  const r = receipt(job, 1, { fuelUsed: '777' });
  await sps[0]!.settleJob({ jobId, ...r });
  const bond = BigInt(DEFAULT_COMPUTE_PARAMS.disputeBond);
  const bobBefore = await balance(bob.address);
  await bob.disputeJob(jobId);
  t.is(bobBefore - await balance(bob.address), bond + 120_000n * 5_000_000_000n, 'the bond (and the tx fee) left the disputer');
  const d = (await alice.getJob(jobId)).dispute!;
  const executorBefore = await balance(g.providers[0]!.address);
  for (const v of d.verifiers.slice(0, 2)) await sps[v - 1]!.verifyJob({ jobId, ...receipt(job, v, { fuelUsed: '777' }) });
  const upheld = await alice.getJob(jobId);
  t.is(upheld.dispute!.outcome, 'receipt-upheld');
  t.is(upheld.status, 'settled');
  t.is(await balance(g.providers[0]!.address) - executorBefore, bond - (bond / 2n / 2n) * 2n, 'the executor got what the verifiers did not of the bond');
  t.is(await balance(ESCROW), 777n * 5n, 'the fee is still held until the window closes');
  clock.now += HOUR + 1000;
  await alice.transfer(bob.address, 1n);
  t.is(await balance(ESCROW), 0n);
  t.is(await code(bob.disputeJob(jobId)), 'ERR_DISPUTE_CLOSED');
  const { jobId: late } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  await sps[0]!.settleJob({ jobId: late, ...receipt(await alice.getJob(late), 1) });
  clock.now += HOUR + 1000;
  t.is(await code(bob.disputeJob(late)), 'ERR_DISPUTE_CLOSED', 'not after the window');
  t.is(await sum(), before);
});

test('a dispute only some verifiers answer is decided at its deadline by the receipts posted', async (t) => {
  const { alice, bob, sps, sum, balance, receipt, base, clock } = await setup(t);
  const before = await sum();
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  await sps[0]!.settleJob({ jobId, ...receipt(await alice.getJob(jobId), 1) });
  await bob.disputeJob(jobId);
  const d = (await alice.getJob(jobId)).dispute!;
  // One verifier disagrees, the others never answer: the only receipt posted decides at the deadline.
  await sps[d.verifiers[0]! - 1]!.verifyJob({ jobId, ...receipt(await alice.getJob(jobId), d.verifiers[0]!, { fuelUsed: '99' }) });
  t.is((await alice.getJob(jobId)).dispute!.outcome, 'open');
  clock.now += DEFAULT_COMPUTE_PARAMS.verifyWindowMs + 1000;
  await alice.transfer(bob.address, 1n);
  t.is((await alice.getJob(jobId)).dispute!.outcome, 'receipt-wrong');
  t.is(await balance(ESCROW), 0n);
  t.is(await sum(), before);
});

test('a timed-out receipt the verifiers finish differently is overturned and refunded, but its provider is not slashed for a wall-clock stop', async (t) => {
  const { alice, bob, sps, sum, deposit, receipt, base } = await setup(t);
  const before = await sum();
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  const job = await alice.getJob(jobId);
  await sps[0]!.settleJob({ jobId, ...receipt(job, 1, { state: 'failed', code: 'ERR_JOB_TIMEOUT', exitCode: -1, fuelUsed: String(job.fuelLimit), outputHash: EMPTY_HASH, outputBytes: 0 }) });
  await bob.disputeJob(jobId);
  const d = (await alice.getJob(jobId)).dispute!;
  const depositBefore = await deposit(1);
  for (const v of d.verifiers.slice(0, 2)) await sps[v - 1]!.verifyJob({ jobId, ...receipt(job, v, { fuelUsed: '4321' }) });
  const after = await alice.getJob(jobId);
  t.is(after.dispute!.outcome, 'receipt-wrong');
  t.is(after.status, 'overturned');
  t.is(after.dispute!.slashed, 0n);
  t.is(await deposit(1), depositBefore);
  t.is(await sum(), before);
});

test('thousands of mutated receipts and signatures are refused with ERR_INVALID_RECEIPT or ERR_SIGNATURE_INVALID, and malformed fees with ERR_INVALID_ARGUMENT, never an internal error', async (t) => {
  const { alice, g, chain, receipt, base } = await setup(t);
  const { jobId } = await alice.submitJob({ ...base, maxFee: 10n ** 15n });
  const job = await alice.getJob(jobId);
  const good = receipt(job, 1);
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const state = (chain.app as unknown as { kv(): KV }).kv();
  const settle = computeMsgs['/insitu.compute.MsgSettleJob']!.handler;
  const values: unknown[] = ['', '0', '-1', '1e30', 'ff', null, true, [], {}, 2 ** 53, -1, 'x'.repeat(70_000), '0x' + 'ab'.repeat(65), 'ERR_', 'succeeded', 'rejected'];
  const mutate = (text: string): string => {
    const kind = rand(4);
    if (kind === 0) {
      const b = Buffer.from(text);
      for (let i = 0, n = 1 + rand(4); i < n; i++) b[rand(b.length)] = rand(256);
      return b.toString('latin1');
    }
    const o = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(o);
    const k = keys[rand(keys.length)]!;
    if (kind === 1) delete o[k];
    else if (kind === 2) o[k] = values[rand(values.length)];
    else o[`extra${rand(3)}`] = values[rand(values.length)];
    return JSON.stringify(o);
  };
  const codes = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const msg: Record<string, unknown> = { operator: g.providers[0]!.address, jobId: job.id.toString(), receipt: good.receipt, receiptSignature: good.receiptSignature };
    if (rand(3) === 0) msg.receiptSignature = rand(2) === 0 ? mutate(JSON.stringify({ s: good.receiptSignature })).slice(0, 140) : values[rand(values.length)];
    else msg.receipt = mutate(good.receipt);
    const ctx = { kv: new CacheKV(state), signer: g.providers[0]!.address, height: 10n, now: Date.now(), seed: new Uint8Array(32), genesis: g.genesis, txEvents: [], feed: [] } as unknown as MsgContext;
    let code = 'accepted';
    try {
      await settle(ctx, msg);
    } catch (e) {
      code = (e as { code?: string }).code ?? `uncoded: ${String(e)}`;
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  t.log(Object.fromEntries(codes));
  for (const code of codes.keys()) t.true(['ERR_INVALID_RECEIPT', 'ERR_SIGNATURE_INVALID', 'accepted'].includes(code), `unexpected outcome ${code}`);
  t.true((codes.get('ERR_INVALID_RECEIPT') ?? 0) > 100 && (codes.get('ERR_SIGNATURE_INVALID') ?? 0) > 100);
  t.is((await alice.getJob(jobId)).status, 'submitted', 'nothing reached the chain\'s state');
  for (const id of ['abc', '1e3', '-1', '']) {
    const e = await t.throwsAsync(chain.app.query('/insitu.compute.Query/Job', { id }));
    t.is((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT', `job id "${id}"`);
  }
  const submit = computeMsgs['/insitu.compute.MsgSubmitJob']!.handler;
  for (const maxFee of ['1e3', '-5', '', '0x10', '1'.repeat(50)]) {
    const ctx = { kv: new CacheKV(state), signer: alice.address, height: 10n, now: Date.now(), seed: new Uint8Array(32), genesis: g.genesis, txEvents: [], feed: [] } as unknown as MsgContext;
    const e = await t.throwsAsync(submit(ctx, { creator: alice.address, bucketName: 'data', objectName: 'input.csv', moduleBucket: 'data', moduleObject: 'job.wasm', moduleHash: 'ab'.repeat(32), fuelLimit: '1000', maxFee }));
    t.is((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT', `maxFee "${maxFee}"`);
  }
});

test('jobs under data offers conserve money: data fees escrowed with compute fees, held, paid to the owner or returned, over a seeded random run', async (t) => {
  const { alice, bob, carol, sps, sum, balance, receipt, base, clock } = await setup(t);
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const before = await sum();
  // Bob reads the module (a get on it) but holds no execute on the data: the offer is his permission.
  await alice.putPolicy({ principal: { type: 'account', address: bob.address }, bucket: 'data', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  const { offerId } = await alice.createOffer({ bucket: 'data', audience: 'accounts', buyers: [bob.address], pricePerJob: BigInt(1 + rand(10_000)), pricePerGiB: BigInt(rand(1_000_000)), maxOutputBytes: 50n });
  let paidToOwner = 0n;
  for (let i = 0; i < 12; i++) {
    const { jobId } = await bob.submitJob({ ...base, maxFee: BigInt(1 + rand(100_000)), offerId, ...(rand(2) ? { cheapest: true } : {}) });
    const j = await bob.getJob(jobId);
    const what = rand(4);
    if (what === 0) {
      clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1;
      await bob.cancelJob(jobId);
    } else {
      const rejected = what === 1;
      await sps[j.executorSpId - 1]!.settleJob({ jobId, ...receipt(j, j.executorSpId, rejected ? { state: 'rejected', code: 'ERR_JOB_FORBIDDEN_IMPORT', exitCode: -1, fuelUsed: '0', outputHash: EMPTY_HASH, outputBytes: 0 } : { fuelUsed: String(rand(500)) }) });
      if (!rejected) paidToOwner += j.dataFee!;
    }
    t.is(await sum(), before, `conserved after job ${i}`);
  }
  const ownerBefore = await balance(alice.address);
  clock.now += HOUR + 1000;
  await carol.transfer(bob.address, 1n);
  t.is(await balance(alice.address) - ownerBefore, paidToOwner, 'the owner received the data fee of every job that read the data');
  t.is(await balance(ESCROW), 0n);
  t.is(await sum(), before);
});
