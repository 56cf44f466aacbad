// Listings that read an index, not every record: one account's jobs among many others', page by
// page; the providers' job counters against a count of every job; a group's objects and a
// bucket's object pages with their cursors; offers in force by owner, bucket or all.

import test from 'ava';
import { createHash } from 'node:crypto';
import { signDigest, toHex, receiptDigest, type JobReceipt } from '@insitu/protocol';
import { createChainApp } from '../src/state/index.ts';
import type { JobRecord } from '../src/state/modules/compute.ts';
import { testGenesis, tempDir, tx, type TestKey } from './helpers.ts';
import type { DecodedTx } from '../src/state/types.ts';

type Msg = { typeUrl: string; value: Record<string, unknown> };

async function setup(t: Parameters<typeof tempDir>[0]) {
  const g = testGenesis({ accounts: 4 });
  let clock = g.genesis.genesisTime;
  const app = createChainApp({ dataDir: await tempDir(t), genesis: g.genesis, now: () => clock });
  await app.init();
  t.teardown(() => app.close());
  const seq = new Map<string, bigint>();
  const signed = (k: TestKey, msgs: Msg[]): DecodedTx => {
    const s = seq.get(k.address) ?? 0n;
    seq.set(k.address, s + 1n);
    return tx(k.address, s, msgs);
  };
  const block = async (txs: DecodedTx[]): Promise<void> => {
    clock += 1000;
    const r = await app.produceBlock(txs);
    for (const x of r.results) if (x.code !== 0) throw new Error(x.log);
  };
  const sp1 = g.providers[0]!;
  const bucket = (k: TestKey, name: string): Msg => ({ typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: k.address, bucketName: name, visibility: 2, paymentAddress: '', primarySpAddress: sp1.address, chargedReadQuota: '0' } });
  const emptyObject = (k: TestKey, b: string, name: string): Msg => ({
    typeUrl: '/greenfield.storage.MsgCreateObject',
    value: { creator: k.address, bucketName: b, objectName: name, payloadSize: '0', visibility: 0, contentType: 'text/plain', expectChecksums: Array.from({ length: 7 }, () => createHash('sha256').digest()), redundancyType: 0 },
  });
  const job = (k: TestKey, b: string): Msg => ({
    typeUrl: '/insitu.compute.MsgSubmitJob',
    value: { creator: k.address, bucketName: b, objectName: 'input', moduleBucket: b, moduleObject: 'module', moduleHash: 'ab'.repeat(32), args: [], maxFee: '1000', fuelLimit: '1000', executorSpId: 0, sideInputs: [], env: [], mode: '', pieceIndex: 0, mapJobs: [] },
  });
  const advance = (ms: number): void => {
    clock += ms;
  };
  return { g, app, signed, block, bucket, emptyObject, job, advance, sp1 };
}

