// Hostile jobs against the job runtime's limits: each sends the worst version of one attack and
// checks the stable code, the fuel charged, that the node's memory stayed bounded, and that the
// runtime still runs a plain job afterwards.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJobRuntime, type JobRuntime, type JobLimits } from '../src/runtime.ts';
import {
  wat, componentWat, CAT, SPIN, TABLE_BOMB, FILL_LOOP, byteWriter, GROW_CHUNKS, BIG_INITIAL, eightInstances, elemBomb, RANDOM_LOOP,
} from './fixtures.ts';

let runtime: JobRuntime;
let dir: string;
const limits: JobLimits = { fuel: 1_000_000_000n, memoryMiB: 16, timeoutMs: 60_000, outputBytes: 1 << 20 };
const empty = { bytes: new Uint8Array() };
const MB = 1024 * 1024;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-limits-'));
  runtime = createJobRuntime({ cacheDir: join(dir, 'main'), workers: 2 });
  await runtime.start();
});
test.after.always(async () => {
  await runtime?.stop();
  await rm(dir, { recursive: true, force: true });
});

const prep = async (src: string): Promise<string> => (await runtime.prepare(await wat(src))).hash;

/** Runs a job while sampling the process's RSS; returns the result and the peak growth in bytes. */
async function measured<T>(job: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  try {
    const result = await job();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(sample);
  }
}

async function stillHealthy(t: { is(a: unknown, b: unknown, m?: string): void }, rt = runtime): Promise<void> {
  const hash = (await rt.prepare(await wat(CAT))).hash;
  const ok = await rt.run({ moduleHash: hash, input: { bytes: Buffer.from('still here') }, limits, account: 'healthy' });
  t.is(Buffer.from(ok.output).toString(), 'still here', 'the runtime still runs a plain job');
}

for (const how of ['grow', 'declare'] as const) {
  test.serial(`a component whose eight core instances each ${how} and fill 32 MiB is stopped at the job's 32 MiB in all`, async (t) => {
    const { hash } = await runtime.prepare(await componentWat(eightInstances(how)));
    const { result, growth } = await measured(() => runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, memoryMiB: 32 }, account: 'mallory' }));
    t.is(result.code, 'ERR_JOB_MEMORY_LIMIT', result.message);
    t.is(result.state, 'failed');
    // One instance's 32 MiB, not eight times that (the unbounded run grew the process by ~270 MB).
    t.true(growth < 120 * MB, `the process grew by ${Math.round(growth / MB)} MB`);
    await stillHealthy(t);
  });
}

test.serial('growing two tables by ten million entries each is refused by the job\'s memory budget, at once', async (t) => {
  const { result, growth } = await measured(async () => runtime.run({ moduleHash: await prep(TABLE_BOMB), input: empty, limits: { ...limits, fuel: 1_000_000n }, account: 'mallory' }));
  t.is(result.code, 'ERR_JOB_MEMORY_LIMIT', result.message);
  t.true(result.fuelUsed < 1_000_000n, 'a refused grow costs no fuel for what it did not add');
  t.true(growth < 100 * MB, `the process grew by ${Math.round(growth / MB)} MB (unbounded: ~700 MB)`);
  await stillHealthy(t);
});

test('element segments count against the job\'s memory: a huge one is refused before the job takes a worker', async (t) => {
  const hash = await prep(elemBomb(300_000));
  const r = await runtime.run({ moduleHash: hash, input: empty, limits, account: 'mallory' });
  t.is(r.code, 'ERR_JOB_MEMORY_LIMIT', r.message);
  t.is(r.durationMs, 0, 'refused without running');
  const small = await runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, memoryMiB: 64 }, account: 'mallory' });
  t.is(small.state, 'succeeded', `${small.code} ${small.message}`);
});

test('bulk memory instructions pay fuel by their length: a fill loop ends out of fuel, not by the clock', async (t) => {
  const r = await runtime.run({ moduleHash: await prep(FILL_LOOP), input: empty, limits: { ...limits, fuel: 1_000_000n, timeoutMs: 120_000 }, account: 'mallory' });
  t.is(r.code, 'ERR_JOB_OUT_OF_FUEL', r.message);
  t.is(r.fuelUsed, 1_000_000n);
  await stillHealthy(t);
});

