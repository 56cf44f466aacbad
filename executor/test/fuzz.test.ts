// Seeded random byte mutations of valid job modules, through the instrumenter, the engine and the
// whole runtime: every mutant ends refused with a stable code or run within its limits, never as a
// crash or ERR_INTERNAL, and the runtime still runs a valid job afterwards. Replay a failure with
// INSITU_TEST_SEED=<printed seed>.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng, testSeed } from '@insitu/test/random';
import { instrument, footprintBytes, HOST_MODULE } from '../src/wasm/instrument.ts';
import { prepareModule } from '../src/component.ts';
import { createJobRuntime, type JobLimits } from '../src/runtime.ts';
import { wat, CAT, EXIT3, GROW, TABLE_BOMB, FILL_LOOP, CAT_SIDE } from './fixtures.ts';

const REFUSALS = new Set(['ERR_JOB_INVALID_MODULE', 'ERR_JOB_MEMORY_LIMIT', 'ERR_JOB_FORBIDDEN_IMPORT', 'ERR_JOB_NO_ENTRYPOINT']);
const limits: JobLimits = { fuel: 2_000_000n, memoryMiB: 8, timeoutMs: 20_000, outputBytes: 64 * 1024 };
const BUDGET = BigInt(limits.memoryMiB) << 20n;

type Rand = (n: number) => number;

function mutate(rand: Rand, base: Uint8Array): Uint8Array {
  let b = Array.from(base);
  const edits = 1 + rand(4);
  for (let e = 0; e < edits; e++) {
    const at = rand(b.length + 1);
    switch (rand(7)) {
      case 0: b[Math.min(at, b.length - 1)]! ^= 1 << rand(8); break;
      case 1: b[Math.min(at, b.length - 1)] = rand(256); break;
      case 2: b[Math.min(at, b.length - 1)] = [0x00, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0xfc][rand(7)]!; break;
      case 3: b.splice(at, 0, rand(256)); break;
      case 4: b.splice(at, 1 + rand(8)); break;
      case 5: b = b.slice(0, Math.max(8, at)); break;
      default: {
        const from = rand(b.length);
        b.splice(at, 0, ...b.slice(from, from + 1 + rand(16)));
      }
    }
  }
  return new Uint8Array(b);
}

/** Imports for any mutant: every function import returns zero, whatever its name. */
const anyImports = new Proxy({}, { get: () => new Proxy({}, { get: () => () => 0 }) }) as WebAssembly.Imports;

const codeOf = (e: unknown): string | undefined => (e as { code?: string })?.code;

test('thousands of mutated modules through the instrumenter and the engine: refused with a stable code, or run within their fuel and memory', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const component = await prepareModule(await wat(CAT));
  const bases = [
    ...await Promise.all([CAT, EXIT3, GROW, TABLE_BOMB, FILL_LOOP, CAT_SIDE].map((s) => wat(s))),
    ...Object.values(component.coreModules),
  ];
  const tally = { refused: 0, invalidKept: 0, ran: 0, trapped: 0 };
  for (let i = 0; i < 3000; i++) {
    const mutant = mutate(rand, bases[rand(bases.length)]!);
    let out;
    try {
      out = instrument(mutant);
    } catch (e) {
      t.true(REFUSALS.has(codeOf(e)!), `case ${i}: instrument threw ${String(e)}`);
      tally.refused++;
      continue;
    }
    const valid = WebAssembly.validate(mutant as Uint8Array<ArrayBuffer>);
    if (!WebAssembly.validate(out.bytes as Uint8Array<ArrayBuffer>)) {
      // A mutant the engine refuses may stay refused after instrumenting; a valid one may not.
      t.false(valid, `case ${i}: a valid module became invalid when instrumented`);
      tally.invalidKept++;
      continue;
    }
    t.true(valid, `case ${i}: an invalid module became valid when instrumented`);
    if (BigInt(footprintBytes(out.footprint)) > BUDGET) continue;
    const host = {
      fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, 100_000n),
      memory: new WebAssembly.Global({ value: 'i64', mutable: true }, BUDGET - BigInt(footprintBytes(out.footprint))),
      refused: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
    };
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes as Uint8Array<ArrayBuffer>), new Proxy(anyImports, {
        get: (target, name) => (name === HOST_MODULE ? host : Reflect.get(target, name)),
      }));
      for (const f of Object.values(instance.exports)) if (typeof f === 'function') (f as () => unknown)();
      tally.ran++;
    } catch (e) {
      // Link errors, traps, out of fuel, host stack exhaustion inside the guest: all ordinary ends.
      t.true(e instanceof WebAssembly.LinkError || e instanceof WebAssembly.RuntimeError || e instanceof RangeError || e instanceof TypeError, `case ${i}: ${String(e)}`);
      tally.trapped++;
    }
    // A bulk instruction is charged its whole length before it runs: it may overdraw by that much, once.
    t.true(host.fuel.value >= -(1n << 32n), `case ${i}: fuel overdrawn to ${host.fuel.value}`);
    t.true(host.memory.value >= 0n, `case ${i}: memory budget overdrawn to ${host.memory.value}`);
  }
  t.log(tally);
  t.true(tally.refused > 0 && tally.ran + tally.trapped > 0, 'the mutations reach both the refusals and the engine');
});

test('mutated modules through the whole runtime: prepare refuses with a stable code or the job ends with one, and the runtime stays healthy', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const rand = rng(seed ^ 0x5eed);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-fuzz-'));
  const runtime = createJobRuntime({ cacheDir: dir, workers: 2, cacheBytes: 32 * 1024 * 1024 });
  await runtime.start();
  t.teardown(async () => {
    await runtime.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const bases = await Promise.all([CAT, EXIT3, GROW, CAT_SIDE].map((s) => wat(s)));
  const codes = new Map<string, number>();
  const count = (c: string): void => void codes.set(c, (codes.get(c) ?? 0) + 1);
  let wrapped = 0;
  const runs: Promise<void>[] = [];
  for (let i = 0; i < 400 && wrapped < 24; i++) {
    const mutant = mutate(rand, bases[rand(bases.length)]!);
    // Wrapping a valid module with jco is the slow step: only a few dozen valid mutants go that far.
    if (WebAssembly.validate(mutant as Uint8Array<ArrayBuffer>)) wrapped++;
    let hash: string;
    try {
      hash = (await runtime.prepare(mutant)).hash;
    } catch (e) {
      t.true(REFUSALS.has(codeOf(e)!), `case ${i}: prepare threw ${codeOf(e)} ${String(e)}`);
      count(`prepare ${codeOf(e)}`);
      continue;
    }
    runs.push(runtime.run({ moduleHash: hash, input: { bytes: Buffer.from(`input ${i}\n`) }, limits, account: `a${i % 3}` }).then((r) => {
      t.not(r.code, 'ERR_INTERNAL', `case ${i}: ${r.message}`);
      count(r.code ?? r.state);
    }, (e) => {
      t.fail(`case ${i}: run threw ${String(e)}`);
    }));
  }
  await Promise.all(runs);
  t.log(Object.fromEntries(codes));
  const hash = (await runtime.prepare(await wat(CAT))).hash;
  const ok = await runtime.run({ moduleHash: hash, input: { bytes: Buffer.from('healthy') }, limits, account: 'check' });
  t.is(Buffer.from(ok.output).toString(), 'healthy');
});
