// Runs one prepared job component against the insitu WASI host and classifies how it ended.
// Plain JavaScript: it runs inside worker threads.

import { openSync, readSync, closeSync } from 'node:fs';
import { createHost, JobExit, OutputLimit } from './host.mjs';

const FUEL_EXPORT = '__insitu_fuel';

function inputReader(input) {
  if (input.bytes) {
    let at = 0;
    const bytes = input.bytes;
    return { read: (n) => { const out = bytes.subarray(at, Math.min(bytes.length, at + n)); at += out.length; return out; }, close() {} };
  }
  const fd = openSync(input.path, 'r');
  let pos = input.offset ?? 0;
  const end = pos + input.length;
  return {
    read: (n) => {
      const want = Math.min(n, end - pos);
      if (want <= 0) return new Uint8Array(0);
      const buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const r = readSync(fd, buf, got, want - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      pos += got;
      return buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

/**
 * @returns {Promise<{ state: 'succeeded'|'failed', code?: string, message?: string, exitCode: number, fuelUsed: bigint }>}
 */
export async function runJob({ glueUrl, modules, input, args, env, inputs, fuel, outputLimit, memoryPages, onStdout, onStderr }) {
  const reader = inputReader(input);
  const globals = [];
  const memories = [];
  let fuelUsed = 0n;
  const host = createHost({ readInput: reader.read, args, env, inputs: new Map(inputs), outputLimit, onStdout, onStderr, seed: 0n });
  const instantiateCore = (module, imports) => {
    const instance = new WebAssembly.Instance(module, imports);
    const g = instance.exports[FUEL_EXPORT];
    if (g) {
      // Start functions ran against the initial value; charge them to this job's budget.
      const spent = (1n << 60n) - g.value;
      fuelUsed += spent;
      g.value = fuel - spent;
      globals.push({ g, start: fuel - spent });
    }
    for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
    return instance;
  };
  // Each core module (the job's own, the WASI adapter, jco's trampolines) meters into its own
  // counter, each started at the job's budget; the job's fuel is their sum, and a job whose sum
  // passes the budget is out of fuel — also when no single counter ran dry.
  const used = () => fuelUsed + globals.reduce((sum, { g, start }) => sum + (start - g.value), 0n);
  const outOfFuel = () => globals.some(({ g }) => g.value < 0n) || used() > fuel;
  try {
    const { instantiate } = await import(glueUrl);
    const component = await instantiate((name) => modules[name], host, instantiateCore);
    const run = component.run ?? Object.entries(component).find(([k]) => k.startsWith('wasi:cli/run'))?.[1];
    run.run();
    if (outOfFuel()) return { state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job used more than its fuel', exitCode: -1, fuelUsed: fuel };
    return { state: 'succeeded', exitCode: 0, fuelUsed: used() };
  } catch (e) {
    const err = e?.payload ?? e;
    if (err instanceof JobExit || e instanceof JobExit) {
      const code = (err instanceof JobExit ? err : e).exitCode;
      if (outOfFuel()) return { state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job used more than its fuel', exitCode: -1, fuelUsed: fuel };
      return code === 0
        ? { state: 'succeeded', exitCode: 0, fuelUsed: used() }
        : { state: 'failed', code: 'ERR_JOB_EXIT_NONZERO', message: `the job exited with status ${code}`, exitCode: code, fuelUsed: used() };
    }
    if (err instanceof OutputLimit || e instanceof OutputLimit) {
      return { state: 'failed', code: 'ERR_JOB_OUTPUT_LIMIT', message: `output exceeded ${outputLimit} bytes`, exitCode: -1, fuelUsed: used() };
    }
    if (outOfFuel()) return { state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job ran out of fuel', exitCode: -1, fuelUsed: fuel };
    if (memories.some((m) => m.buffer.byteLength >= memoryPages * 65536)) {
      return { state: 'failed', code: 'ERR_JOB_MEMORY_LIMIT', message: `the job failed at its memory limit (${memoryPages} pages): ${String(e?.message ?? e)}`, exitCode: -1, fuelUsed: used() };
    }
    if (e instanceof WebAssembly.RuntimeError || e?.name === 'RuntimeError') {
      return { state: 'failed', code: 'ERR_JOB_TRAP', message: `the job trapped: ${e.message}`, exitCode: -1, fuelUsed: used() };
    }
    return { state: 'failed', code: 'ERR_JOB_TRAP', message: `the job failed: ${String(e?.message ?? e)}`, exitCode: -1, fuelUsed: used() };
  } finally {
    reader.close();
  }
}
