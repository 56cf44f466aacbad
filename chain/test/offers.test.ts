// The market on chain: data offers (the offer is the permission; its data fee escrowed beside the
// compute fee, held for the dispute window, paid to the owner, returned when the module was
// refused or the receipt overturned; module list and output cap checked again at settlement),
// the choice of executor (named, cheapest, under a maximum price; the price recorded and
// charged), reassignment of a job its executor did not run in time, and recorded outputs.
// Money is conserved through a seeded random market.

import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { rng, testSeed } from '@insitu/test/random';
import { DEFAULT_COMPUTE_PARAMS } from '../src/state/modules/compute/records.ts';
import type { DatasetRunInfo, JobInfo } from '@insitu/protocol/chain';
import { computeChain } from './compute-fixture.ts';

const ESCROW = '0x00000000000000000000000000000000000e5c00';
const HOUR = 60 * 60_000;
const EMPTY_HASH = createHash('sha256').digest('hex');
const ALLOWED = 'ab'.repeat(32);
const OTHER = 'ef'.repeat(32);
/** Compute prices of providers 1..7: the primary (1) is not the cheapest of the group. */
const PRICES = ['50', '30', '10', '40', '20', '60', '70'];

async function setup(t: ExecutionContext) {
  const f = await computeChain(t, { computePrices: PRICES });
  const [owner, buyer, stranger] = f.accounts;
  await owner.createBucket({ name: 'data', primarySp: f.g.providers[0]!.address });
  await buyer.createBucket({ name: 'mine', primarySp: f.g.providers[0]!.address });
  await f.seal(owner, 'data', 'sales/2024.csv');
  await f.seal(owner, 'data', 'private/keys.csv');
  await f.seal(buyer, 'mine', 'job.wasm');
  const job = { bucket: 'data', object: 'sales/2024.csv', moduleBucket: 'mine', moduleObject: 'job.wasm', moduleHash: ALLOWED, fuelLimit: 1_000_000n };
  return { ...f, owner, buyer, stranger, job };
}