test('an account\'s jobs come back newest first, page by page, and only its own, among many other accounts\' jobs; provider counters match a count of every job', async (t) => {
  const { g, app, signed, block, bucket, emptyObject, job, advance, sp1 } = await setup(t);
  const [probe, ...others] = g.accounts as [TestKey, ...TestKey[]];
  const all = [probe, ...others];
  await block(all.map((k, i) => signed(k, [bucket(k, `bucket-${i}`)])));
  await block(all.map((k, i) => signed(k, [emptyObject(k, `bucket-${i}`, 'input'), emptyObject(k, `bucket-${i}`, 'module')])));
  // 23 of the probe's jobs among 3 × 60 of others', interleaved in the same blocks.
  for (let round = 0; round < 6; round++) {
    const txs = others.map((k, i) => signed(k, Array.from({ length: 30 }, () => job(k, `bucket-${i + 1}`))));
    txs.splice(round % 3, 0, signed(probe, Array.from({ length: round === 5 ? 3 : 4 }, () => job(probe, 'bucket-0'))));
    await block(txs);
  }
  const page = async (req: Record<string, unknown>) => (await app.query('/insitu.compute.Query/Jobs', req)) as { jobs: JobRecord[]; nextStartAfter: bigint | null };

  const seen: JobRecord[] = [];
  let cursor: bigint | null = null;
  let pages = 0;
  do {
    const p = await page({ creator: probe.address.toLowerCase(), limit: 5, ...(cursor !== null ? { startAfter: cursor.toString() } : {}) });
    t.true(p.jobs.length <= 5, 'a page holds at most the limit');
    seen.push(...p.jobs);
    cursor = p.nextStartAfter;
    pages++;
  } while (cursor !== null && pages < 20);
  t.is(seen.length, 23, 'every one of the probe\'s jobs, once');
  t.true(seen.every((j) => j.creator.toLowerCase() === probe.address.toLowerCase()), 'no other account\'s job');
  t.deepEqual(seen.map((j) => j.id), [...seen.map((j) => j.id)].sort((a, b) => (a > b ? -1 : 1)), 'newest first');
  t.is(new Set(seen.map((j) => String(j.id))).size, 23);

  // Every job, paged the same way, is the sum of every account's.
  const everyJob: JobRecord[] = [];
  cursor = null;
  do {
    const p = await page({ limit: 50, ...(cursor !== null ? { startAfter: cursor.toString() } : {}) });
    everyJob.push(...p.jobs);
    cursor = p.nextStartAfter;
  } while (cursor !== null);
  t.is(everyJob.length, 23 + 3 * 6 * 30);
  t.deepEqual((await page({ creator: 'not-an-address' })).jobs, []);
  await t.throwsAsync(page({ limit: 'many' }), { code: 'ERR_INVALID_ARGUMENT' } as never);

  // The executor acknowledges some jobs; the submitters cancel some unacknowledged ones later.
  const acked = everyJob.slice(0, 40).map((j) => j.id);
  await block([signed(sp1, acked.map((id) => ({ typeUrl: '/insitu.compute.MsgAckJob', value: { operator: sp1.address, jobId: id.toString() } })))]);
  advance(3 * 60_000);
  const mine = seen.filter((j) => !acked.includes(j.id)).slice(0, 7).map((j) => j.id);
  await block([signed(probe, mine.map((id) => ({ typeUrl: '/insitu.compute.MsgCancelJob', value: { creator: probe.address, jobId: id.toString() } })))]);
  // The executor settles three of the jobs it runs: 100 fuel at its price of 5.
  const emptySha = createHash('sha256').digest('hex');
  const settle = (id: bigint): Msg => {
    const j = everyJob.find((x) => x.id === id)!;
    const r: JobReceipt = {
      jobId: id.toString(), executorSpId: 1, moduleHash: j.moduleHash, inputObjectId: j.objectId.toString(), inputChecksums: Array.from({ length: 7 }, () => emptySha),
      args: [], state: 'succeeded', code: null, exitCode: 0, fuelUsed: '100', outputHash: 'cd'.repeat(32), outputBytes: 10, stderrTail: '',
    };
    return { typeUrl: '/insitu.compute.MsgSettleJob', value: { operator: sp1.address, jobId: id.toString(), receipt: JSON.stringify(r), receiptSignature: toHex(signDigest(receiptDigest(r), sp1.privateKey)) } };
  };
  await block([signed(sp1, acked.slice(0, 3).map(settle))]);
  // Two of the probe's jobs nobody started move to another holder of the input.
  const moved = seen.filter((j) => !acked.includes(j.id) && !mine.includes(j.id)).slice(0, 2).map((j) => j.id);
  await block([signed(probe, moved.map((id) => ({ typeUrl: '/insitu.compute.MsgReassignJob', value: { creator: probe.address, jobId: id.toString() } })))]);
  const movedTo = await Promise.all(moved.map(async (id) => ((await app.query('/insitu.compute.Query/Job', { id: id.toString() })).job as JobRecord).executorSpId));
  t.true(movedTo.every((sp) => sp !== 1), 'the reassigned jobs left provider 1');
  for (const [i, sp] of movedTo.entries()) t.true((await page({ executorSpId: sp, limit: 1000 })).jobs.some((j) => j.id === moved[i]), 'its new executor lists it');
  const byExecutor = (await page({ executorSpId: 1, limit: 1000 })).jobs;
  t.false(byExecutor.some((j) => moved.includes(j.id)), 'provider 1 no longer lists them');
  // Both filters: the probe's jobs on provider 1, a page of 4 at a time, all of them.
  const both: bigint[] = [];
  cursor = null;
  for (let n = 0; n < 20; n++) {
    const p = await page({ creator: probe.address, executorSpId: 1, limit: 4, ...(cursor !== null ? { startAfter: cursor.toString() } : {}) });
    both.push(...p.jobs.map((j) => j.id));
    cursor = p.nextStartAfter;
    if (cursor === null) break;
  }
  t.deepEqual(both, seen.filter((j) => !moved.includes(j.id)).map((j) => j.id), 'every one of the probe\'s jobs still on provider 1');
  const stats = ((await app.query('/insitu.compute.Query/ProviderStats', {})).providers as { spId: number; load: number; done: number; settled: number; earned: bigint }[]).find((s) => s.spId === 1)!;
  const current: JobRecord[] = [];
  cursor = null;
  do {
    const p = await page({ limit: 100, ...(cursor !== null ? { startAfter: cursor.toString() } : {}) });
    current.push(...p.jobs);
    cursor = p.nextStartAfter;
  } while (cursor !== null);
  const load = current.filter((j) => j.executorSpId === 1 && (j.status === 'submitted' || j.status === 'running')).length;
  t.is(current.filter((j) => j.status === 'running').length, 37);
  t.is(current.filter((j) => j.status === 'cancelled').length, 7);
  t.is(stats.load, load, 'the load counter is the number of waiting and running jobs');
  t.is(stats.done, 3);
  t.is(stats.settled, 3);
  t.is(stats.earned, current.filter((j) => j.status === 'settled').reduce((s, j) => s + j.fee, 0n));
  t.is(stats.earned, 1500n);
  t.is(byExecutor.length, current.filter((j) => j.executorSpId === 1).length, 'the executor index lists every job of its executor');
  for (const sp of new Set(movedTo)) {
    const other = ((await app.query('/insitu.compute.Query/ProviderStats', {})).providers as { spId: number; load: number }[]).find((s) => s.spId === sp)!;
    t.is(other.load, current.filter((j) => j.executorSpId === sp && (j.status === 'submitted' || j.status === 'running')).length, `provider ${sp}'s load counts the jobs moved to it`);
  }
});

