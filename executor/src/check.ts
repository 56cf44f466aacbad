// Checking a job module without running it, as a node's runtime would before it runs it: its
// size, that it is a component or a WASI preview1 command that can be wrapped into one, that it
// imports nothing outside the job interface, that its code instruments and compiles and, given the
// job's memory limit, that what its instances declare at start fits in it. A client calls this
// before escrowing anything for a job.

import { InsituError } from '@insitu/protocol';
import { prepareModule } from './component.ts';
import { instrument, footprintBytes } from './wasm/instrument.ts';
import { DEFAULT_MAX_MODULE_BYTES, type PreparedJob } from './runtime.ts';

export interface CheckedModule extends PreparedJob {
  /** Bytes of memories and tables its instances declare at start: a job needs at least this much memory. */
  footprint: number;
}

export async function checkModule(bytes: Uint8Array, opts: { maxModuleBytes?: number; memoryMiB?: number } = {}): Promise<CheckedModule> {
  const max = opts.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (bytes.length > max) throw new InsituError('ERR_PAYLOAD_TOO_LARGE', `the module is ${bytes.length} bytes; nodes run modules of at most ${max} bytes`);
  const module = await prepareModule(bytes);
  let footprint = 0;
  for (const [name, core] of Object.entries(module.coreModules)) {
    const out = instrument(core);
    footprint += footprintBytes(out.footprint);
    try {
      await WebAssembly.compile(out.bytes as Uint8Array<ArrayBuffer>);
    } catch (cause) {
      throw new InsituError('ERR_JOB_INVALID_MODULE', `core module ${name} does not compile: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
    }
  }
  const memoryBytes = opts.memoryMiB === undefined ? Infinity : Math.floor(opts.memoryMiB * 1024 * 1024);
  if (footprint > memoryBytes) {
    throw new InsituError('ERR_JOB_MEMORY_LIMIT', `the module declares ${footprint} bytes of memories and tables at start; the job's limit is ${memoryBytes} bytes`);
  }
  return { hash: module.hash, kind: module.kind, imports: module.imports, footprint };
}
