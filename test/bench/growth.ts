// Growth: what a user's operations cost as the chain's state grows. One chain state machine (the
// real app on LevelDB) is filled through its block path in steps to `objects` objects in one
// bucket and a tenth as many jobs from ten other accounts, in blocks of ten transactions of 64
// messages (the most a transaction may carry), handed over as already authenticated: signing
// 100,000 messages would take longer than the rest. At each step — the first is one listing page
// of objects, the least a full page can be measured on — it measures, against that first step:
// an upload (the block of its signed create and the block of its signed seal, BLS-aggregated by
// the secondaries), a head, a listing page (the project's and Greenfield's ListObjects), the job
// queries (one account's jobs among everyone's, the newest jobs, the providers' compute stats),
// and the execution of an empty block and of a block of 20 signed transfers; and, for scale, what
// reading every job takes. A second chain that stays at the first step is measured side by side,
// sample for sample, so the ratios compare two states at the same moment on a shared machine.
// `npm run bench -- growth [objects]` (default 100000).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createChainApp, evmChainId } from '@insitu/chain';
import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { createRpcServer, testGenesis, tx, type TestKey, type TestProvider } from '@insitu/chain/testing';
import { createChainReader } from '@insitu/sdk';
import { signTx } from '@insitu/chain/testing';
import type { DecodedTx, Genesis } from '@insitu/chain';
import type { BenchContext } from './index.ts';

export const name = 'growth';

type Msg = { typeUrl: string; value: Record<string, unknown> };
type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Keys = { owner: TestKey; probe: TestKey; submitters: TestKey[]; sp1: TestProvider; providers: TestProvider[] };

const MSGS_PER_TX = 64;
const TXS_PER_BLOCK = 10;
const SUBMITTERS = 10;
const PAGE = 100;
/** The in-process queries' objects start this far along the sequence the queries over the wire ask. */
const INSIDE_OFFSET = 1000;

/** The fastest of several runs: on a shared machine the least is the cost of the work itself, the rest is waiting for a core. */
const fastest = (xs: number[]): number => Math.min(...xs);
const ms = (x: number): string => x.toFixed(x < 1 ? 3 : x < 10 ? 2 : 1);
const objectName = (i: number): string => `obj-${String(i).padStart(7, '0')}`;

const bucketMsg = (k: TestKey, sp: TestKey, bucketName: string): Msg => ({ typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: k.address, bucketName, visibility: 2, paymentAddress: '', primarySpAddress: sp.address, chargedReadQuota: '0' } });
const emptyObject = (k: TestKey, bucketName: string, name: string): Msg => ({
  typeUrl: '/greenfield.storage.MsgCreateObject',
  value: { creator: k.address, bucketName, objectName: name, payloadSize: '0', visibility: 0, contentType: 'application/octet-stream', expectChecksums: Array.from({ length: 7 }, () => createHash('sha256').digest()), redundancyType: 0 },
});
const jobMsg = (k: TestKey, bucketName: string): Msg => ({
  typeUrl: '/insitu.compute.MsgSubmitJob',
  value: { creator: k.address, bucketName, objectName: 'input', moduleBucket: bucketName, moduleObject: 'module', moduleHash: 'ab'.repeat(32), args: [], maxFee: '1000', fuelLimit: '1000', executorSpId: 0, sideInputs: [], env: [], mode: '', pieceIndex: 0, mapJobs: [] },
});