test('a group\'s objects and a bucket\'s objects are listed a page at a time from a cursor', async (t) => {
  const { g, app, signed, block, bucket, emptyObject } = await setup(t);
  const [owner] = g.accounts as [TestKey];
  await block([signed(owner, [bucket(owner, 'many')])]);
  const names = Array.from({ length: 130 }, (_, i) => `o-${String(i).padStart(3, '0')}`);
  await block([signed(owner, names.slice(0, 64).map((n) => emptyObject(owner, 'many', n))), signed(owner, names.slice(64, 128).map((n) => emptyObject(owner, 'many', n))), signed(owner, names.slice(128).map((n) => emptyObject(owner, 'many', n)))]);
  await block([signed(owner, [{ typeUrl: '/greenfield.storage.MsgDeleteObject', value: { operator: owner.address, bucketName: 'many', objectName: 'o-007' } }])]);
  const head = (await app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'many', objectName: 'o-000' })) as { objectInfo: { id: string }; globalVirtualGroup: { id: number } };
  const gvgId = head.globalVirtualGroup.id;
  const inGroup: { id: bigint; objectName: string }[] = [];
  let after = 0n;
  for (;;) {
    const p = (await app.query('/insitu.storage.Query/ObjectsInGroup', { gvgId, afterId: after.toString(), limit: 50 })).objects as { id: bigint; objectName: string }[];
    inGroup.push(...p);
    if (p.length < 50) break;
    after = p.at(-1)!.id;
  }
  t.is(inGroup.length, 129, 'every sealed object of the group once, the deleted one gone');
  t.false(inGroup.some((o) => o.objectName === 'o-007'));
  t.deepEqual(inGroup.map((o) => o.id), [...inGroup.map((o) => o.id)].sort((a, b) => (a < b ? -1 : 1)));

  // Cosmos pagination: nextKey starts the next page; the total comes from the bucket's count.
  const listed: string[] = [];
  let key: Uint8Array | undefined;
  let total = 0;
  for (let n = 0; n < 10; n++) {
    const r = (await app.query('/greenfield.storage.Query/ListObjects', { bucketName: 'many', pagination: { ...(key ? { key } : {}), limit: 40, countTotal: true } })) as { objectInfos: { objectName: string }[]; pagination: { nextKey: Uint8Array; total: { toString(): string } } };
    listed.push(...r.objectInfos.map((o) => o.objectName));
    total = Number(r.pagination.total.toString());
    if (r.pagination.nextKey.length === 0) break;
    key = r.pagination.nextKey;
  }
  t.deepEqual(listed, names.filter((n) => n !== 'o-007'));
  t.is(total, 129);
  const extra = (await app.query('/greenfield.storage.Query/HeadBucketExtra', { bucketName: 'many' })) as { extraInfo: { totalChargeSize: { toString(): string } } };
  t.is(BigInt(extra.extraInfo.totalChargeSize.toString()), 129n * BigInt(g.genesis.params.minChargeSize), 'the charge size kept with each write is every sealed object\'s');
});

