// Jobs against hostile submitters and providers, end to end: a job POSTed many times at once runs
// once; a module the node refuses ends on chain with the escrow returned; an execute grant's output
// policy holds on the node; a running job cannot be cancelled; a provider that settles a made-up
// receipt (signed with its real key) is found out by the verifiers the chain picks, re-running the
// job on their own nodes, and slashed; an honest receipt disputed costs the disputer its bond.

import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { run as cliRun } from '@insitu/cli';
import { request } from 'undici';
import { type InsituClient } from '@insitu/sdk';
import { createChainClient } from '@insitu/sdk/chain';
import { signRequest } from '@insitu/protocol/auth';
import { spDispatcher } from '@insitu/sdk/sp';
import { signDigest, toHex } from '@insitu/protocol';
import { receiptDigest, type JobReceipt } from '@insitu/protocol';
import { wat, CAT, SPIN } from '@insitu/executor/testing';
import { createTestnet, type Testnet } from '../src/testnet.ts';

const ESCROW = '0x00000000000000000000000000000000000e5c00';
let net: Testnet;
let alice: InsituClient;
let bob: InsituClient;
let carol: InsituClient;
const wc = () => readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const code = (e: unknown): string | undefined => (e as { code?: string }).code;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 3 });
  [alice, bob, carol] = (await Promise.all([0, 1, 2].map((i) => net.client(i)))) as [InsituClient, InsituClient, InsituClient];
  await alice.buckets.create('lab');
  const rows = ['id,value'];
  for (let i = 0; i < 2000; i++) rows.push(`${i},${(i * 7919) % 1000}`);
  await alice.objects.put('lab', 'data.csv', Buffer.from(`${rows.join('\n')}\n`));
});
test.after.always(async () => {
  await net?.stop();
});

const escrow = async (): Promise<bigint> => (await alice.chain.getAccount(ESCROW)).balance;

/** A job submitted on chain only, over lab/data.csv with a module already stored there. */
async function submitOnChain(module: Uint8Array, o: { maxFee?: bigint; fuelLimit?: bigint } = {}): Promise<bigint> {
  const moduleHash = sha(module);
  const { jobId } = await alice.chain.submitJob({
    bucket: 'lab', object: 'data.csv', moduleBucket: 'lab', moduleObject: `.insitu/modules/${moduleHash}.wasm`, moduleHash,
    maxFee: o.maxFee ?? 10n ** 15n, fuelLimit: o.fuelLimit ?? 10_000_000_000n,
  });
  return jobId;
}

