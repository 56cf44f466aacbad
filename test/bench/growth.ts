// Growth: what a user's operations cost as the chain's state grows. One chain state machine (the
// real app on LevelDB, every transaction signed and checked as a block carries it) is filled in
// steps to `objects` objects in one bucket and a tenth as many jobs from ten other accounts,
// through big blocks of transactions of 64 messages each (the most a transaction may carry). At each step it measures, against the
// empty chain: an upload (the block of its create and the block of its seal, BLS-aggregated by
// the secondaries), a head, a listing page, the job queries (one account's jobs, the newest jobs,
// the providers' compute stats), and the execution of an empty block and of a block of 20
// transfers. `npm run bench -- growth [objects]` (default 100000).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createChainApp, evmChainId } from '@insitu/chain';
import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { testGenesis, tx, type TestKey, type TestProvider } from '@insitu/chain/testing';
import { signTx } from '@insitu/chain/testing';
import type { DecodedTx } from '@insitu/chain';
import type { BenchContext } from './index.ts';

export const name = 'growth';

type Msg = { typeUrl: string; value: Record<string, unknown> };
type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MSGS_PER_TX = 64;
const TXS_PER_BLOCK = 10;
const SUBMITTERS = 10;
const PAGE = 100;

/** The fastest of several runs: on a shared machine the least is the cost of the work itself, the rest is waiting for a core. */
const fastest = (xs: number[]): number => Math.min(...xs);
const ms = (x: number): string => x.toFixed(x < 1 ? 3 : x < 10 ? 2 : 1);
const objectName = (i: number): string => `obj-${String(i).padStart(7, '0')}`;