test('an offer is created only by the bucket owner with well-formed terms; bad terms are refused and change nothing', async (t) => {
  const { owner, buyer, code, sum, clock } = await setup(t);
  const before = await sum();
  const terms = { bucket: 'data', prefix: 'sales/', audience: 'anyone' as const, maxOutputBytes: 100n, pricePerJob: 1000n };
  t.is(await code(buyer.createOffer(terms)), 'ERR_PERMISSION_DENIED', 'not the owner');
  t.is(await code(owner.createOffer({ ...terms, bucket: 'nope' })), 'ERR_BUCKET_NOT_FOUND');
  t.is(await code(owner.createOffer({ ...terms, maxOutputBytes: 0n })), 'ERR_INVALID_ARGUMENT', 'an offer always caps the output');
  t.is(await code(owner.createOffer({ ...terms, modules: ['not-a-hash'] })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(owner.createOffer({ ...terms, audience: 'accounts' })), 'ERR_INVALID_ARGUMENT', 'listed accounts list someone');
  t.is(await code(owner.createOffer({ ...terms, audience: 'everyone' as 'anyone' })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(owner.createOffer({ ...terms, audience: 'group', groupId: 99n })), 'ERR_NOT_FOUND');
  t.is(await code(owner.createOffer({ ...terms, expiresAt: clock.now - 1 })), 'ERR_INVALID_ARGUMENT', 'already expired');
  t.deepEqual(await owner.listOffers(), [], 'no offer was made');
  t.true(await sum() === before);
  const { offerId } = await owner.createOffer({ ...terms, modules: [ALLOWED] });
  const offer = await buyer.getOffer(offerId);
  t.like(offer, { bucket: 'data', prefix: 'sales/', audience: 'anyone', modules: [ALLOWED], pricePerJob: 1000n, maxOutputBytes: 100n, removed: false });
  t.is((await buyer.listOffers({ bucket: 'data' })).length, 1);
  t.is(await code(buyer.removeOffer(offerId)), 'ERR_PERMISSION_DENIED', 'only its owner withdraws it');
  await owner.removeOffer(offerId);
  t.deepEqual(await buyer.listOffers(), [], 'a withdrawn offer is no longer listed');
  t.true((await buyer.getOffer(offerId)).removed, 'but kept for the jobs under it');
});

test('a buyer with only an offer runs an allowed module, pays the owner the offer price at the end of the window, and is refused other modules, other data, and after expiry', async (t) => {
  const { owner, buyer, stranger, sps, code, balance, receipt, job, clock, sum } = await setup(t);
  const before = await sum();
  t.is(await code(buyer.submitJob({ ...job, maxFee: 10n ** 12n })), 'ERR_PERMISSION_DENIED', 'no permission without an offer');
  const expiresAt = clock.now + 2 * HOUR;
  const { offerId } = await owner.createOffer({ bucket: 'data', prefix: 'sales/', audience: 'accounts', buyers: [buyer.address], modules: [ALLOWED], pricePerJob: 7000n, pricePerGiB: 1n << 30n, maxOutputBytes: 64n, expiresAt });
  // 1000 bytes at one base unit per byte-of-a-GiB: 1000 on top of the 7000 per job.
  const dataFee = 7000n + 1000n;
  t.is(await code(buyer.submitJob({ ...job, moduleHash: OTHER, maxFee: 10n ** 12n, offerId })), 'ERR_PERMISSION_DENIED', 'a module outside the offer');
  t.is(await code(buyer.submitJob({ ...job, object: 'private/keys.csv', maxFee: 10n ** 12n, offerId })), 'ERR_PERMISSION_DENIED', 'data outside the offer');
  t.is(await code(stranger.submitJob({ ...job, maxFee: 10n ** 12n, offerId })), 'ERR_PERMISSION_DENIED', 'not a listed buyer');
  t.is(await code(buyer.submitJob({ ...job, maxFee: 10n ** 12n, offerId: 999n })), 'ERR_NOT_FOUND');
  // An offer to a group: its members buy, others do not.
  const { groupId } = await owner.createGroup('analysts');
  await owner.updateGroupMembers('analysts', { add: [{ member: stranger.address }] });
  const { offerId: toGroup } = await owner.createOffer({ bucket: 'data', audience: 'group', groupId, maxOutputBytes: 10n });
  t.is(await code(buyer.submitJob({ ...job, maxFee: 10n ** 12n, offerId: toGroup })), 'ERR_PERMISSION_DENIED', 'not a member');
  await buyer.putPolicy({ principal: { type: 'account', address: stranger.address }, bucket: 'mine', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  const { jobId: byMember } = await stranger.submitJob({ ...job, maxFee: 10n ** 12n, offerId: toGroup });
  t.is((await buyer.getJob(byMember)).offerId, toGroup);
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1;
  await stranger.cancelJob(byMember);
  t.is(await code(buyer.submitJob({ ...job, maxFee: 10n ** 12n, offerId, mode: 'map', pieceIndex: 0 })), 'ERR_INVALID_ARGUMENT', 'offers cover whole-object jobs');
  t.is(await balance(ESCROW), 0n, 'nothing escrowed by the refusals');

  const maxFee = 10n ** 6n;
  const { jobId } = await buyer.submitJob({ ...job, maxFee, offerId, maxOutputBytes: 10_000 });
  const submitted = await buyer.getJob(jobId);
  t.is(submitted.outputCap, 64n, 'the offer caps what the buyer asked for');
  t.is(submitted.dataFee, dataFee);
  t.is(await balance(ESCROW), maxFee + dataFee, 'compute and data fees escrowed together');
  // The chain checks the offer's cap again: a receipt above it is refused.
  t.is(await code(sps[0]!.settleJob({ jobId, ...receipt(submitted, 1, { outputBytes: 65 }) })), 'ERR_INVALID_RECEIPT');
  const buyerBefore = await balance(buyer.address);
  await sps[0]!.settleJob({ jobId, ...receipt(submitted, 1, { fuelUsed: '100', outputBytes: 64 }) });
  const fee = 100n * 50n;
  t.is(await balance(buyer.address) - buyerBefore, maxFee - fee, 'the unused compute fee came back at once');
  t.is(await balance(ESCROW), fee + dataFee, 'both fees held for the dispute window');
  const ownerBefore = await balance(owner.address);
  clock.now += HOUR + 1000;
  await stranger.transfer(stranger.address, 1n);
  t.is(await balance(owner.address) - ownerBefore, dataFee, 'the owner is paid the offer price when the window closes');
  t.is(await balance(ESCROW), 0n);
  t.is(await buyer.getOffer(offerId).then((o) => o.removed), false);
  clock.now = expiresAt + 1;
  t.is(await code(buyer.submitJob({ ...job, maxFee, offerId })), 'ERR_PERMISSION_DENIED', 'an expired offer sells nothing');
  t.is(await sum(), before, 'money conserved');
});

test('a refused module returns the data fee; an overturned receipt returns both fees; a cancelled job returns everything', async (t) => {
  const { owner, buyer, stranger, sps, code, balance, receipt, job, clock, sum } = await setup(t);
  const before = await sum();
  const { offerId } = await owner.createOffer({ bucket: 'data', audience: 'anyone', pricePerJob: 5000n, maxOutputBytes: 100n });
  const run = async () => buyer.getJob((await buyer.submitJob({ ...job, maxFee: 10n ** 6n, offerId })).jobId);
  const rejected = await run();
  await sps[0]!.settleJob({ jobId: rejected.id, ...receipt(rejected, 1, { state: 'rejected', code: 'ERR_JOB_FORBIDDEN_IMPORT', exitCode: -1, fuelUsed: '0', outputHash: EMPTY_HASH, outputBytes: 0 }) });
  t.is((await buyer.getJob(rejected.id)).dataFee, 0n, 'no data fee for a module the node refused');
  const rejectFee = (await buyer.getJob(rejected.id)).fee;
  t.is(await balance(ESCROW), rejectFee);

  const disputed = await run();
  await sps[0]!.settleJob({ jobId: disputed.id, ...receipt(disputed, 1) });
  const { verifiers } = await stranger.disputeJob(disputed.id).then(async () => (await buyer.getJob(disputed.id)).dispute!);
  const buyerBefore = await balance(buyer.address);
  for (const v of verifiers) {
    if ((await buyer.getJob(disputed.id)).dispute!.outcome !== 'open') break;
    await sps[v - 1]!.verifyJob({ jobId: disputed.id, ...receipt(disputed, v, { outputHash: '11'.repeat(32) }) });
  }
  const after = await buyer.getJob(disputed.id);
  t.is(after.status, 'overturned');
  t.is(await balance(buyer.address) - buyerBefore, after.fee + 5000n, 'compute and data fees both back to the buyer');

  const lost = await run();
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1000;
  const escrowBefore = await balance(ESCROW);
  await buyer.cancelJob(lost.id);
  t.is(escrowBefore - await balance(ESCROW), 10n ** 6n + 5000n, 'the cancel returned the max fee and the data fee');
  const ownerBefore = await balance(owner.address);
  clock.now += HOUR + 1000;
  await stranger.transfer(stranger.address, 1n);
  t.is(await balance(owner.address), ownerBefore, 'the owner was paid for none of them');
  t.is(await balance(ESCROW), 0n);
  t.is(await code(owner.removeOffer(999n)), 'ERR_NOT_FOUND');
  t.is(await sum(), before, 'money conserved');
});

test('the chain picks the cheapest holder of the input, or one within a maximum price, records its price and charges it', async (t) => {
  const { buyer, owner, sps, code, receipt, job, balance } = await setup(t);
  const { offerId } = await owner.createOffer({ bucket: 'data', audience: 'anyone', maxOutputBytes: 1000n });
  const gvg = await buyer.getGlobalVirtualGroup((await buyer.headObject('data', 'sales/2024.csv')).gvgId);
  const holders = [gvg.primarySpId, ...gvg.secondarySpIds];
  const cheapestPrice = holders.map((id) => BigInt(PRICES[id - 1]!)).reduce((a, b) => (b < a ? b : a));
  const submit = (extra: Record<string, unknown>) => buyer.submitJob({ ...job, maxFee: 10n ** 9n, offerId, ...extra }).then((r) => buyer.getJob(r.jobId));
  const plain = await submit({});
  t.is(plain.executorSpId, 1, 'by default the primary, which holds the input whole');
  const cheapest = await submit({ cheapest: true });
  t.is(BigInt(PRICES[cheapest.executorSpId - 1]!), cheapestPrice);
  t.true(holders.includes(cheapest.executorSpId));
  t.is(cheapest.computePrice, cheapestPrice, 'the chain records the winning price');
  const capped = await submit({ maxComputePrice: 45n });
  t.true(holders.includes(capped.executorSpId) && BigInt(PRICES[capped.executorSpId - 1]!) <= 45n, 'a holder within the maximum price');
  t.is(await code(submit({ maxComputePrice: 1n })), 'ERR_PROVIDER_NOT_FOUND', 'nobody that cheap');
  t.is(await code(submit({ executorSpId: 1, maxComputePrice: 45n })), 'ERR_INVALID_ARGUMENT', 'the named provider charges more than the maximum');
  t.is(await code(submit({ maxComputePrice: 'x' as unknown as bigint })), 'ERR_INVALID_ARGUMENT');
  const sp = cheapest.executorSpId;
  const escrow = await balance(ESCROW);
  await sps[sp - 1]!.settleJob({ jobId: cheapest.id, ...receipt(cheapest, sp, { fuelUsed: '1000' }) });
  t.is((await buyer.getJob(cheapest.id)).fee, 1000n * cheapestPrice, 'fuel × the recorded price');
  t.is(await balance(ESCROW), escrow - 10n ** 9n + 1000n * cheapestPrice);
  // A provider lowers its price: the next cheapest choice is that provider; submitted jobs keep theirs.
  const last = holders.at(-1)!;
  await sps[last - 1]!.setComputePrice(1n);
  t.is((await submit({ cheapest: true })).executorSpId, last);
  t.is((await buyer.getJob(capped.id)).computePrice, capped.computePrice);
  t.is(await code(buyer.setComputePrice(1n)), 'ERR_PROVIDER_NOT_FOUND', 'only providers set compute prices');
  t.is(await code(sps[0]!.setComputePrice(-1n)), 'ERR_INVALID_ARGUMENT');
  const stats = await buyer.computeStats();
  t.is(stats.find((s) => s.spId === sp)!.done, 1, 'jobs done per provider');
  t.is(stats.find((s) => s.spId === 1)!.load, 1, 'load: jobs waiting on a provider');
  t.is(stats.find((s) => s.spId === last)!.computePrice, '1');
});

test('a job its executor does not run in time is reassigned to another holder; the old executor can no longer settle it', async (t) => {
  const { buyer, stranger, owner, sps, code, receipt, job, clock } = await setup(t);
  const { offerId } = await owner.createOffer({ bucket: 'data', audience: 'anyone', maxOutputBytes: 1000n });
  const { jobId } = await buyer.submitJob({ ...job, maxFee: 10n ** 9n, offerId, cheapest: true });
  const first = await buyer.getJob(jobId);
  t.is(await code(buyer.reassignJob({ jobId })), 'ERR_INVALID_ARGUMENT', 'not before its deadline');
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1000;
  t.is(await code(stranger.reassignJob({ jobId })), 'ERR_PERMISSION_DENIED');
  t.is(await code(buyer.reassignJob({ jobId, executorSpId: first.executorSpId })), 'ERR_INVALID_ARGUMENT', 'not back to the one that failed');
  // Without a limit it keeps its price as the limit: raise it so another holder qualifies.
  const moved = await buyer.reassignJob({ jobId, maxComputePrice: 100n });
  t.not(moved.executorSpId, first.executorSpId);
  const now = await buyer.getJob(jobId);
  t.deepEqual(now.reassignedFrom, [first.executorSpId]);
  t.is(now.status, 'submitted');
  t.is(await code(sps[first.executorSpId - 1]!.settleJob({ jobId, ...receipt(now, first.executorSpId) })), 'ERR_PERMISSION_DENIED', 'the old executor is out');
  await sps[moved.executorSpId - 1]!.ackJob(jobId);
  await sps[moved.executorSpId - 1]!.settleJob({ jobId, ...receipt(now, moved.executorSpId) });
  t.is((await buyer.getJob(jobId)).fee, 100n * moved.computePrice);
});

test('a stored object is recorded as a job\'s output only when it is the submitter\'s, sealed and matches the receipt', async (t) => {
  const { owner, buyer, sps, code, receipt, job, seal } = await setup(t);
  const { offerId } = await owner.createOffer({ bucket: 'data', audience: 'anyone', maxOutputBytes: 1000n });
  const output = randomBytes(300);
  const outputHash = createHash('sha256').update(output).digest('hex');
  const submitted = await buyer.getJob((await buyer.submitJob({ ...job, maxFee: 10n ** 9n, offerId })).jobId);
  t.is(await code(buyer.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'job.wasm' })), 'ERR_INVALID_ARGUMENT', 'not settled yet');
  await sps[0]!.settleJob({ jobId: submitted.id, ...receipt(submitted, 1, { outputHash, outputBytes: output.length }) });
  await seal(buyer, 'mine', 'result.bin', output);
  await seal(buyer, 'mine', 'forged.bin', randomBytes(300));
  t.is(await code(buyer.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'forged.bin' })), 'ERR_CHECKSUM_MISMATCH', 'other bytes of the same size');
  t.is(await code(buyer.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'job.wasm' })), 'ERR_SIZE_MISMATCH');
  t.is(await code(owner.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'result.bin' })), 'ERR_PERMISSION_DENIED', 'only the submitter');
  t.is(await buyer.provenance('mine', 'result.bin'), null);
  await buyer.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'result.bin' });
  const p = (await owner.provenance('mine', 'result.bin'))!;
  t.like(p, { jobId: submitted.id, checked: true, moduleHash: ALLOWED, input: { bucket: 'data', object: 'sales/2024.csv' } });
  t.is(p.input.checksums.length, 7);
  t.is(await code(buyer.recordJobOutput({ jobId: submitted.id, bucket: 'mine', object: 'result.bin' })), 'ERR_INVALID_ARGUMENT', 'recorded once');
});

