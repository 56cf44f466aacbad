// Runs one prepared job component against the insitu WASI host and classifies how it ended.
// The job's fuel, its memory budget and the "a grow was refused" flag are three globals created
// here, once per job, and imported by every core instance of the job (see wasm/instrument.ts), so
// the limits hold for the job as a whole however many core instances it has.
// Plain JavaScript: it runs inside worker threads.

import { openSync, readSync, closeSync } from 'node:fs';
import { createHost, JobExit, OutputLimit, OutOfFuel, MemoryLimit } from './host.mjs';

const HOST_MODULE = '__insitu';
/**
 * What each call into the host costs. Measured: a one-byte write through the preview1 adapter
 * takes ~4 µs of CPU where a plain wasm loop spends ~1 ns per unit of fuel; the adapter's own
 * instructions pay ~700 of that, the crossing into the host the rest.
 */
export const HOST_CALL_FUEL = 3000n;

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
 * @param {{ glueUrl: string, modules: Record<string, WebAssembly.Module>, footprints: Record<string, number>,
 *   input: object, args: string[], env: [string, string][], inputs: [string, Uint8Array][], fuel: bigint,
 *   outputLimit: number, memoryBytes: number, onStdout(b: Uint8Array): void, onStderr(b: Uint8Array): void }} job
 * @returns {Promise<{ state: 'succeeded'|'failed', code?: string, message?: string, exitCode: number, fuelUsed: bigint }>}
 */
export async function runJob({ glueUrl, modules, footprints, input, args, env, inputs, fuel, outputLimit, memoryBytes, onStdout, onStderr }) {
  const fuelLeft = new WebAssembly.Global({ value: 'i64', mutable: true }, fuel);
  const memoryLeft = new WebAssembly.Global({ value: 'i64', mutable: true }, BigInt(memoryBytes));
  const refused = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  const shared = { fuel: fuelLeft, memory: memoryLeft, refused };
  const charge = (amount) => {
    fuelLeft.value -= amount;
    if (fuelLeft.value < 0n) throw new OutOfFuel();
  };
  /** Host buffers that scale with a guest's request are charged against the job's memory too, while they live. */
  const reserve = (bytes) => {
    if (memoryLeft.value < BigInt(bytes)) {
      refused.value = 1;
      throw new MemoryLimit(`a host buffer of ${bytes} bytes is above the job's memory left`);
    }
  };
  const footprintOf = new Map(Object.entries(modules).map(([name, m]) => [m, BigInt(footprints[name] ?? 0)]));
  let reader;
  const host = createHost({
    readInput: (n) => reader.read(n), args, env, inputs: new Map(inputs), outputLimit, onStdout, onStderr, seed: 0n,
    charge: () => charge(HOST_CALL_FUEL), chargeFuel: charge, reserve,
  });
  const instantiateCore = (module, imports) => {
    // An instance's declared memories, tables and element segments exist before its first
    // instruction: they are charged to the budget first, also when the glue instantiates a module twice.
    const cost = footprintOf.get(module);
    if (cost === undefined) throw new TypeError('the glue asked for a core module the job does not have');
    if (memoryLeft.value < cost) {
      refused.value = 1;
      throw new MemoryLimit(`instantiating a core module needs ${cost} bytes; the job has ${memoryLeft.value} left`);
    }
    memoryLeft.value -= cost;
    return new WebAssembly.Instance(module, { ...imports, [HOST_MODULE]: shared });
  };
  const used = () => (fuelLeft.value < 0n ? fuel : fuel - fuelLeft.value);
  const outOfFuel = /** @type {const} */ ({ state: 'failed', code: 'ERR_JOB_OUT_OF_FUEL', message: 'the job used more than its fuel', exitCode: -1, fuelUsed: fuel });
  try {
    reader = inputReader(input);
    const { instantiate } = await import(glueUrl);
    const component = await instantiate((name) => modules[name], host, instantiateCore);
    const run = component.run ?? Object.entries(component).find(([k]) => k.startsWith('wasi:cli/run'))?.[1];
    run.run();
    host.flushOutput();
    if (fuelLeft.value < 0n) return outOfFuel;
    return { state: 'succeeded', exitCode: 0, fuelUsed: used() };
  } catch (/** @type {any} */ e) {
    const err = e?.payload ?? e;
    if (err instanceof JobExit) {
      if (fuelLeft.value < 0n) return outOfFuel;
      host.flushOutput();
      if (err.exitCode === 0) return { state: 'succeeded', exitCode: 0, fuelUsed: used() };
      return { state: 'failed', code: 'ERR_JOB_EXIT_NONZERO', message: `the job exited with status ${err.exitCode}`, exitCode: err.exitCode, fuelUsed: used() };
    }
    if (err instanceof OutputLimit) {
      return { state: 'failed', code: 'ERR_JOB_OUTPUT_LIMIT', message: `output exceeded ${outputLimit} bytes`, exitCode: -1, fuelUsed: used() };
    }
    if (err instanceof OutOfFuel || fuelLeft.value < 0n) return outOfFuel;
    if (err instanceof MemoryLimit || refused.value !== 0) {
      return { state: 'failed', code: 'ERR_JOB_MEMORY_LIMIT', message: `the job failed at its memory limit (${memoryBytes} bytes in all): ${String(err?.message ?? err)}`, exitCode: -1, fuelUsed: used() };
    }
    if (e instanceof WebAssembly.RuntimeError || e?.name === 'RuntimeError') {
      return { state: 'failed', code: 'ERR_JOB_TRAP', message: `the job trapped: ${e.message}`, exitCode: -1, fuelUsed: used() };
    }
    return { state: 'failed', code: 'ERR_JOB_TRAP', message: `the job failed: ${String(err?.message ?? err)}`, exitCode: -1, fuelUsed: used() };
  } finally {
    reader?.close();
  }
}
