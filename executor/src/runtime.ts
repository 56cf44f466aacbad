// The JobRuntime: prepares job modules once per hash, instruments their core modules for the
// job's memory cap and fuel, and runs jobs in a pool of worker threads with per-account fair
// queueing. A worker whose job hits its wall-clock limit is terminated and replaced, so a hostile
// job cannot hang the node or other jobs.

import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { InsituError, toAbortError } from '@insitu/sdk/errors.ts';
import { silentLogger, type Logger } from '@insitu/sdk/logger.ts';
import { prepareModule, type PreparedModule } from './component.ts';
import { instrument } from './wasm/instrument.ts';

export interface JobLimits {
  fuel: bigint;
  memoryMiB: number;
  timeoutMs: number;
  outputBytes: number;
}

export type JobInput = { bytes: Uint8Array } | { path: string; offset?: number; length: number };

export interface JobSpec {
  moduleHash: string;
  input: JobInput;
  args?: string[];
  env?: Record<string, string>;
  /** Small side inputs, visible read-only under /inputs/<name>. */
  sideInputs?: Record<string, Uint8Array>;
  limits: JobLimits;
  /** Who pays: jobs are queued fairly between accounts. */
  account: string;
}

export interface JobResult {
  state: 'succeeded' | 'failed';
  code?: string;
  message?: string;
  exitCode: number;
  fuelUsed: bigint;
  output: Uint8Array;
  outputHash: string;
  stderrTail: string;
  durationMs: number;
}

export interface JobRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  prepare(module: Uint8Array): Promise<PreparedModule>;
  run(spec: JobSpec, opts?: { signal?: AbortSignal }): Promise<JobResult>;
}

const workerFile = fileURLToPath(new URL('./worker/worker.mjs', import.meta.url));

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  spec: JobSpec;
  signal: AbortSignal | undefined;
  resolve(r: JobResult): void;
  reject(e: unknown): void;
}

