import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { createJobRuntime, type JobRuntime, type JobLimits } from '../src/runtime.ts';
import { wat, CAT, SPIN, EXIT3, FLOOD, GROW, TRAP } from './fixtures.ts';

let runtime: JobRuntime;
let dir: string;
const limits: JobLimits = { fuel: 1_000_000_000n, memoryMiB: 16, timeoutMs: 5000, outputBytes: 64 * 1024 * 1024 };

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-exec-'));
  runtime = createJobRuntime({ cacheDir: dir, workers: 2 });
  await runtime.start();
});
test.after.always(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

const prep = async (src: string): Promise<string> => (await runtime.prepare(await wat(src))).hash;

test('a job gets its input on stdin and its stdout is the output; fuel is identical across runs', async (t) => {
  const hash = await prep(CAT);
  const input = randomBytes(300_000);
  const a = await runtime.run({ moduleHash: hash, input: { bytes: input }, limits, account: 'a' });
  t.is(a.state, 'succeeded', a.message);
  t.true(Buffer.from(a.output).equals(input));
  t.is(a.outputHash, createHash('sha256').update(input).digest('hex'));
  const b = await runtime.run({ moduleHash: hash, input: { bytes: input }, limits, account: 'b' });
  t.is(b.fuelUsed, a.fuelUsed);
  t.true(a.fuelUsed > 0n);
  // The budget covers the job's whole count, across its own module and the WASI adapter's.
  const exact = await runtime.run({ moduleHash: hash, input: { bytes: input }, limits: { ...limits, fuel: a.fuelUsed }, account: 'a' });
  t.is(exact.state, 'succeeded', exact.message);
  const short = await runtime.run({ moduleHash: hash, input: { bytes: input }, limits: { ...limits, fuel: a.fuelUsed - 1n }, account: 'a' });
  t.is(short.code, 'ERR_JOB_OUT_OF_FUEL');
  t.is(short.fuelUsed, a.fuelUsed - 1n, 'an out-of-fuel job is charged its limit');
});

test('each limit ends the job with its own code, never as success', async (t) => {
  const spin = await runtime.run({ moduleHash: await prep(SPIN), input: { bytes: new Uint8Array() }, limits: { ...limits, fuel: 1n << 55n, timeoutMs: 300 }, account: 'a' });
  t.is(spin.code, 'ERR_JOB_TIMEOUT');
  t.is(spin.fuelUsed, 1n << 55n, 'a job stopped by the clock is charged its fuel limit');
  const fuel = await runtime.run({ moduleHash: await prep(SPIN), input: { bytes: new Uint8Array() }, limits: { ...limits, fuel: 100_000n }, account: 'a' });
  t.is(fuel.code, 'ERR_JOB_OUT_OF_FUEL');
  t.is(fuel.fuelUsed, 100_000n);
  const flood = await runtime.run({ moduleHash: await prep(FLOOD), input: { bytes: new Uint8Array() }, limits: { ...limits, outputBytes: 1_000_000 }, account: 'a' });
  t.is(flood.code, 'ERR_JOB_OUTPUT_LIMIT');
  const grow = await runtime.run({ moduleHash: await prep(GROW), input: { bytes: new Uint8Array() }, limits: { ...limits, memoryMiB: 4 }, account: 'a' });
  t.is(grow.code, 'ERR_JOB_MEMORY_LIMIT');
  const exit = await runtime.run({ moduleHash: await prep(EXIT3), input: { bytes: new Uint8Array() }, limits, account: 'a' });
  t.is(exit.state, 'failed');
  t.is(exit.code, 'ERR_JOB_EXIT_NONZERO');
  t.regex(exit.stderrTail, /boom/);
  const trap = await runtime.run({ moduleHash: await prep(TRAP), input: { bytes: new Uint8Array() }, limits, account: 'a' });
  t.is(trap.code, 'ERR_JOB_TRAP');
});

test('a hanging job does not block another job running beside it', async (t) => {
  const spin = await prep(SPIN);
  const cat = await prep(CAT);
  const hung = runtime.run({ moduleHash: spin, input: { bytes: new Uint8Array() }, limits: { ...limits, fuel: 1n << 55n, timeoutMs: 2000 }, account: 'mallory' });
  const ok = await runtime.run({ moduleHash: cat, input: { bytes: Buffer.from('still here') }, limits, account: 'alice' });
  t.is(Buffer.from(ok.output).toString(), 'still here');
  t.is((await hung).code, 'ERR_JOB_TIMEOUT');
  const after = await runtime.run({ moduleHash: cat, input: { bytes: Buffer.from('again') }, limits, account: 'alice' });
  t.is(Buffer.from(after.output).toString(), 'again', 'the replaced worker serves new jobs');
});

test('side inputs are readable under /inputs and nothing there is writable', async (t) => {
  const { CAT_SIDE } = await import('./fixtures.ts');
  const hash = await prep(CAT_SIDE);
  const side = Buffer.from('a small side input\n'.repeat(100));
  const r = await runtime.run({ moduleHash: hash, input: { bytes: new Uint8Array() }, sideInputs: { 'side.txt': side }, limits, account: 'a' });
  t.is(r.state, 'succeeded', `${r.code} ${r.message} ${r.stderrTail}`);
  t.true(Buffer.from(r.output).equals(side));
  const missing = await runtime.run({ moduleHash: hash, input: { bytes: new Uint8Array() }, sideInputs: { 'other.txt': side }, limits, account: 'a' });
  t.is(missing.code, 'ERR_JOB_EXIT_NONZERO', 'opening a name that is not there fails inside the job');
});

test('the queue is fair between accounts: a second account is not stuck behind a first one\'s backlog', async (t) => {
  const one = createJobRuntime({ cacheDir: join(dir, 'fair'), workers: 1 });
  await one.start();
  t.teardown(() => one.stop());
  const hash = (await one.prepare(await wat(CAT))).hash;
  const order: string[] = [];
  const run = (account: string, i: number) => one.run({ moduleHash: hash, input: { bytes: Buffer.from(`${account}${i}`) }, limits, account })
    .then((r) => { order.push(Buffer.from(r.output).toString()); });
  const backlog = Array.from({ length: 6 }, (_, i) => run('mallory', i));
  const alice = run('alice', 0);
  await Promise.all([...backlog, alice]);
  // One worker: mallory's first job is taken at once, then the queue alternates between accounts.
  t.true(order.indexOf('alice0') <= 2, order.join(' '));
  t.deepEqual(order.filter((x) => x.startsWith('mallory')), ['mallory0', 'mallory1', 'mallory2', 'mallory3', 'mallory4', 'mallory5'], 'each account\'s jobs keep their order');
});

test('jobs of a module nobody prepared yet, arriving together, all run', async (t) => {
  const bytes = await wat(CAT.replace('(memory', '(global $unused i32 (i32.const 7)) (memory'));
  const results = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
    const { hash } = await runtime.prepare(bytes);
    return runtime.run({ moduleHash: hash, input: { bytes: Buffer.from(`job ${i}`) }, limits, account: `a${i % 2}` });
  }));
  t.deepEqual(results.map((r) => Buffer.from(r.output).toString()), Array.from({ length: 6 }, (_, i) => `job ${i}`));
});