/** One chain under measurement: its app, its fill level and the operations the benchmark times. */
async function subject(genesis: Genesis, keys: Keys) {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-growth-'));
  let clock = genesis.genesisTime;
  const app = createChainApp({ dataDir: dir, genesis, now: () => clock });
  await app.init();
  const evm = String(evmChainId(genesis.chainId));
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
  /** A filling transaction as the wire front hands it over once its signature checked out. */
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
    if (bad) throw new Error(`a transaction of the benchmark failed: ${bad.log}`);
    return took;
  };
  const { owner, probe, submitters, sp1 } = keys;
  for (const k of [owner, probe, ...submitters, sp1]) await account(k);
  // The fixtures every step measures with: the big bucket, the probe's own bucket and 5 jobs, each submitter's bucket.
  const setup: Uint8Array[] = [await sign(owner, [bucketMsg(owner, sp1, 'big')]), await sign(probe, [bucketMsg(probe, sp1, 'probe')])];
  for (const [i, k] of submitters.entries()) setup.push(await sign(k, [bucketMsg(k, sp1, `jobs-${i}`)]));
  await block(setup);
  const inputs: Uint8Array[] = [await sign(probe, [emptyObject(probe, 'probe', 'input'), emptyObject(probe, 'probe', 'module')])];
  for (const [i, k] of submitters.entries()) inputs.push(await sign(k, [emptyObject(k, `jobs-${i}`, 'input'), emptyObject(k, `jobs-${i}`, 'module')]));
  await block(inputs);
  await block([await sign(probe, Array.from({ length: 5 }, () => jobMsg(probe, 'probe')))]);

  // The wire front every node, SDK and CLI asks: queries answered over JSON-RPC on a socket.
  const server = createRpcServer({
    app, evmChainId: evm, host: '127.0.0.1', port: 0, logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
    admit: () => Promise.reject(new Error('this benchmark makes its blocks itself')),
  });
  const reader = await createChainReader({ rpcUrl: await server.start(), chainId: genesis.chainId });

  let objects = 0;
  let jobs = 0;
  let uploads = 0;
  const someObject = (i: number): string => objectName((i * 7919) % Math.max(1, objects - PAGE));
  const s = {
    app,
    get objects() { return objects; },
    get jobs() { return jobs; },
    /** Objects into the big bucket, a tenth as many jobs spread over the submitters. */
    async fillTo(step: number): Promise<void> {
      while (objects < step) {
        const txs: DecodedTx[] = [];
        while (txs.length < TXS_PER_BLOCK && objects < step) {
          const n = Math.min(MSGS_PER_TX, step - objects);
          txs.push(await filler(owner, Array.from({ length: n }, (_, i) => emptyObject(owner, 'big', objectName(objects + i)))));
          objects += n;
        }
        const jobTarget = Math.floor(objects / 10);
        for (let i = 0; jobs < jobTarget && i < SUBMITTERS; i++) {
          const n = Math.min(MSGS_PER_TX, jobTarget - jobs);
          txs.push(await filler(submitters[i]!, Array.from({ length: n }, () => jobMsg(submitters[i]!, `jobs-${i}`))));
          jobs += n;
        }
        await block(txs);
      }
    },
    /** An upload: the block of its signed create, then the block of its seal by the primary, BLS-aggregated by the secondaries. */
    async upload(): Promise<number> {
      const name = `upload-${++uploads}`;
      const checksums = Array.from({ length: 7 }, (_, i) => createHash('sha256').update(`${name}/${i}`).digest());
      const create = await sign(owner, [{ typeUrl: '/greenfield.storage.MsgCreateObject', value: { creator: owner.address, bucketName: 'big', objectName: name, payloadSize: '1024', visibility: 0, contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0 } }]);
      const tCreate = await block([create]);
      const head = (await app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'big', objectName: name })) as Rec;
      const gvg = head.globalVirtualGroup as { id: number; primarySpId: number; secondarySpIds: number[] };
      const doc = sealSignDoc({ chainId: genesis.chainId, gvgId: gvg.id, objectId: BigInt(head.objectInfo.id), checksums: head.objectInfo.checksums });
      const sig = blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, keys.providers[id - 1]!.blsSecret)));
      const sealer = keys.providers[gvg.primarySpId - 1]!;
      const seal = await sign(sealer, [{ typeUrl: '/greenfield.storage.MsgSealObject', value: { operator: sealer.address, bucketName: 'big', objectName: name, globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig } }]);
      return tCreate + (await block([seal]));
    },
    // Other objects than the queries over the wire ask (which would have left them in the record cache).
    head: (i: number) => app.query('/greenfield.storage.Query/HeadObject', { bucketName: 'big', objectName: someObject(i + INSIDE_OFFSET) }),
    page: (i: number) => app.query('/insitu.storage.Query/Objects', { bucket: 'big', startAfter: someObject(i + INSIDE_OFFSET), limit: PAGE }),
    cosmosPage: (i: number) => app.query('/greenfield.storage.Query/ListObjects', { bucketName: 'big', pagination: { key: new TextEncoder().encode(someObject(i + INSIDE_OFFSET)), limit: PAGE } }),
    myJobs: () => app.query('/insitu.compute.Query/Jobs', { creator: probe.address, limit: 20 }),
    newestJobs: () => app.query('/insitu.compute.Query/Jobs', { limit: 20 }),
    stats: () => app.query('/insitu.compute.Query/ProviderStats', {}),
    rpcHead: (i: number) => reader.headObject('big', someObject(i)),
    rpcPage: (i: number) => reader.listObjects('big', { startAfter: someObject(i), limit: PAGE }),
    rpcMyJobs: () => reader.listJobs(probe.address, { limit: 20 }),
    rpcNewestJobs: () => reader.listJobs(undefined, { limit: 20 }),
    rpcStats: () => reader.computeStats(),
    emptyBlock: () => block([]),
    async transfers(): Promise<number> {
      const txs: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) txs.push(await sign(probe, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: probe.address, toAddress: owner.address, amount: [{ denom: 'BNB', amount: '1' }] } }]));
      return block(txs);
    },
    async close(): Promise<void> {
      await server.stop();
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return s;
}