async function jobsRun(endpoint: string): Promise<number> {
  const res = await request(new URL('/metrics', endpoint), { dispatcher: spDispatcher });
  const text = await res.body.text();
  return [...text.matchAll(/^insitu_jobs_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

test.serial('a job POSTed six times at once runs once; every request, and a later one, gets the same receipt', async (t) => {
  const module = new Uint8Array(await wc());
  const first = await alice.jobs.submit({ module, input: 'lab/data.csv', maxFee: 10n ** 15n });
  const id = await submitOnChain(module);
  const job = await alice.jobs.get(id);
  const executor = await alice.chain.getStorageProvider(job.executorSpId);
  const url = new URL(`/insitu/v1/jobs/${id}`, executor.endpoint);
  const post = async (): Promise<{ status: number; body: { receipt: JobReceipt; signature: string } }> => {
    const res = await request(url, { method: 'POST', headers: signRequest({ method: 'POST', url, privateKey: net.accounts[0]!.privateKey, headers: { 'content-type': 'application/json' } }), body: '{}', dispatcher: spDispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { status: res.statusCode, body: { receipt: {} as JobReceipt, signature: text } };
    return { status: res.statusCode, body: JSON.parse(text) as { receipt: JobReceipt; signature: string } };
  };
  const runsBefore = await jobsRun(executor.endpoint);
  const answers = await Promise.all(Array.from({ length: 6 }, post));
  t.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200], JSON.stringify(answers.map((a) => a.body)));
  t.is(new Set(answers.map((a) => a.body.signature)).size, 1, 'one receipt for all six');
  t.is(await jobsRun(executor.endpoint) - runsBefore, 1, 'the node ran it once');
  const later = await post();
  t.is(later.body.signature, answers[0]!.body.signature, 'a later request gets the kept receipt');
  const settled = await alice.jobs.get(id);
  t.is(settled.status, 'settled');
  t.is(settled.outputHash, first.receipt.outputHash);
  t.is(await jobsRun(executor.endpoint) - runsBefore, 1);
});

test.serial('a module the node refuses ends its job on chain as rejected, with the escrow returned but a small fee', async (t) => {
  const forbidden = await wat('(module (import "env" "socket" (func)) (memory (export "memory") 1) (func (export "_start")))');
  const held = await escrow();
  const maxFee = 10n ** 15n;
  const run = await alice.jobs.submit({ module: forbidden, input: 'lab/data.csv', maxFee });
  t.is(run.receipt.state, 'rejected');
  t.is(run.receipt.code, 'ERR_JOB_FORBIDDEN_IMPORT');
  const job = await alice.jobs.get(run.id);
  t.is(job.status, 'rejected');
  t.is(job.fee, 1_000_000n * run.executor.computePrice, 'the node\'s work of checking the module, at its price');
  t.true(job.fee < maxFee);
  t.is(await escrow() - held, job.fee, 'only the fee stays in escrow (for the dispute window); the rest went back');
  const e = await t.throwsAsync(alice.jobs.output(run.id));
  t.is(code(e), 'ERR_INVALID_ARGUMENT', 'a refused job has no output');
  const next = await alice.jobs.submit({ module: new Uint8Array(await wc()), input: 'lab/data.csv', maxFee });
  t.is(next.receipt.state, 'succeeded', 'the node goes on running jobs');
});

test.serial('compute-to-data: the owner\'s output policy caps what an approved module returns, other modules are refused, and a grant without modules warns', async (t) => {
  const cat = await wat(CAT);
  await bob.buckets.create('bob-code');
  const plain = await alice.policies.grant({ bucket: 'lab', object: 'data.csv' }, carol.address, ['execute-object']);
  t.is(plain.warnings.length, 1);
  t.regex(plain.warnings[0]!, /any module/);
  const tx = await alice.policies.grant({ bucket: 'lab', object: 'data.csv' }, bob.address, ['execute-object'], { modules: [sha(cat)], maxOutputBytes: 1000 });
  t.deepEqual(tx.warnings, []);
  // cat would copy the whole object out: the node stops it at the owner's cap, whatever bob asks for.
  const run = await bob.jobs.submit({ module: cat, input: 'lab/data.csv', maxFee: 10n ** 15n, moduleBucket: 'bob-code', limits: { outputBytes: 10_000_000 } });
  t.is(run.receipt.state, 'failed');
  t.is(run.receipt.code, 'ERR_JOB_OUTPUT_LIMIT');
  t.is(run.receipt.outputBytes, 0);
  t.is((await bob.jobs.get(run.id)).outputCap, 1000n);
  const other = await t.throwsAsync(bob.jobs.submit({ module: new Uint8Array(await wc()), input: 'lab/data.csv', maxFee: 10n ** 15n, moduleBucket: 'bob-code' }));
  t.is(code(other), 'ERR_PERMISSION_DENIED', 'a module the owner did not approve');
  const parts: Uint8Array[] = [];
  const get = await t.throwsAsync(async () => {
    for await (const c of bob.objects.get('lab', 'data.csv')) parts.push(c);
  });
  t.is(code(get), 'ERR_PERMISSION_DENIED');
});

test.serial('a job its node acknowledged cannot be cancelled while it runs', async (t) => {
  const spinning = alice.jobs.submit({ module: await wat(SPIN), input: 'lab/data.csv', maxFee: 10n ** 15n, limits: { fuel: 1n << 50n, timeoutMs: 8000 } });
  const spinHash = sha(await wat(SPIN));
  let id: bigint | undefined;
  for (let i = 0; i < 400 && id === undefined; i++) {
    id = (await alice.jobs.list({ limit: 5 })).find((j) => j.moduleHash === spinHash && j.status === 'running')?.id;
    if (id === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.truthy(id, 'the node acknowledged the job on chain');
  const held = await escrow();
  const e = await t.throwsAsync(alice.jobs.cancel(id!));
  t.is(code(e), 'ERR_JOB_RUNNING');
  t.is(await escrow(), held, 'the escrow stays');
  const done = await spinning;
  t.is(done.receipt.code, 'ERR_JOB_TIMEOUT');
  t.is((await alice.jobs.get(id!)).status, 'settled');
});

test.serial('a provider that settles a made-up receipt is disputed: the chain\'s verifiers re-run the job, overturn it, slash the provider and refund the submitter', async (t) => {
  const module = new Uint8Array(await wc());
  const honest = await alice.jobs.submit({ module, input: 'lab/data.csv', maxFee: 10n ** 15n });
  const total = (await alice.chain.holdings()).total;
  const id = await submitOnChain(module, { fuelLimit: 10n ** 12n });
  const job = await alice.jobs.get(id);
  const spId = job.executorSpId;
  // The executor's real operator key signs a receipt claiming the whole fuel limit and a made-up output.
  const operatorKey = net.plan.nodes[spId - 1]!.operatorKey;
  const liar = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: operatorKey });
  const input = await alice.objects.head('lab', 'data.csv');
  const lie: JobReceipt = {
    ...honest.receipt, jobId: id.toString(), executorSpId: spId, inputObjectId: input.id.toString(),
    fuelUsed: (10n ** 12n).toString(), outputHash: 'ee'.repeat(32), outputBytes: 12,
  };
  await liar.ackJob(id);
  await liar.settleJob({ jobId: id, receipt: JSON.stringify(lie), receiptSignature: toHex(signDigest(receiptDigest(lie), operatorKey)) });
  const settled = await alice.jobs.get(id);
  t.is(settled.fee, 10n ** 12n * honest.executor.computePrice < 10n ** 15n ? 10n ** 12n * honest.executor.computePrice : 10n ** 15n);
  const depositBefore = (await alice.chain.getStorageProvider(spId)).deposit ?? 0n;
  const aliceBefore = (await alice.account()).balance;
  const decided = await alice.jobs.dispute(id, { wait: true, timeoutMs: 120_000 });
  const d = decided.dispute!;
  t.log(`verifiers ${d.verifiers.join(',')}: ${d.votes.map((v) => `${v.spId} ${v.agree ? 'agrees' : 'disagrees'}`).join(', ')}`);
  t.is(d.outcome, 'receipt-wrong');
  t.is(decided.status, 'overturned');
  t.false(d.verifiers.includes(spId));
  for (const v of d.votes) {
    t.is(v.outputHash, honest.receipt.outputHash, `provider ${v.spId} re-ran it to the honest output`);
    t.is(v.fuelUsed, BigInt(honest.receipt.fuelUsed), `provider ${v.spId} used the honest fuel`);
  }
  t.true(d.slashed > 0n);
  t.is((await alice.chain.getStorageProvider(spId)).deposit, depositBefore - d.slashed, 'the liar\'s deposit paid');
  const gas = 120_000n * 5_000_000_000n;
  t.true((await alice.account()).balance - aliceBefore + gas >= settled.fee + d.bond, 'the submitter got the fee and its bond back, and a reward');
  t.is((await alice.chain.holdings()).total, total, 'slash, bond, refund and rewards conserve money');
});

test.serial('a provider that settles a made-up receipt and then goes offline is still overturned: the verifiers rebuild the input and the module from pieces', async (t) => {
  const module = new Uint8Array(await wc());
  const honest = (await alice.jobs.list({ limit: 50 })).find((j) => j.status === 'settled' && j.exitState === 'succeeded' && j.moduleHash === sha(module))!;
  const id = await submitOnChain(module);
  const job = await alice.jobs.get(id);
  const spId = job.executorSpId;
  const operatorKey = net.plan.nodes[spId - 1]!.operatorKey;
  const liar = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: operatorKey });
  const lie: JobReceipt = { ...(JSON.parse(honest.receipt) as JobReceipt), jobId: id.toString(), executorSpId: spId, fuelUsed: '1', outputHash: '77'.repeat(32) };
  await liar.settleJob({ jobId: id, receipt: JSON.stringify(lie), receiptSignature: toHex(signDigest(receiptDigest(lie), operatorKey)) });
  await net.stopNode(spId - 1);
  t.teardown(() => net.startNode(spId - 1));
  const decided = await alice.jobs.dispute(id, { wait: true, timeoutMs: 120_000 });
  t.is(decided.dispute!.outcome, 'receipt-wrong');
  t.true(decided.dispute!.votes.every((v) => v.outputHash === honest.outputHash && v.fuelUsed === honest.fuelUsed), 'every verifier re-ran it to the honest result');
  t.true(decided.dispute!.slashed > 0n);
  await net.startNode(spId - 1);
});

test.serial('an honest receipt disputed is upheld by the verifiers: the disputer loses its bond, the fee reaches the provider when the window closes', async (t) => {
  const total = (await alice.chain.holdings()).total;
  const run = await alice.jobs.submit({ module: new Uint8Array(await wc()), input: 'lab/data.csv', maxFee: 10n ** 15n });
  const carolBefore = (await carol.account()).balance;
  const decided = await carol.jobs.dispute(run.id, { wait: true, timeoutMs: 120_000 });
  t.is(decided.dispute!.outcome, 'receipt-upheld');
  t.is(decided.status, 'settled');
  t.true(carolBefore - (await carol.account()).balance >= decided.dispute!.bond, 'the bond is lost');
  const held = await escrow();
  t.true(held >= decided.fee, 'the fee is still held');
  await alice.chain.advanceTime(3700);
  await alice.chain.transfer(bob.address, 1n);
  t.is((await alice.jobs.get(run.id)).releaseAt, 0, 'paid out');
  t.is(await escrow(), 0n, 'every held fee was paid when its window closed');
  t.is((await alice.chain.holdings()).total, total);
});

/** The CLI in-process, signing as account `i`. */
async function cli(i: number, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const keyFile = join(net.dir, `account-${i}.key`);
  await writeFile(keyFile, `${net.accounts[i]!.privateKey}\n`);
  const sink = (): Writable & { text: string } => {
    const w = new Writable({ write(chunk, _e, cb) { w.text += String(chunk); cb(); } }) as Writable & { text: string };
    w.text = '';
    return w;
  };
  const stdout = sink();
  const stderr = sink();
  const code = await cliRun([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keyFile], { stdout, stderr, env: {}, cwd: net.dir });
  return { code, out: stdout.text, err: stderr.text };
}

test.serial('the CLI warns about an execute grant without modules, and disputes a job with insitu job dispute', async (t) => {
  let r = await cli(0, 'policy', 'grant', 'lab/data.csv', carol.address, '--actions', 'execute');
  t.is(r.code, 0, r.err);
  t.regex(r.err, /warning: .*any module/);
  r = await cli(0, 'policy', 'grant', 'lab/data.csv', carol.address, '--actions', 'execute', '--modules', 'ab'.repeat(32), '--max-output', '100');
  t.is(r.code, 0, r.err);
  t.notRegex(r.err, /warning/);
  r = await cli(0, 'policy', 'grant', 'lab/data.csv', carol.address, '--actions', 'execute', '--max-output', 'lots');
  t.not(r.code, 0);
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);
  const job = await alice.jobs.submit({ module: new Uint8Array(await wc()), input: 'lab/data.csv', maxFee: 10n ** 15n });
  r = await cli(2, 'job', 'dispute', job.id.toString());
  t.is(r.code, 0, r.err);
  t.regex(r.out, /receipt upheld/);
  t.regex(r.out, /agrees/);
  r = await cli(2, 'job', 'dispute', job.id.toString());
  t.not(r.code, 0);
  t.regex(r.err, /ERR_DISPUTE_CLOSED/);
  r = await cli(2, 'job', 'status', job.id.toString());
  t.is(r.code, 0, r.err);
  t.regex(r.out, /held until .*disputable/);
  t.regex(r.out, /dispute +receipt-upheld: verifiers [\d, ]+, [23] agree, 0 disagree/);
});
