// Preparing a submitted job module: a bare WASI preview1 core module is wrapped into a WASI 0.2
// command component with jco's bundled adapter; the component is transpiled once (async
// instantiation, no preview2-shim) and its imports are checked against the job interface. What
// comes out is content-addressed by the SHA-256 of the submitted bytes.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InsituError } from '@insitu/protocol';

/** Interfaces a job may import: streams, its own stdio, args/env, exit, a read-only /inputs, fixed clocks and randomness. */
export const ALLOWED_IMPORTS = new Set([
  'wasi:cli/stdin', 'wasi:cli/stdout', 'wasi:cli/stderr', 'wasi:cli/environment', 'wasi:cli/exit',
  'wasi:cli/terminal-input', 'wasi:cli/terminal-output', 'wasi:cli/terminal-stdin', 'wasi:cli/terminal-stdout', 'wasi:cli/terminal-stderr',
  'wasi:io/error', 'wasi:io/streams', 'wasi:io/poll',
  'wasi:filesystem/types', 'wasi:filesystem/preopens',
  'wasi:clocks/wall-clock', 'wasi:clocks/monotonic-clock',
  'wasi:random/random', 'wasi:random/insecure', 'wasi:random/insecure-seed',
]);

export interface PreparedModule {
  /** sha256 of the submitted bytes, hex. */
  hash: string;
  kind: 'core' | 'component';
  imports: string[];
  /** The transpiled glue (ES module source) and the component's core modules by file name. */
  glue: string;
  coreModules: Record<string, Uint8Array>;
}

type Jco = {
  transpile(component: Uint8Array, opts: object): Promise<{ files: Record<string, Uint8Array>; imports: string[]; exports: [string, string][] }>;
  componentNew(core: Uint8Array, adapters: [string, Uint8Array][]): Promise<Uint8Array>;
  preview1AdapterCommandPath(): URL;
};

let jco: Promise<Jco> | undefined;
const loadJco = (): Promise<Jco> => (jco ??= import('@bytecodealliance/jco') as unknown as Promise<Jco>);
let adapter: Promise<Uint8Array> | undefined;

const unversioned = (name: string): string => name.replace(/@[^/]*$/, '');

export function moduleKind(bytes: Uint8Array): 'core' | 'component' {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new InsituError('ERR_JOB_INVALID_MODULE', 'not a WebAssembly module or component (bad magic number)');
  }
  // Core modules are version 1, layer 0; components carry layer 1 in bytes 6..7.
  if (bytes[6] === 1 && bytes[7] === 0) return 'component';
  if (bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return 'core';
  throw new InsituError('ERR_JOB_INVALID_MODULE', 'unsupported WebAssembly binary version');
}

export async function prepareModule(bytes: Uint8Array): Promise<PreparedModule> {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const kind = moduleKind(bytes);
  const j = await loadJco();
  let component = bytes;
  if (kind === 'core') {
    if (!WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) throw new InsituError('ERR_JOB_INVALID_MODULE', 'the core module does not validate');
    const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    if (!WebAssembly.Module.exports(mod).some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new InsituError('ERR_JOB_NO_ENTRYPOINT', 'a preview1 job must export a _start function (a WASI command)');
    }
    const foreign = WebAssembly.Module.imports(mod).filter((i) => i.module !== 'wasi_snapshot_preview1');
    if (foreign.length > 0) {
      throw new InsituError('ERR_JOB_FORBIDDEN_IMPORT', `the module imports outside WASI preview1: ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}`);
    }
    adapter ??= readFile(j.preview1AdapterCommandPath()).then((b) => new Uint8Array(b));
    try {
      component = await j.componentNew(bytes, [['wasi_snapshot_preview1', await adapter]]);
    } catch (cause) {
      throw new InsituError('ERR_JOB_INVALID_MODULE', `cannot wrap the module as a WASI command: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
    }
  }
  let out;
  try {
    out = await j.transpile(component, { name: 'job', instantiation: 'async', noTypescript: true, quiet: true, noNodejsCompat: true });
  } catch (cause) {
    throw new InsituError('ERR_JOB_INVALID_MODULE', `not a valid component: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
  }
  const imports = [...new Set(out.imports.map(unversioned))].sort();
  const forbidden = imports.filter((i) => !ALLOWED_IMPORTS.has(i));
  if (forbidden.length > 0) throw new InsituError('ERR_JOB_FORBIDDEN_IMPORT', `the job imports interfaces outside the job interface: ${forbidden.join(', ')}`);
  if (!out.exports.some(([name]) => unversioned(name) === 'wasi:cli/run')) {
    throw new InsituError('ERR_JOB_NO_ENTRYPOINT', 'the component does not export wasi:cli/run');
  }
  const coreModules: Record<string, Uint8Array> = {};
  for (const [name, data] of Object.entries(out.files)) if (name.endsWith('.wasm')) coreModules[name] = data;
  const glue = Buffer.from(out.files['job.js']!).toString('utf8');
  return { hash, kind, imports, glue, coreModules };
}