/** What the escrow account must hold by the records: live jobs' escrows, held fees, open disputes' bonds and open runs' pools. */
async function escrowByRecords(kv: { list<T>(p: string): Promise<[string, T][]> }): Promise<bigint> {
  let total = 0n;
  for (const [, j] of await kv.list<JobInfo>('job/')) {
    if (j.status === 'submitted' || j.status === 'running') total += j.maxFee + (j.dataFee ?? 0n);
    else if (j.releaseAt !== 0) total += j.fee + (j.dataFee ?? 0n);
    if (j.dispute?.outcome === 'open') total += j.dispute.bond;
  }
  for (const [, r] of await kv.list<DatasetRunInfo>('job-run/')) if (r.status === 'open') total += r.available;
  return total;
}

test('a seeded random market conserves money: offers, buyers, executors, refusals, disputes, cancels, a dataset run\'s jobs and the windows closing', async (t) => {
  const { owner, buyer, stranger, sps, receipt, job, clock, sum, balance, kv } = await setup(t);
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const before = await sum();
  const offers: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    offers.push((await owner.createOffer({ bucket: 'data', audience: 'anyone', pricePerJob: BigInt(rand(10_000)), pricePerGiB: BigInt(rand(10) * 1_000_000), maxOutputBytes: 100n })).offerId);
  }
  // Some jobs draw from one dataset run's escrow (closed part-way: its jobs then refund the buyer directly).
  const mapFee = 100_000n;
  const { runId } = await buyer.openRun({ bucket: 'data', prefix: 'sales/', moduleHash: ALLOWED, mapFee, spareMaps: 20, offerId: offers[0]! });
  for (let i = 0; i < 14; i++) {
    if (i === 9) await buyer.closeRun(runId);
    const inRun = i < 9 && rand(2) === 1;
    const { jobId } = await buyer.submitJob({ ...job, ...(inRun ? { maxFee: mapFee, offerId: offers[0]!, runId } : { maxFee: BigInt(1 + rand(100_000)), offerId: offers[rand(3)]! }), ...(rand(2) ? { cheapest: true } : {}) });
    const j = await buyer.getJob(jobId);
    const sp = sps[j.executorSpId - 1]!;
    const what = rand(5);
    if (what === 0) {
      clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1;
      await buyer.cancelJob(jobId);
    } else if (what === 1) {
      await sp.settleJob({ jobId, ...receipt(j, j.executorSpId, { state: 'rejected', code: 'ERR_JOB_FORBIDDEN_IMPORT', exitCode: -1, fuelUsed: '0', outputHash: EMPTY_HASH, outputBytes: 0 }) });
    } else {
      await sp.settleJob({ jobId, ...receipt(j, j.executorSpId, { fuelUsed: String(rand(3000)) }) });
      if (what === 2 && (await buyer.getJob(jobId)).releaseAt) {
        await stranger.disputeJob(jobId);
        const d = (await buyer.getJob(jobId)).dispute!;
        for (const v of d.verifiers) {
          if ((await buyer.getJob(jobId)).dispute!.outcome !== 'open') break;
          if (rand(3)) await sps[v - 1]!.verifyJob({ jobId, ...receipt(j, v, rand(2) ? {} : { outputHash: '22'.repeat(32) }) });
        }
      }
    }
    t.is(await sum(), before, `conserved after job ${i}`);
    t.is(await balance(ESCROW), await escrowByRecords(kv), `the escrow holds what the jobs and the run say after job ${i}`);
    if (rand(4) === 0) clock.now += rand(2) * HOUR;
  }
  clock.now += 2 * HOUR;
  await stranger.transfer(stranger.address, 1n);
  t.is(await balance(ESCROW), 0n, 'every held fee paid or returned once the windows closed');
  t.is(await sum(), before, 'the sum of all balances is unchanged');
});