export async function run(ctx: BenchContext): Promise<void> {
  const target = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
  // The first step is one listing page (the least a full page can be measured on), then growth by tens.
  const steps = [...new Set([PAGE, 1_000, 10_000, 100_000, target].filter((n) => n <= target))].sort((a, b) => a - b);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-growth-'));
  const g = testGenesis({ accounts: 2 + SUBMITTERS, balance: 10n ** 30n });
  const [owner, probe, ...submitters] = g.accounts as [TestKey, TestKey, ...TestKey[]];
  const sp1 = g.providers[0]!;
  let clock = g.genesis.genesisTime;
  const app = createChainApp({ dataDir: dir, genesis: g.genesis, now: () => clock });
  await app.init();
  const evm = String(evmChainId(g.genesis.chainId));
  const seqs = new Map<string, { number: bigint; sequence: bigint }>();

  const account = async (k: TestKey): Promise<{ number: bigint; sequence: bigint }> => {
    let a = seqs.get(k.address);
    if (!a) {
      const rec = await app.kv().get<{ number: bigint; sequence: bigint }>(`acct/${k.address.toLowerCase()}`);
      if (!rec) throw new Error(`no account ${k.address}`);
      a = { number: rec.number, sequence: rec.sequence };
      seqs.set(k.address, a);
    }
    return a;
  };
  const sign = async (k: TestKey, msgs: Msg[]): Promise<Uint8Array> => {
    const a = await account(k);
    const raw = signTx(k, msgs, { accountNumber: a.number, sequence: a.sequence, evmChainId: evm });
    a.sequence += 1n;
    return raw;
  };
  /** A filling transaction as the wire front hands it over once its signature checked out (signing 100k messages would take longer than the rest). */
  const filler = async (k: TestKey, msgs: Msg[]): Promise<DecodedTx> => {
    const a = await account(k);
    return tx(k.address, a.sequence++, msgs);
  };
  /** Executes one block of these txs; returns its execution time (ms) and fails on any refused tx. */
  const block = async (txs: (Uint8Array | DecodedTx)[]): Promise<number> => {
    clock += 1000;
    const t0 = performance.now();
    const executed = await app.produceBlock(txs);
    const took = performance.now() - t0;
    const bad = executed.results.find((r) => r.code !== 0);
    if (bad) throw new Error(`a filling transaction failed: ${bad.log}`);
    return took;
  };

  try {
    // Accounts' numbers come from state: read them once, before anything else moves.
    for (const k of [owner, probe, ...submitters, sp1]) await account(k);
    const bucketMsg = (k: TestKey, bucketName: string): Msg => ({ typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: k.address, bucketName, visibility: 2, paymentAddress: '', primarySpAddress: sp1.address, chargedReadQuota: '0' } });
    const emptyObject = (k: TestKey, bucketName: string, name: string): Msg => ({
      typeUrl: '/greenfield.storage.MsgCreateObject',
      value: { creator: k.address, bucketName, objectName: name, payloadSize: '0', visibility: 0, contentType: 'application/octet-stream', expectChecksums: Array.from({ length: 7 }, () => createHash('sha256').digest()), redundancyType: 0 },
    });
    const jobMsg = (k: TestKey, bucketName: string): Msg => ({
      typeUrl: '/insitu.compute.MsgSubmitJob',
      value: { creator: k.address, bucketName, objectName: 'input', moduleBucket: bucketName, moduleObject: 'module', moduleHash: 'ab'.repeat(32), args: [], maxFee: '1000', fuelLimit: '1000', executorSpId: 0, sideInputs: [], env: [], mode: '', pieceIndex: 0, mapJobs: [] },
    });
    // The fixtures every step measures with: the big bucket, the probe's own bucket and jobs, each submitter's bucket.
    const setup: Uint8Array[] = [await sign(owner, [bucketMsg(owner, 'big')]), await sign(probe, [bucketMsg(probe, 'probe')])];
    for (const [i, k] of submitters.entries()) setup.push(await sign(k, [bucketMsg(k, `jobs-${i}`)]));
    await block(setup);
    const inputs: Uint8Array[] = [await sign(probe, [emptyObject(probe, 'probe', 'input'), emptyObject(probe, 'probe', 'module')])];
    for (const [i, k] of submitters.entries()) inputs.push(await sign(k, [emptyObject(k, `jobs-${i}`, 'input'), emptyObject(k, `jobs-${i}`, 'module')]));
    await block(inputs);
    await block([await sign(probe, Array.from({ length: 5 }, () => jobMsg(probe, 'probe')))]);

    let objects = 0;
    let jobs = 0;
    let uploads = 0;
    const rows: Record<string, string | number>[] = [];
    const base: Record<string, number> = {};
    let latest: Record<string, number> = {};
    for (const step of steps) {
      // Fill to this step: objects into the big bucket, a tenth as many jobs spread over the submitters.
      const fillStart = performance.now();

      while (objects < step) {
        const txs: DecodedTx[] = [];
        while (txs.length < TXS_PER_BLOCK && objects < step) {
          const n = Math.min(MSGS_PER_TX, step - objects);
          txs.push(await filler(owner, Array.from({ length: n }, (_, i) => emptyObject(owner, 'big', objectName(objects + i)))));
          objects += n;
        }
        const jobTarget = Math.floor(objects / 10);
        for (let s = 0; jobs < jobTarget && s < SUBMITTERS; s++) {
          const n = Math.min(MSGS_PER_TX, jobTarget - jobs);
          txs.push(await filler(submitters[s]!, Array.from({ length: n }, () => jobMsg(submitters[s]!, `jobs-${s}`))));
          jobs += n;
        }
        await block(txs);
      }
      const fillSeconds = (performance.now() - fillStart) / 1000;

      // An upload: the block of its create, then the block of its seal by the primary.
      const uploadMs: number[] = [];
      for (let r = 0; r < 5; r++) {
        const name = `upload-${++uploads}`;
        const checksums = Array.from({ length: 7 }, (_, i) => createHash('sha256').update(`${name}/${i}`).digest());
        const create = await sign(owner, [{ typeUrl: '/greenfield.storage.MsgCreateObject', value: { creator: owner.address, bucketName: 'big', objectName: name, payloadSize: '1024', visibility: 0, contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0 } }]);
        const tCreate = await block([create]);
        const head = (await app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'big', objectName: name })) as Rec;
        const gvg = head.globalVirtualGroup as { id: number; primarySpId: number; secondarySpIds: number[] };
        const doc = sealSignDoc({ chainId: g.genesis.chainId, gvgId: gvg.id, objectId: BigInt(head.objectInfo.id), checksums: head.objectInfo.checksums });
        const sig = blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, (g.providers[id - 1] as TestProvider).blsSecret)));
        const sealer = g.providers[gvg.primarySpId - 1]!;
        const seal = await sign(sealer, [{ typeUrl: '/greenfield.storage.MsgSealObject', value: { operator: sealer.address, bucketName: 'big', objectName: name, globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig } }]);
        uploadMs.push(tCreate + (await block([seal])));
      }
      const timed = async (n: number, fn: (i: number) => Promise<unknown>): Promise<number> => {
        const xs: number[] = [];
        for (let i = 0; i < n; i++) {
          const t0 = performance.now();
          await fn(i);
          xs.push(performance.now() - t0);
        }
        return fastest(xs);
      };
      // A fixed stride through the names, so every step reads from all over the bucket.
      const someObject = (i: number): string => objectName((i * 7919) % Math.max(1, objects - PAGE));
      const headMs = await timed(200, (i) => app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'big', objectName: someObject(i) }));
      const pageMs = await timed(50, (i) => app.query('/insitu.storage.Query/Objects', { bucket: 'big', startAfter: someObject(i), limit: PAGE }));
      const cosmosPageMs = await timed(50, (i) => app.query('/greenfield.storage.Query/ListObjects', { bucketName: 'big', pagination: { key: new TextEncoder().encode(someObject(i)), limit: PAGE } }));
      const myJobsMs = await timed(100, () => app.query('/insitu.compute.Query/Jobs', { creator: probe.address, limit: 20 }));
      const newestJobsMs = await timed(100, () => app.query('/insitu.compute.Query/Jobs', { limit: 20 }));
      const statsMs = await timed(100, () => app.query('/insitu.compute.Query/ProviderStats', {}));
      const emptyBlockMs = await timed(10, () => block([]));
      const transfersMs = await timed(5, async () => {
        const txs: Uint8Array[] = [];
        for (let i = 0; i < 20; i++) txs.push(await sign(probe, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: probe.address, toAddress: owner.address, amount: [{ denom: 'BNB', amount: '1' }] } }]));
        return block(txs);
      });
      const mine = ((await app.query('/insitu.compute.Query/Jobs', { creator: probe.address, limit: 20 })).jobs as unknown[]).length;
      if (mine !== 5) throw new Error(`the probe account's job query returned ${mine} jobs, not its 5`);
      const m: Record<string, number> = {
        upload: fastest(uploadMs), head: headMs, page: pageMs, cosmosPage: cosmosPageMs, myJobs: myJobsMs, newestJobs: newestJobsMs, stats: statsMs, emptyBlock: emptyBlockMs, transfers: transfersMs,
      };
      if (step === steps[0]) Object.assign(base, m);
      latest = m;
      rows.push({
        objects, jobs, 'fill s': fillSeconds.toFixed(1),
        'upload ms': ms(m.upload!), 'head ms': ms(m.head!), 'page ms': ms(m.page!), 'ListObjects ms': ms(m.cosmosPage!),
        'my jobs ms': ms(m.myJobs!), 'newest jobs ms': ms(m.newestJobs!), 'provider stats ms': ms(m.stats!),
        'empty block ms': ms(m.emptyBlock!), '20-transfer block ms': ms(m.transfers!),
      });
      ctx.note(`filled to ${objects} objects and ${jobs} jobs (${fillSeconds.toFixed(1)} s of filling)`);
    }
    ctx.table('State size → latency (fastest of 5 to 200 runs each; the probe account holds 5 jobs, the big bucket holds the objects)', rows);
    const last = rows.at(-1)!;
    const ratio = (key: string, _col: string): string => (latest[key]! / base[key]!).toFixed(2);
    ctx.table(`Ratio at ${last.objects} objects and ${last.jobs} jobs against the empty chain (goal: ≤ 2)`, [{
      upload: ratio('upload', 'upload ms'), head: ratio('head', 'head ms'), page: ratio('page', 'page ms'), ListObjects: ratio('cosmosPage', 'ListObjects ms'),
      'my jobs': ratio('myJobs', 'my jobs ms'), 'newest jobs': ratio('newestJobs', 'newest jobs ms'), 'provider stats': ratio('stats', 'provider stats ms'),
      'empty block': ratio('emptyBlock', 'empty block ms'), '20-transfer block': ratio('transfers', '20-transfer block ms'),
    }]);
    ctx.note('Filling runs through the app\'s block path (ante: nonce, fee; every message handler; one commit per block) with transactions handed over as already authenticated, and empty objects (sealed at creation, no BLS seal); the measured uploads and transfers are signed transactions checked in the block.');
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}