test.serial('output written one byte per call costs the node its bytes, and every call pays fuel', async (t) => {
  const n = 100_000;
  const hash = await prep(byteWriter(n));
  const { result, growth } = await measured(() => runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, fuel: 10_000_000_000n }, account: 'mallory' }));
  t.is(result.state, 'succeeded', `${result.code} ${result.message}`);
  t.is(result.output.length, n);
  t.true(Buffer.from(result.output).equals(Buffer.alloc(n, 'x')));
  // Each write crosses the host at least once, at 3000 fuel a call.
  t.true(result.fuelUsed > BigInt(n) * 3000n, `fuel ${result.fuelUsed}`);
  // Unbatched, 100 000 writes cost ~40 MB (400 MB per MiB); batched, about the output itself.
  t.true(growth < 30 * MB, `the process grew by ${Math.round(growth / MB)} MB`);
  const capped = await runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, fuel: 10_000_000_000n, outputBytes: 5000 }, account: 'mallory' });
  t.is(capped.code, 'ERR_JOB_OUTPUT_LIMIT');
  t.is(capped.output.length, 5000, 'what was written up to the limit is kept');
  const poor = await runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, fuel: 5_000_000n }, account: 'mallory' });
  t.is(poor.code, 'ERR_JOB_OUT_OF_FUEL', 'host calls alone exhaust a small budget');
});

test('a grow loop that stops below the cap ends as a memory limit, not a trap', async (t) => {
  const r = await runtime.run({ moduleHash: await prep(GROW_CHUNKS), input: empty, limits, account: 'mallory' });
  t.is(r.code, 'ERR_JOB_MEMORY_LIMIT', r.message);
  t.true(r.fuelUsed > 0n && r.fuelUsed < limits.fuel);
});

test('a module that declares more memory than the job\'s cap is refused before it takes a worker, which stays free', async (t) => {
  const one = createJobRuntime({ cacheDir: join(dir, 'one'), workers: 1 });
  await one.start();
  t.teardown(() => one.stop());
  const big = (await one.prepare(await wat(BIG_INITIAL))).hash;
  const cat = (await one.prepare(await wat(CAT))).hash;
  // A long timeout: if the refused job held the only worker until its timer, the next job would wait for it.
  const long = { ...limits, timeoutMs: 10 * 60_000 };
  const refused = one.run({ moduleHash: big, input: empty, limits: long, account: 'mallory' });
  const next = one.run({ moduleHash: cat, input: { bytes: Buffer.from('next') }, limits: long, account: 'alice' });
  const r = await refused;
  t.is(r.code, 'ERR_JOB_MEMORY_LIMIT');
  t.is(r.fuelUsed, 0n);
  t.is(r.durationMs, 0);
  t.is(Buffer.from((await next).output).toString(), 'next');
  // Many at once, interleaved with good jobs: every one answered, the process alive.
  const mixed = await Promise.all(Array.from({ length: 10 }, (_, i) => one.run({ moduleHash: i % 2 ? big : cat, input: { bytes: Buffer.from(`j${i}`) }, limits: long, account: `a${i % 3}` })));
  t.deepEqual(mixed.map((m) => m.code ?? Buffer.from(m.output).toString()), Array.from({ length: 10 }, (_, i) => (i % 2 ? 'ERR_JOB_MEMORY_LIMIT' : `j${i}`)));
  await stillHealthy(t, one);
});