test('a dataset reduce names only the submitter\'s own successful maps, once each, recorded against the first map\'s input, capped by the maps\' caps', async (t) => {
  const { owner, buyer, stranger, sps, code, receipt, job } = await setup(t);
  const { offerId } = await owner.createOffer({ bucket: 'data', audience: 'anyone', maxOutputBytes: 500n });
  const settled = async (who: typeof buyer, object: string): Promise<bigint> => {
    const j = await who.getJob((await who.submitJob({ ...job, object, maxFee: 10n ** 9n, offerId })).jobId);
    await sps[0]!.settleJob({ jobId: j.id, ...receipt(j, 1) });
    return j.id;
  };
  await buyer.putPolicy({ principal: { type: 'account', address: stranger.address }, bucket: 'mine', object: 'job.wasm', statements: [{ effect: 'allow', actions: ['get-object'] }] });
  const a = await settled(buyer, 'sales/2024.csv');
  const b = await settled(buyer, 'sales/2024.csv');
  const theirs = await settled(stranger, 'sales/2024.csv');
  const { jobId: pending } = await buyer.submitJob({ ...job, maxFee: 10n ** 9n, offerId });
  const gather = { ...job, moduleHash: OTHER, maxFee: 10n ** 9n, mode: 'gather' as const };
  t.is(await code(buyer.submitJob({ ...gather, mapJobs: [a, theirs] })), 'ERR_INVALID_ARGUMENT', 'another submitter\'s job');
  t.is(await code(buyer.submitJob({ ...gather, mapJobs: [a, pending] })), 'ERR_INVALID_ARGUMENT', 'a map not settled');
  t.is(await code(buyer.submitJob({ ...gather, mapJobs: [a, a] })), 'ERR_INVALID_ARGUMENT', 'a map twice');
  t.is(await code(buyer.submitJob({ ...gather, mapJobs: [] })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(buyer.submitJob({ ...gather, object: 'private/keys.csv', mapJobs: [a, b] })), 'ERR_INVALID_ARGUMENT', 'recorded against the first map\'s input');
  t.is(await code(buyer.submitJob({ ...gather, mapJobs: [a, b], offerId })), 'ERR_INVALID_ARGUMENT', 'no offer: it reads only the maps\' outputs');
  const { jobId } = await buyer.submitJob({ ...gather, mapJobs: [a, b], maxOutputBytes: 10_000 });
  const g = await buyer.getJob(jobId);
  t.is(g.mode, 'gather');
  t.deepEqual(g.mapJobs, [a, b]);
  t.is(g.outputCap, 500n, 'the maps\' cap bounds what the reduce returns');
});

/** What one transaction costs its sender (gas × price). */
const TX = 120_000n * 5_000_000_000n;

/** Buyer's bucket of three objects under sales/ and an offer on them; a run's numbers. */
async function runSetup(t: ExecutionContext) {
  const s = await setup(t);
  await s.seal(s.owner, 'data', 'sales/2025.csv');
  await s.seal(s.owner, 'data', 'sales/2026.csv');
  const { offerId } = await s.owner.createOffer({ bucket: 'data', prefix: 'sales/', audience: 'anyone', pricePerJob: 1000n, maxOutputBytes: 500n });
  return { ...s, offerId, objects: ['sales/2024.csv', 'sales/2025.csv', 'sales/2026.csv'], mapFee: 10n ** 6n, reduceFee: 2n * 10n ** 6n };
}

test('a dataset run is one escrow: its maps, a retry and its reduce draw from it, change and cancels go back to it, the reduce ends it with the rest refunded, and money is conserved', async (t) => {
  const { buyer, stranger, owner, sps, code, balance, receipt, job, clock, sum, seal, offerId, objects, mapFee, reduceFee } = await runSetup(t);
  const buyerStart = await balance(buyer.address);
  const open = { bucket: 'data', prefix: 'sales/', moduleHash: ALLOWED, reduceModuleHash: OTHER, mapFee, reduceFee, spareMaps: 1, offerId };
  const { runId, escrowed } = await buyer.openRun(open);
  // Three maps and one spare at the map fee, the reduce's fee, and the offer's 1000 per object read (the spare's too).
  t.is(escrowed, mapFee * 4n + reduceFee + 1000n * 4n);
  t.is(buyerStart - await balance(buyer.address), escrowed + TX, 'one move from the buyer');
  t.is(await balance(ESCROW), escrowed);
  let { run } = await buyer.getRun(runId);
  t.deepEqual(run.objects, objects, 'one map per sealed object under the prefix, in name order');
  t.like(run, { status: 'open', available: escrowed, escrowed, dataFees: 4000n, spareMaps: 1 });
  await seal(owner, 'data', 'sales/late.csv');
  // (Sealing locks storage fees in the owner's payment stream: the sum is taken after it.)
  const before = await sum();

  const map = (object: string, extra: Record<string, unknown> = {}) => buyer.submitJob({ ...job, object, maxFee: mapFee, offerId, runId, ...extra }).then((r) => buyer.getJob(r.jobId));
  t.is(await code(map('sales/late.csv')), 'ERR_INVALID_ARGUMENT', 'an object sealed after the run opened is not one of its objects');
  t.is(await code(map(objects[0]!, { moduleHash: OTHER })), 'ERR_INVALID_ARGUMENT', 'the offer allows any module, but the run\'s maps run its module');
  t.is(await code(stranger.submitJob({ ...job, maxFee: mapFee, offerId, runId })), 'ERR_PERMISSION_DENIED', 'another account draws nothing from the run');
  t.is(await code(map(objects[0]!, { runId: 999n })), 'ERR_NOT_FOUND');
  t.is(await code(map(objects[0]!, { offerId: 0n })), 'ERR_PERMISSION_DENIED', 'outside the offer the buyer has no permission');
  let spent = await balance(buyer.address);
  const [a, b, c] = [await map(objects[0]!), await map(objects[1]!), await map(objects[2]!)];
  t.is(spent - await balance(buyer.address), 3n * TX, 'the maps took nothing from the buyer but their transactions\' gas');
  spent = await balance(buyer.address);
  t.is(a.runId, runId);
  ({ run } = await buyer.getRun(runId));
  t.is(run.available, escrowed - 3n * (mapFee + 1000n));
  // A map settles: its change goes back to the run, not to the buyer.
  await sps[0]!.settleJob({ jobId: a.id, ...receipt(a, 1, { fuelUsed: '100' }) });
  t.is(await balance(buyer.address), spent);
  ({ run } = await buyer.getRun(runId));
  t.is(run.available, escrowed - 2n * (mapFee + 1000n) - (5000n + 1000n), 'all but the fee (fuel 100 × price 50) and the data fee came back to the run');
  // b's executor does not run it: after the deadline it is reassigned (its escrow stays); c's is
  // cancelled (back to the run) and retried on the spare.
  clock.now += DEFAULT_COMPUTE_PARAMS.cancelUnackedAfterMs + 1000;
  const moved = await buyer.reassignJob({ jobId: b.id, maxComputePrice: 100n });
  await sps[moved.executorSpId - 1]!.settleJob({ jobId: b.id, ...receipt(await buyer.getJob(b.id), moved.executorSpId) });
  await buyer.cancelJob(c.id);
  t.is(spent - await balance(buyer.address), 2n * TX, 'a cancelled map\'s escrow goes back to the run, not the buyer');
  const c2 = await map(objects[2]!);
  // What is left is a's and b's change and the spare: a map asking for three map fees would eat into the reduce's fee.
  t.is(await code(map(objects[2]!, { maxFee: 3n * mapFee })), 'ERR_INSUFFICIENT_BALANCE', 'no map may eat into the reduce\'s fee');
  await sps[0]!.settleJob({ jobId: c2.id, ...receipt(c2, 1) });
  t.is(await sum(), before, 'conserved while the run is open');

  const reduce = (mapJobs: bigint[], extra: Record<string, unknown> = {}) => buyer.submitJob({ ...job, moduleHash: OTHER, mode: 'gather', mapJobs, maxFee: reduceFee, runId, ...extra }).then((r) => buyer.getJob(r.jobId));
  t.is(await code(reduce([b.id, a.id, c2.id])), 'ERR_INVALID_ARGUMENT', 'maps out of object order');
  t.is(await code(reduce([a.id, b.id])), 'ERR_INVALID_ARGUMENT', 'a map missing');
  t.is(await code(reduce([a.id, b.id, c.id])), 'ERR_INVALID_ARGUMENT', 'a cancelled map');
  t.is(await code(reduce([a.id, b.id, c2.id], { moduleHash: ALLOWED })), 'ERR_INVALID_ARGUMENT', 'not the run\'s reduce module');
  const r = await reduce([a.id, b.id, c2.id]);
  const available = (await buyer.getRun(runId)).run.available;
  spent = await balance(buyer.address);
  await sps[0]!.settleJob({ jobId: r.id, ...receipt(r, 1, { fuelUsed: '10', outputHash: '5e'.repeat(32) }) });
  ({ run } = await buyer.getRun(runId));
  t.like(run, { status: 'done', resultJob: r.id, outputHash: '5e'.repeat(32), exitState: 'succeeded', available: 0n });
  t.is(run.refunded, available + reduceFee - 500n, 'the reduce\'s change and everything no job used came back');
  t.is(await balance(buyer.address) - spent, run.refunded);
  const { jobs } = await buyer.getRun(runId);
  t.deepEqual(jobs.map((j) => j.id), [a.id, b.id, c.id, c2.id, r.id], 'every job of the run, with its receipt');
  t.true(jobs.filter((j) => j.status === 'settled').every((j) => j.receipt !== '' && j.receiptSignature !== ''));
  t.is(await code(map(objects[0]!)), 'ERR_INVALID_ARGUMENT', 'an ended run pays for nothing more');
  t.is(await code(buyer.closeRun(runId)), 'ERR_INVALID_ARGUMENT');

  // Held fees reach the providers and the owner when the windows close; the rest was refunded.
  const ownerBefore = await balance(owner.address);
  clock.now += 2 * HOUR;
  await stranger.transfer(stranger.address, 1n);
  t.is(await balance(owner.address) - ownerBefore, 3000n, 'the owner is paid for the three maps that read its data');
  t.is(await balance(ESCROW), 0n);
  t.is(await sum(), before, 'money conserved');
});

test('a dataset run is refused bad terms and changes nothing; its submitter funds it and closes it; an overturned reduce after the run ended refunds the submitter', async (t) => {
  const { buyer, stranger, owner, sps, code, balance, receipt, job, sum, offerId, objects, mapFee, reduceFee } = await runSetup(t);
  const before = await sum();
  const buyerStart = await balance(buyer.address);
  const open = { bucket: 'data', prefix: 'sales/', moduleHash: ALLOWED, reduceModuleHash: OTHER, mapFee, reduceFee, offerId };
  t.is(await code(buyer.openRun({ ...open, bucket: 'nope' })), 'ERR_BUCKET_NOT_FOUND');
  t.is(await code(buyer.openRun({ ...open, prefix: 'nothing/' })), 'ERR_OBJECT_NOT_FOUND');
  t.is(await code(buyer.openRun({ ...open, moduleHash: 'x' })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(buyer.openRun({ ...open, reduceModuleHash: 'y' })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(buyer.openRun({ ...open, mapFee: 0n })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(buyer.openRun({ ...open, reduceFee: 0n })), 'ERR_INVALID_ARGUMENT', 'a reduce needs a fee');
  t.is(await code(buyer.openRun({ ...open, reduceModuleHash: '' })), 'ERR_INVALID_ARGUMENT', 'no reduce, no reduce fee');
  t.is(await code(buyer.openRun({ ...open, spareMaps: 5000 })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(buyer.openRun({ ...open, prefix: '' })), 'ERR_PERMISSION_DENIED', 'private/keys.csv is not on offer');
  t.is(await code(buyer.openRun({ ...open, offerId: 999n })), 'ERR_NOT_FOUND');
  t.is(await code(buyer.openRun({ ...open, mapFee: 10n ** 30n })), 'ERR_INSUFFICIENT_BALANCE');
  t.is(buyerStart - await balance(buyer.address), 11n * TX, 'nothing escrowed by the refusals (each paid its gas)');
  t.is(await balance(ESCROW), 0n);

  const { runId, escrowed } = await buyer.openRun(open);
  t.is(await code(stranger.fundRun(runId, 10n)), 'ERR_PERMISSION_DENIED');
  t.is(await code(buyer.fundRun(runId, 0n)), 'ERR_INVALID_ARGUMENT');
  await buyer.fundRun(runId, 5000n);
  t.like((await buyer.getRun(runId)).run, { escrowed: escrowed + 5000n, available: escrowed + 5000n });
  const maps = [];
  for (const object of objects) {
    const m = await buyer.getJob((await buyer.submitJob({ ...job, object, maxFee: mapFee, offerId, runId })).jobId);
    await sps[0]!.settleJob({ jobId: m.id, ...receipt(m, 1) });
    maps.push(m.id);
  }
  const { jobId } = await buyer.submitJob({ ...job, moduleHash: OTHER, mode: 'gather', mapJobs: maps, maxFee: reduceFee, runId });
  const r = await buyer.getJob(jobId);
  await sps[0]!.settleJob({ jobId, ...receipt(r, 1, { fuelUsed: '1000' }) });
  t.is((await buyer.getRun(runId)).run.status, 'done');
  // The reduce's receipt is wrong: the verifiers overturn it, and its fee goes back to the buyer (the run has ended).
  await stranger.disputeJob(jobId);
  const buyerBefore = await balance(buyer.address);
  for (const v of (await buyer.getJob(jobId)).dispute!.verifiers) {
    if ((await buyer.getJob(jobId)).dispute!.outcome !== 'open') break;
    await sps[v - 1]!.verifyJob({ jobId, ...receipt(r, v, { fuelUsed: '1000', outputHash: '12'.repeat(32) }) });
  }
  const overturned = await buyer.getJob(jobId);
  t.is(overturned.status, 'overturned');
  t.is(await balance(buyer.address) - buyerBefore, overturned.fee, 'the reduce\'s fee came back to the submitter');
  t.is(await sum(), before, 'conserved through the dispute');

  // A run closed by its submitter returns what no job holds; a job still holding its escrow refunds the submitter directly.
  const second = await buyer.openRun({ ...open, reduceModuleHash: '', reduceFee: 0n });
  const pending = await buyer.getJob((await buyer.submitJob({ ...job, maxFee: mapFee, offerId, runId: second.runId })).jobId);
  const third = await buyer.openRun(open);
  t.is(await code(buyer.submitJob({ ...job, moduleHash: OTHER, mode: 'gather', mapJobs: maps, maxFee: reduceFee, runId: third.runId })), 'ERR_INVALID_ARGUMENT', 'a reduce names the maps of its own run only');
  t.is(await code(buyer.submitJob({ ...job, moduleHash: OTHER, mode: 'gather', mapJobs: maps, maxFee: reduceFee, runId: second.runId })), 'ERR_INVALID_ARGUMENT', 'a run without a reduce has none');
  await buyer.closeRun(third.runId);
  t.is(await code(stranger.closeRun(second.runId)), 'ERR_PERMISSION_DENIED');
  t.is(await code(buyer.closeRun(999n)), 'ERR_NOT_FOUND');
  t.is(await code(buyer.fundRun(999n, 1n)), 'ERR_NOT_FOUND');
  t.is(await code(buyer.getRun(999n)), 'ERR_NOT_FOUND');
  t.is(await code(buyer.fundRun(second.runId, 'lots' as unknown as bigint)), 'ERR_INVALID_ARGUMENT');
  const { refund } = await buyer.closeRun(second.runId);
  t.is(refund, second.escrowed - mapFee - 1000n);
  t.is((await buyer.getRun(second.runId)).run.status, 'closed');
  await sps[0]!.settleJob({ jobId: pending.id, ...receipt(pending, 1) });
  t.is(await sum(), before, 'money conserved');
  void owner;
});
