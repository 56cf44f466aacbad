// Preparing a submitted job module: a bare WASI preview1 core module is wrapped into a WASI 0.2
// command component with jco's bundled adapter; the component is transpiled once (async
// instantiation, no preview2-shim) and its imports are checked against the job interface. What
// comes out is content-addressed by the SHA-256 of the submitted bytes. jco itself runs in a
// process of its own (worker/jco.mjs) that ends once no preparation has come for JCO_IDLE_MS:
// loaded, it holds about 50 MiB of compiled WebAssembly and a transpile grows its memory by as
// much again, which a node would otherwise keep for the rest of its life after its first job
// (in a thread too: the allocator keeps what threads freed).

import { createHash } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

type Transpiled = { files: Record<string, Uint8Array>; imports: string[]; exports: [string, string][] };
/** A failure at `wrap` or `transpile` is the module's; at `process`, the toolchain's process died. */
type Answer = ({ ok: true } & Transpiled) | { ok: false; stage: 'wrap' | 'transpile' | 'process'; message: string };

/** How long jco's process waits for another preparation before it ends. */
export const JCO_IDLE_MS = 5000;
const jcoFile = fileURLToPath(new URL('./worker/jco.mjs', import.meta.url));
type JcoProcess = { child: ChildProcess; pending: Map<number, (a: Answer) => void>; idle?: NodeJS.Timeout };
let jcoProcess: JcoProcess | undefined;
let nextId = 0;

/** Wraps (when `wrap`) and transpiles in jco's process, starting it if it has ended. */
function runJco(bytes: Uint8Array, wrap: boolean, opts: object): Promise<Answer> {
  if (!jcoProcess) {
    // Plain JavaScript: no loader (tsx) from this process's arguments; stdout is not the node's.
    const child = fork(jcoFile, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const p: JcoProcess = { child, pending: new Map() };
    const fail = (message: string): void => {
      if (jcoProcess === p) jcoProcess = undefined;
      for (const answer of p.pending.values()) answer({ ok: false, stage: 'process', message });
      p.pending.clear();
    };
    child.on('message', (a: Answer & { id: number }) => {
      p.pending.get(a.id)?.(a);
      p.pending.delete(a.id);
      if (p.pending.size > 0) return;
      // Idle: the process no longer keeps this one alive, and ends if nothing more comes.
      child.channel?.unref();
      child.unref();
      p.idle = setTimeout(() => {
        if (jcoProcess === p) jcoProcess = undefined;
        child.kill();
      }, JCO_IDLE_MS).unref();
    });
    child.on('error', (e) => fail(`the component toolchain failed: ${e.message}`));
    child.on('exit', (code, signal) => fail(`the component toolchain exited (${signal ?? `code ${code}`})`));
    jcoProcess = p;
  }
  const p = jcoProcess;
  clearTimeout(p.idle);
  p.child.ref();
  p.child.channel?.ref();
  const id = nextId++;
  return new Promise((resolve) => {
    p.pending.set(id, resolve);
    p.child.send({ id, bytes, wrap, opts });
  });
}

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
  }
  const out = await runJco(bytes, kind === 'core', { name: 'job', instantiation: 'async', noTypescript: true, quiet: true, noNodejsCompat: true });
  if (!out.ok) {
    const first = out.message.split('\n')[0];
    // Not a verdict on the module: nothing to settle as a refusal.
    if (out.stage === 'process') throw new InsituError('ERR_INTERNAL', `${first} while preparing the module`);
    throw new InsituError('ERR_JOB_INVALID_MODULE', out.stage === 'wrap' ? `cannot wrap the module as a WASI command: ${first}` : `not a valid component: ${first}`);
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