test('limits that make no sense are refused with ERR_INVALID_ARGUMENT', async (t) => {
  const hash = await prep(CAT);
  for (const bad of [{ fuel: 0n }, { fuel: 5 as unknown as bigint }, { memoryMiB: 0 }, { memoryMiB: Number.NaN }, { timeoutMs: -1 }, { outputBytes: -1 }, { outputBytes: Number.POSITIVE_INFINITY }]) {
    const e = await t.throwsAsync(runtime.run({ moduleHash: hash, input: empty, limits: { ...limits, ...bad }, account: 'a' }));
    t.is((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT', JSON.stringify(bad, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
});

test('the prepared-module cache is bounded in bytes, evicts the least recently used, and keeps one copy per module whatever the caps', async (t) => {
  const small = createJobRuntime({ cacheDir: join(dir, 'small'), workers: 1, cacheBytes: 1_500_000, maxModuleBytes: 200_000 });
  await small.start();
  t.teardown(() => small.stop());
  const variants = await Promise.all(Array.from({ length: 6 }, (_, i) => wat(CAT.replace('(memory', `(global i32 (i32.const ${i})) (memory`))));
  const hashes: string[] = [];
  for (const v of variants) hashes.push((await small.prepare(v)).hash);
  const stats = small.cacheStats();
  t.true(stats.bytes <= stats.maxBytes, `${stats.bytes} accounted bytes within ${stats.maxBytes}`);
  t.true(stats.modules < 6, `${stats.modules} modules kept`);
  const last = hashes.at(-1)!;
  t.is(await small.prepare(variants.at(-1)!), await small.prepare(variants.at(-1)!), 'a cached module is answered from the cache, not prepared again');
  const before = small.cacheStats().bytes;
  for (const memoryMiB of [4, 8, 12, 16, 20]) {
    const r = await small.run({ moduleHash: last, input: { bytes: Buffer.from('m') }, limits: { ...limits, memoryMiB }, account: 'a' });
    t.is(Buffer.from(r.output).toString(), 'm');
  }
  t.is(small.cacheStats().bytes, before, 'running under other memory caps compiles nothing new');
  const e = await t.throwsAsync(small.run({ moduleHash: hashes[0]!, input: empty, limits, account: 'a' }));
  t.is((e as { code?: string }).code, 'ERR_NOT_FOUND', 'the least recently used module was evicted');
  t.is((await small.prepare(variants[0]!)).hash, hashes[0]!, 'an evicted module is prepared again');
  const r = await small.run({ moduleHash: hashes[0]!, input: { bytes: Buffer.from('again') }, limits, account: 'a' });
  t.is(Buffer.from(r.output).toString(), 'again');
  const tooBig = await t.throwsAsync(small.prepare(new Uint8Array(200_001)));
  t.is((tooBig as { code?: string }).code, 'ERR_PAYLOAD_TOO_LARGE');
});

test('stdout written one byte at a time reaches the node in chunks, not one message per write', async (t) => {
  const { createHost } = (await import('../src/worker/host.mjs' as string)) as { createHost(spec: object): { 'wasi:cli/stdout': { getStdout(): { write(b: Uint8Array): void } }; flushOutput(): void } };
  const chunks: Uint8Array[] = [];
  let calls = 0;
  const host = createHost({
    readInput: () => new Uint8Array(), args: [], env: [], inputs: new Map(), outputLimit: 1 << 20,
    onStdout: (b: Uint8Array) => chunks.push(b), onStderr: () => {}, charge: () => { calls++; }, reserve: () => {},
  });
  const stdout = host['wasi:cli/stdout'].getStdout();
  const one = new Uint8Array([120]);
  for (let i = 0; i < 200_000; i++) stdout.write(one);
  host.flushOutput();
  t.true(chunks.length <= 4, `${chunks.length} chunks for 200000 writes`);
  t.is(chunks.reduce((n, c) => n + c.length, 0), 200_000);
  t.is(calls, 200_001, 'every call into the host is charged');
});

test('random bytes are paid by size, and no call may ask the host for more than 64 KiB', async (t) => {
  const r = await runtime.run({ moduleHash: await prep(RANDOM_LOOP), input: empty, limits: { ...limits, fuel: 20_000_000n, timeoutMs: 120_000 }, account: 'mallory' });
  t.is(r.code, 'ERR_JOB_OUT_OF_FUEL', r.message);
  const { createHost } = (await import('../src/worker/host.mjs' as string)) as { createHost(spec: object): { 'wasi:random/random': { getRandomBytes(n: bigint): Uint8Array } } };
  let fuel = 0n;
  const host = createHost({
    readInput: () => new Uint8Array(), args: [], env: [], inputs: new Map(), outputLimit: 0, onStdout: () => {}, onStderr: () => {},
    charge: () => {}, chargeFuel: (n: bigint) => { fuel += n; }, reserve: () => {},
  });
  t.is(host['wasi:random/random'].getRandomBytes(1000n).length, 1000);
  t.is(fuel, 100_000n);
  t.throws(() => host['wasi:random/random'].getRandomBytes(1n << 20n), { message: /at most 65536/ });
});

test('a job aborted by its caller frees its worker and the runtime goes on', async (t) => {
  const ac = new AbortController();
  const hung = runtime.run({ moduleHash: await prep(SPIN), input: empty, limits: { ...limits, fuel: 1n << 55n }, account: 'mallory' }, { signal: ac.signal });
  ac.abort();
  const e = await t.throwsAsync(hung);
  t.is((e as { code?: string }).code, 'ERR_ABORTED');
  await stillHealthy(t);
});

test('stopping the runtime answers its running and queued jobs and starts no new worker', async (t) => {
  const one = createJobRuntime({ cacheDir: join(dir, 'stop'), workers: 1 });
  await one.start();
  const spin = (await one.prepare(await wat(SPIN))).hash;
  const running = one.run({ moduleHash: spin, input: empty, limits: { ...limits, fuel: 1n << 55n }, account: 'a' });
  const queued = one.run({ moduleHash: spin, input: empty, limits: { ...limits, fuel: 1n << 55n }, account: 'b' });
  await one.stop();
  for (const p of [running, queued]) t.is(codeOfRejection(await p.then(() => undefined, (e: unknown) => e)), 'ERR_NODE_UNAVAILABLE');
  const after = await t.throwsAsync(one.run({ moduleHash: spin, input: empty, limits, account: 'a' }));
  t.is((after as { code?: string }).code, 'ERR_NODE_UNAVAILABLE');
});

const codeOfRejection = (e: unknown): string | undefined => (e as { code?: string } | undefined)?.code;