type Subject = Awaited<ReturnType<typeof subject>>;
type Op = 'upload' | 'rpcHead' | 'rpcPage' | 'rpcMyJobs' | 'rpcNewestJobs' | 'rpcStats' | 'head' | 'page' | 'cosmosPage' | 'myJobs' | 'newestJobs' | 'stats' | 'emptyBlock' | 'transfers';
const RUNS: Record<Op, number> = {
  upload: 12, rpcHead: 200, rpcPage: 50, rpcMyJobs: 100, rpcNewestJobs: 100, rpcStats: 100,
  head: 200, page: 50, cosmosPage: 50, myJobs: 100, newestJobs: 100, stats: 100, emptyBlock: 10, transfers: 8,
};
const COLUMNS: Record<Op, string> = {
  upload: 'upload', rpcHead: 'head', rpcPage: 'page', rpcMyJobs: 'my jobs', rpcNewestJobs: 'newest jobs', rpcStats: 'provider stats',
  head: 'head', page: 'page', cosmosPage: 'ListObjects', myJobs: 'my jobs', newestJobs: 'newest jobs', stats: 'provider stats', emptyBlock: 'empty block', transfers: '20-transfer block',
};
/** What a user (an SDK, a node, the CLI) waits for: the upload's blocks, the queries over JSON-RPC, the blocks' execution. */
const ASKED: Op[] = ['upload', 'rpcHead', 'rpcPage', 'rpcMyJobs', 'rpcNewestJobs', 'rpcStats', 'emptyBlock', 'transfers'];
/**
 * The state machine's own share of each query, without the wire: microseconds, where the small
 * chain answers every run from its caches (at the first step it is asked one object and one page
 * over and over) and the grown one reads LevelDB for most (objects not asked before).
 */
const INSIDE: Op[] = ['head', 'page', 'cosmosPage', 'myJobs', 'newestJobs', 'stats'];