test('offers in force are listed newest first a page at a time, by owner, by bucket or all; withdrawn and expired ones are left out', async (t) => {
  const { g, app, signed, block, bucket, advance } = await setup(t);
  const [owner, other] = g.accounts as [TestKey, TestKey];
  await block([signed(owner, [bucket(owner, 'offered')]), signed(other, [bucket(other, 'elsewhere')])]);
  const now = g.genesis.genesisTime;
  const offer = (k: TestKey, b: string, expiresAt = 0): Msg => ({
    typeUrl: '/insitu.compute.MsgCreateOffer',
    value: { owner: k.address, bucketName: b, prefix: '', audience: 'anyone', buyers: [], groupId: '0', modules: [], pricePerJob: '10', pricePerGib: '0', maxOutputBytes: '1000', expiresAt: String(expiresAt) },
  });
  // Offers 1..12 of the owner (4 and 5 expire within the hour), 13 of the other account.
  await block([signed(owner, Array.from({ length: 12 }, (_, i) => offer(owner, 'offered', i === 3 || i === 4 ? now + 3_600_000 : 0))), signed(other, [offer(other, 'elsewhere')])]);
  await block([signed(owner, ['2', '7', '11'].map((offerId) => ({ typeUrl: '/insitu.compute.MsgRemoveOffer', value: { owner: owner.address, offerId } })))]);
  advance(2 * 3_600_000);
  const walk = async (by: Record<string, unknown>): Promise<bigint[]> => {
    const ids: bigint[] = [];
    let cursor: bigint | null = null;
    for (let n = 0; n < 20; n++) {
      const r = (await app.query('/insitu.compute.Query/Offers', { ...by, limit: 3, ...(cursor !== null ? { startAfter: cursor.toString() } : {}) })) as { offers: { id: bigint }[]; nextStartAfter: bigint | null };
      t.true(r.offers.length <= 3);
      ids.push(...r.offers.map((o) => o.id));
      cursor = r.nextStartAfter;
      if (cursor === null) break;
    }
    return ids;
  };
  const live = [12n, 10n, 9n, 8n, 6n, 3n, 1n];
  t.deepEqual(await walk({ owner: owner.address }), live);
  t.deepEqual(await walk({ bucket: 'offered' }), live);
  t.deepEqual(await walk({}), [13n, ...live]);
  t.deepEqual(await walk({ owner: other.address, bucket: 'offered' }), []);
});