export function createJobRuntime(opts: { cacheDir: string; workers?: number; logger?: Logger }): JobRuntime {
  const logger = opts.logger ?? silentLogger;
  const prepared = new Map<string, { module: PreparedModule; glueUrl: string }>();
  const compiled = new Map<string, Record<string, WebAssembly.Module>>();
  const slots: Slot[] = [];
  const queues = new Map<string, Pending[]>();
  const order: string[] = [];
  let running = false;

  const spawn = (): Slot => ({ worker: new Worker(workerFile), busy: false });

  const preparing = new Map<string, Promise<PreparedModule>>();

  /** Once per module hash, also when several jobs of a new module arrive together. */
  function prepare(bytes: Uint8Array): Promise<PreparedModule> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const hit = prepared.get(hash);
    if (hit) return Promise.resolve(hit.module);
    let p = preparing.get(hash);
    if (!p) {
      p = prepareOnce(hash, bytes).finally(() => preparing.delete(hash));
      preparing.set(hash, p);
    }
    return p;
  }

  async function prepareOnce(hash: string, bytes: Uint8Array): Promise<PreparedModule> {
    const module = await prepareModule(bytes);
    const dir = join(opts.cacheDir, hash);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
    // Node 20 has no JSPI: skip the failing WebAssembly.promising probe and the per-call env read.
    const glue = module.glue
      .replaceAll('globalThis?.process?.env?.JCO_DEBUG', 'false')
      .replaceAll('WebAssembly.promising(', '((f) => f)(');
    // Written whole, then renamed: a worker never imports a half-written file.
    const tmp = join(dir, `job.js.${process.pid}.${Date.now()}.tmp`);
    await writeFile(tmp, glue);
    await rename(tmp, join(dir, 'job.js'));
    prepared.set(hash, { module, glueUrl: pathToFileURL(join(dir, 'job.js')).href });
    return module;
  }

  function modulesFor(hash: string, pages: number): Record<string, WebAssembly.Module> {
    const key = `${hash}:${pages}`;
    let mods = compiled.get(key);
    if (!mods) {
      mods = {};
      for (const [name, bytes] of Object.entries(prepared.get(hash)!.module.coreModules)) {
        mods[name] = new WebAssembly.Module(instrument(bytes, { maxMemoryPages: pages, fuel: true }).bytes as Uint8Array<ArrayBuffer>);
      }
      compiled.set(key, mods);
    }
    return mods;
  }

  function next(): Pending | undefined {
    for (let i = 0; i < order.length; i++) {
      const account = order.shift()!;
      const q = queues.get(account)!;
      const job = q.shift();
      if (q.length > 0) order.push(account);
      else queues.delete(account);
      if (job) return job;
    }
    return undefined;
  }

  function pump(): void {
    for (const slot of slots) {
      if (slot.busy) continue;
      const job = next();
      if (!job) return;
      execute(slot, job);
    }
  }

  function execute(slot: Slot, job: Pending): void {
    slot.busy = true;
    const { spec } = job;
    const started = performance.now();
    const chunks: Uint8Array[] = [];
    const hash = createHash('sha256');
    const pages = Math.max(1, Math.floor((spec.limits.memoryMiB * 1024 * 1024) / 65536));
    let settled = false;
    const finish = (r: Omit<JobResult, 'output' | 'outputHash' | 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      slot.worker.off('message', onMessage);
      slot.worker.off('error', onError);
      slot.busy = false;
      job.resolve({ ...r, output: Buffer.concat(chunks), outputHash: hash.digest('hex'), durationMs: performance.now() - started });
      pump();
    };
    const replace = (): void => {
      void slot.worker.terminate();
      slot.worker = spawn().worker;
    };
    const timer = setTimeout(() => {
      replace();
      // A job stopped by the clock is charged its whole fuel limit: it held a worker for all of its
      // time, and its real count died with the worker.
      finish({ state: 'failed', code: 'ERR_JOB_TIMEOUT', message: `the job ran longer than ${spec.limits.timeoutMs} ms`, exitCode: -1, fuelUsed: spec.limits.fuel, stderrTail: '' });
    }, spec.limits.timeoutMs);
    const onAbort = (): void => {
      replace();
      settled = true;
      clearTimeout(timer);
      slot.busy = false;
      job.reject(toAbortError(job.signal?.reason));
      pump();
    };
    job.signal?.addEventListener('abort', onAbort, { once: true });
    const onMessage = (msg: { type: string; bytes?: Uint8Array; result?: Omit<JobResult, 'output' | 'outputHash' | 'durationMs' | 'stderrTail'>; stderr?: string }): void => {
      if (msg.type === 'stdout') {
        chunks.push(msg.bytes!);
        hash.update(msg.bytes!);
      } else if (msg.type === 'done') finish({ ...msg.result!, stderrTail: msg.stderr ?? '' });
    };
    const onError = (e: Error): void => {
      replace();
      finish({ state: 'failed', code: 'ERR_JOB_TRAP', message: `the job's worker failed: ${e.message}`, exitCode: -1, fuelUsed: 0n, stderrTail: '' });
    };
    slot.worker.on('message', onMessage);
    slot.worker.on('error', onError);
    const entry = prepared.get(spec.moduleHash)!;
    slot.worker.postMessage({
      glueUrl: entry.glueUrl,
      modules: modulesFor(spec.moduleHash, pages),
      input: spec.input,
      args: spec.args ?? [],
      env: Object.entries(spec.env ?? {}),
      inputs: Object.entries(spec.sideInputs ?? {}),
      fuel: spec.limits.fuel,
      outputLimit: spec.limits.outputBytes,
      memoryPages: pages,
    });
  }

  return {
    async start() {
      await mkdir(opts.cacheDir, { recursive: true });
      for (let i = 0; i < (opts.workers ?? 2); i++) slots.push(spawn());
      running = true;
    },
    async stop() {
      running = false;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
    prepare,
    run(spec, o = {}) {
      if (!running) return Promise.reject(new InsituError('ERR_NODE_UNAVAILABLE', 'the job runtime is not started'));
      if (!prepared.has(spec.moduleHash)) return Promise.reject(new InsituError('ERR_NOT_FOUND', `module ${spec.moduleHash} is not prepared`));
      return new Promise<JobResult>((resolve, reject) => {
        let q = queues.get(spec.account);
        if (!q) {
          q = [];
          queues.set(spec.account, q);
          order.push(spec.account);
        }
        q.push({ spec, signal: o.signal, resolve, reject });
        logger.debug('job queued', { account: spec.account, module: spec.moduleHash });
        pump();
      });
    },
  };
}