/** Times `op` on both chains, one sample of each in turn; returns the fastest of each. */
async function sideBySide(op: Op, grown: Subject, reference: Subject): Promise<[number, number]> {
  const xs: number[][] = [[], []];
  for (let i = 0; i < RUNS[op]; i++) {
    for (const [k, s] of [grown, reference].entries()) {
      const t0 = performance.now();
      const r = await (s[op] as (i: number) => Promise<unknown>)(i);
      // Block operations report their own execution time; queries are timed here.
      xs[k]!.push(op === 'upload' || op === 'emptyBlock' || op === 'transfers' ? (r as number) : performance.now() - t0);
    }
  }
  return [fastest(xs[0]!), fastest(xs[1]!)];
}

export async function run(ctx: BenchContext): Promise<void> {
  const target = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
  // The first step is one listing page (the least a full page can be measured on), then growth by tens.
  const steps = [...new Set([PAGE, 1_000, 10_000, 100_000, target].filter((n) => n <= target))].sort((a, b) => a - b);
  const g = testGenesis({ accounts: 2 + SUBMITTERS, balance: 10n ** 30n });
  const [owner, probe, ...submitters] = g.accounts as [TestKey, TestKey, ...TestKey[]];
  const keys: Keys = { owner, probe, submitters, sp1: g.providers[0]!, providers: g.providers };
  const grown = await subject(g.genesis, keys);
  const reference = await subject(g.genesis, keys);
  try {
    await reference.fillTo(steps[0]!);
    // Warm-up (compilation, the BLS library's first use), so no step is charged for it.
    await grown.upload();
    await reference.upload();
    const rows: Record<string, string | number>[] = [];
    const ratios: Record<string, string | number>[] = [];
    const insideRows: Record<string, string | number>[] = [];
    for (const step of steps) {
      const fillStart = performance.now();
      await grown.fillTo(step);
      const fillSeconds = (performance.now() - fillStart) / 1000;
      const row: Record<string, string | number> = { objects: grown.objects, jobs: grown.jobs, 'fill s': fillSeconds.toFixed(1) };
      const ratio: Record<string, string | number> = { objects: grown.objects, jobs: grown.jobs };
      const inside: Record<string, string | number> = { objects: grown.objects, jobs: grown.jobs };
      for (const op of ASKED) {
        const [a, b] = await sideBySide(op, grown, reference);
        row[`${COLUMNS[op]} ms`] = ms(a);
        ratio[COLUMNS[op]] = (a / b).toFixed(2);
      }
      for (const op of INSIDE) {
        const [a, b] = await sideBySide(op, grown, reference);
        inside[`${COLUMNS[op]} ms`] = ms(a);
        inside[`${COLUMNS[op]} ×`] = (a / b).toFixed(2);
      }
      insideRows.push(inside);
      // For scale: what reading every job costs at this size (what the jobs query and the provider stats used to do).
      const t0 = performance.now();
      await grown.app.kv().list('job/');
      row['reading every job ms'] = ms(performance.now() - t0);
      const mine = ((await grown.myJobs()).jobs as unknown[]).length;
      if (mine !== 5) throw new Error(`the probe account's job query returned ${mine} jobs, not its 5`);
      rows.push(row);
      ratios.push(ratio);
      ctx.note(`filled to ${grown.objects} objects and ${grown.jobs} jobs (${fillSeconds.toFixed(1)} s of filling)`);
    }
    ctx.table(`State size → latency: an upload's blocks, queries over JSON-RPC as the SDK asks them, blocks' execution (fastest of 8 to 200 runs each; the probe account holds 5 of the jobs, the big bucket holds the objects)`, rows);
    ctx.table(`Ratio against the chain holding ${steps[0]} objects and ${Math.floor(steps[0]! / 10)} jobs, measured side by side (goal: ≤ 2)`, ratios);
    ctx.table(`The state machine's share of each query, in process without the wire, against the chain holding ${steps[0]} objects measured side by side (× its time)`, insideRows);
    ctx.note('Filling runs through the app\'s block path (ante: nonce, fee; every message handler; one commit per block) with transactions handed over as already authenticated, and empty objects (sealed at creation, no BLS seal); the measured uploads and transfers are signed transactions checked in the block.');
  } finally {
    await grown.close();
    await reference.close();
  }
}
