// The JobRuntime: prepares job modules once per hash (wrapping, transpiling, instrumenting and
// compiling their core modules, independently of any job's limits), keeps them in a cache bounded
// in bytes, and runs jobs in a pool of worker threads with per-account fair queueing. Every limit
// a job can be refused for before it runs is checked before it takes a worker; a worker whose job
// hits its wall-clock limit is terminated and replaced, so a hostile job cannot hang the node or
// other jobs.

import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { mkdir, writeFile, rename, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { InsituError, toAbortError } from '@insitu/protocol';
import { silentLogger, type Logger } from '@insitu/protocol';
import { prepareModule, type PreparedModule } from './component.ts';
import { instrument, footprintBytes } from './wasm/instrument.ts';
import { ByteLru } from './cache.ts';

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

/** What preparing a module tells its caller; the glue and code stay inside the runtime. */
export type PreparedJob = Pick<PreparedModule, 'hash' | 'kind' | 'imports'>;

export interface JobRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  prepare(module: Uint8Array): Promise<PreparedJob>;
  run(spec: JobSpec, opts?: { signal?: AbortSignal }): Promise<JobResult>;
  /** What the runtime holds for prepared modules, in accounted bytes (bounded by `cacheBytes`). */
  cacheStats(): { modules: number; bytes: number; maxBytes: number };
  /** The largest module `prepare` accepts: a caller can refuse a larger one before fetching it. */
  readonly maxModuleBytes: number;
}

export interface JobRuntimeOptions {
  cacheDir: string;
  workers?: number;
  logger?: Logger;
  /** Bound of the prepared-module cache in accounted bytes; least recently used modules go first. */
  cacheBytes?: number;
  /** The largest module (or component) the runtime accepts. */
  maxModuleBytes?: number;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_MODULE_BYTES = 16 * 1024 * 1024;
/** Compiled code is accounted at this multiple of its instrumented wasm bytes. */
const CODE_FACTOR = 4;
/** A worker has imported this many distinct glue modules (which it can never unload): it is replaced. */
const GLUES_PER_WORKER = 32;
/** A worker's own JS heap (the glue, the host, its buffers); wasm memory is bounded by the job's budget. */
const WORKER_HEAP_MB = 256;

const workerFile = fileURLToPath(new URL('./worker/worker.mjs', import.meta.url));

interface Entry {
  hash: string;
  info: PreparedJob;
  glueUrl: string;
  dir: string;
  modules: Record<string, WebAssembly.Module>;
  /** Bytes each core module's instance holds before it runs (memories, tables, elements). */
  footprints: Record<string, number>;
  /** The sum: a job whose memory cap is below it cannot even start. */
  footprint: number;
  size: number;
  /** Jobs queued or running with this entry; its files are removed only when none are left. */
  refs: number;
  evicted: boolean;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  glues: Set<string>;
}

interface Pending {
  spec: JobSpec;
  entry: Entry;
  signal: AbortSignal | undefined;
  resolve(r: JobResult): void;
  reject(e: unknown): void;
}

type Outcome = Omit<JobResult, 'output' | 'outputHash' | 'durationMs'>;

/** Output collected on the node's side: one buffer that doubles, never past the job's limit. */
function collector(limit: number): { add(b: Uint8Array): boolean; bytes(): Uint8Array } {
  let buf = new Uint8Array(Math.min(limit, 64 * 1024));
  let len = 0;
  return {
    add(b) {
      if (len + b.length > limit) return false;
      if (len + b.length > buf.length) {
        const next = new Uint8Array(Math.min(limit, Math.max(buf.length * 2, len + b.length)));
        next.set(buf.subarray(0, len));
        buf = next;
      }
      buf.set(b, len);
      len += b.length;
      return true;
    },
    bytes: () => buf.subarray(0, len),
  };
}

function checkLimits(l: JobLimits): void {
  const bad = (what: string): never => {
    throw new InsituError('ERR_INVALID_ARGUMENT', `the job's ${what} limit is not valid`);
  };
  if (typeof l?.fuel !== 'bigint' || l.fuel <= 0n) bad('fuel');
  if (!Number.isFinite(l.memoryMiB) || l.memoryMiB <= 0) bad('memory');
  if (!Number.isFinite(l.timeoutMs) || l.timeoutMs <= 0) bad('time');
  if (!Number.isFinite(l.outputBytes) || l.outputBytes < 0) bad('output');
}

export function createJobRuntime(opts: JobRuntimeOptions): JobRuntime {
  const logger = opts.logger ?? silentLogger;
  const maxModuleBytes = opts.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const removeFiles = (e: Entry): void => {
    rm(e.dir, { recursive: true, force: true }).catch((cause) => logger.warn('cannot remove a prepared module', { dir: e.dir, error: String(cause) }));
  };
  const cache = new ByteLru<Entry>(opts.cacheBytes ?? DEFAULT_CACHE_BYTES, (_hash, e) => {
    e.evicted = true;
    if (e.refs === 0) removeFiles(e);
  });
  const slots: Slot[] = [];
  const queues = new Map<string, Pending[]>();
  const order: string[] = [];
  let running = false;
  let seq = 0;

  const spawn = (): Slot => ({ worker: new Worker(workerFile, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } }), busy: false, glues: new Set() });
  // The workers start with the first module this runtime prepares or runs, not with it: a node
  // that runs no job holds none (about 8 MiB each). Preparing a new module takes longer than a
  // worker's start, so a first job does not wait for one.
  let pooled = false;
  const ensureWorkers = (): void => {
    if (pooled || !running) return;
    for (let i = 0; i < (opts.workers ?? 2); i++) {
      try {
        slots.push(spawn());
      } catch (e) {
        logger.error('cannot start a job worker', { error: String(e) });
      }
    }
    // None started: the next job tries again.
    pooled = slots.length > 0;
  };

  const preparing = new Map<string, Promise<PreparedJob>>();
  // Preparing is memory-hungry (transpiling, instrumenting, compiling): one module at a time.
  let chain: Promise<unknown> = Promise.resolve();

  /** Once per module hash, also when several jobs of a new module arrive together. */
  function prepare(bytes: Uint8Array): Promise<PreparedJob> {
    ensureWorkers();
    if (bytes.length > maxModuleBytes) {
      return Promise.reject(new InsituError('ERR_PAYLOAD_TOO_LARGE', `the module is ${bytes.length} bytes; this node runs modules of at most ${maxModuleBytes} bytes`));
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    const hit = cache.get(hash);
    if (hit) return Promise.resolve(hit.info);
    let p = preparing.get(hash);
    if (!p) {
      const next = chain.then(() => prepareOnce(hash, bytes));
      chain = next.catch(() => {});
      p = next.finally(() => preparing.delete(hash));
      preparing.set(hash, p);
    }
    return p;
  }

  async function prepareOnce(hash: string, bytes: Uint8Array): Promise<PreparedJob> {
    const cached = cache.get(hash);
    if (cached) return cached.info;
    const module = await prepareModule(bytes);
    const info: PreparedJob = { hash: module.hash, kind: module.kind, imports: module.imports };
    const modules: Record<string, WebAssembly.Module> = {};
    const footprints: Record<string, number> = {};
    let size = module.glue.length * 2;
    let footprint = 0;
    for (const [name, core] of Object.entries(module.coreModules)) {
      const out = instrument(core);
      try {
        modules[name] = await WebAssembly.compile(out.bytes as Uint8Array<ArrayBuffer>);
      } catch (cause) {
        throw new InsituError('ERR_JOB_INVALID_MODULE', `core module ${name} does not compile: ${String((cause as Error).message ?? cause).split('\n')[0]}`, { cause });
      }
      footprints[name] = footprintBytes(out.footprint);
      footprint += footprints[name];
      size += out.bytes.length * CODE_FACTOR;
    }
    // A fresh directory per preparation: a worker's import cache is keyed by URL, and an evicted
    // module's files may still be in use by a queued job when the same module is prepared again.
    const dir = join(opts.cacheDir, `${hash}.${++seq}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
    // Node 20 has no JSPI: skip the failing WebAssembly.promising probe and the per-call env read.
    const glue = module.glue
      .replaceAll('globalThis?.process?.env?.JCO_DEBUG', 'false')
      .replaceAll('WebAssembly.promising(', '((f) => f)(');
    // Written whole, then renamed: a worker never imports a half-written file.
    const tmp = join(dir, 'job.js.tmp');
    await writeFile(tmp, glue);
    await rename(tmp, join(dir, 'job.js'));
    cache.set(hash, { hash, info, glueUrl: pathToFileURL(join(dir, 'job.js')).href, dir, modules, footprints, footprint, size, refs: 0, evicted: false });
    logger.debug('module prepared', { hash, bytes: bytes.length, accounted: size, cache: cache.bytes });
    return info;
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

  function release(entry: Entry): void {
    entry.refs--;
    if (entry.evicted && entry.refs === 0) removeFiles(entry);
  }

  function execute(slot: Slot, job: Pending): void {
    const { spec, entry } = job;
    if (job.signal?.aborted) {
      // Cancelled while it waited in the queue: it never takes the worker.
      release(entry);
      job.reject(toAbortError(job.signal.reason));
      queueMicrotask(pumpSafely);
      return;
    }
    slot.busy = true;
    const worker = slot.worker;
    const started = performance.now();
    const outputLimit = Math.floor(spec.limits.outputBytes);
    const output = collector(outputLimit);
    const hash = createHash('sha256');
    const memoryBytes = Math.floor(spec.limits.memoryMiB * 1024 * 1024);
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      release(entry);
      slot.busy = false;
    };
    const replace = (): void => {
      worker.terminate().catch(() => {});
      if (!running) return;
      try {
        Object.assign(slot, spawn());
      } catch (e) {
        // The pool shrinks by one rather than failing every later job; the error is logged.
        logger.error('cannot start a job worker', { error: String(e) });
        slots.splice(slots.indexOf(slot), 1);
      }
    };
    const finish = (r: Outcome): void => {
      if (settled) return;
      cleanup();
      const bytes = output.bytes();
      job.resolve({ ...r, output: bytes, outputHash: hash.digest('hex'), durationMs: performance.now() - started });
      if (slot.glues.size >= GLUES_PER_WORKER && slot.worker === worker) replace();
      pumpSafely();
    };
    const fail = (code: string, message: string, fuelUsed: bigint): void => {
      finish({ state: 'failed', code, message, exitCode: -1, fuelUsed, stderrTail: '' });
    };
    const onAbort = (): void => {
      if (settled) return;
      replace();
      cleanup();
      job.reject(toAbortError(job.signal?.reason));
      pumpSafely();
    };
    const onMessage = (msg: { type: string; bytes?: Uint8Array; result?: Omit<Outcome, 'stderrTail'>; stderr?: string }): void => {
      if (settled) return;
      if (msg.type === 'stdout') {
        if (!output.add(msg.bytes!)) {
          // The worker enforces the limit; this holds even if it did not.
          replace();
          fail('ERR_JOB_OUTPUT_LIMIT', `output exceeded ${outputLimit} bytes`, spec.limits.fuel);
          return;
        }
        hash.update(msg.bytes!);
      } else if (msg.type === 'done') finish({ ...msg.result!, stderrTail: msg.stderr ?? '' });
    };
    const onError = (e: Error & { code?: string }): void => {
      if (settled) return;
      replace();
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') fail('ERR_JOB_MEMORY_LIMIT', `the job's host-side memory exceeded ${WORKER_HEAP_MB} MiB`, spec.limits.fuel);
      else fail('ERR_JOB_TRAP', `the job's worker failed: ${e.message}`, 0n);
    };
    const onExit = (): void => {
      if (settled) return;
      if (!running) {
        // stop() ended the worker under the job: not the job's fault, and nothing to settle.
        cleanup();
        job.reject(new InsituError('ERR_NODE_UNAVAILABLE', 'the job runtime stopped while the job ran'));
        return;
      }
      replace();
      fail('ERR_JOB_TRAP', 'the job\'s worker stopped', 0n);
    };
    try {
      timer = setTimeout(() => {
        replace();
        // A job stopped by the clock is charged its whole fuel limit: it held a worker for all of its
        // time, and its real count died with the worker.
        fail('ERR_JOB_TIMEOUT', `the job ran longer than ${spec.limits.timeoutMs} ms`, spec.limits.fuel);
      }, spec.limits.timeoutMs);
      job.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      slot.glues.add(entry.glueUrl);
      worker.postMessage({
        glueUrl: entry.glueUrl,
        modules: entry.modules,
        footprints: entry.footprints,
        input: spec.input,
        args: spec.args ?? [],
        env: Object.entries(spec.env ?? {}),
        inputs: Object.entries(spec.sideInputs ?? {}),
        fuel: spec.limits.fuel,
        outputLimit,
        memoryBytes,
      });
    } catch (e) {
      // Nothing that goes wrong while handing a job to its worker may leave the slot busy.
      replace();
      fail('ERR_INTERNAL', `the job could not be started: ${String((e as Error).message ?? e)}`, 0n);
    }
  }

  function pumpSafely(): void {
    try {
      pump();
    } catch (e) {
      logger.error('job pool failed to dispatch', { error: String(e) });
    }
  }

  const refuse = (code: string, message: string): JobResult => ({
    state: 'failed', code, message, exitCode: -1, fuelUsed: 0n, output: new Uint8Array(0),
    outputHash: createHash('sha256').digest('hex'), stderrTail: '', durationMs: 0,
  });

  return {
    async start() {
      await mkdir(opts.cacheDir, { recursive: true });
      // Glue files of an earlier run belong to modules this process never prepared; only
      // directories named as this runtime names them are removed.
      for (const name of await readdir(opts.cacheDir)) {
        if (/^[0-9a-f]{64}\.\d+$/.test(name)) await rm(join(opts.cacheDir, name), { recursive: true, force: true });
      }
      running = true;
    },
    async stop() {
      running = false;
      for (const q of queues.values()) {
        for (const job of q.splice(0)) {
          release(job.entry);
          job.reject(new InsituError('ERR_NODE_UNAVAILABLE', 'the job runtime stopped before the job ran'));
        }
      }
      queues.clear();
      order.length = 0;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
      pooled = false;
      cache.clear();
    },
    prepare,
    maxModuleBytes,
    cacheStats: () => ({ modules: cache.size, bytes: cache.bytes, maxBytes: cache.maxBytes }),
    run(spec, o = {}) {
      if (!running) return Promise.reject(new InsituError('ERR_NODE_UNAVAILABLE', 'the job runtime is not started'));
      ensureWorkers();
      if (slots.length === 0) return Promise.reject(new InsituError('ERR_NODE_UNAVAILABLE', 'no job worker could be started'));
      if (o.signal?.aborted) return Promise.reject(toAbortError(o.signal.reason));
      try {
        checkLimits(spec.limits);
      } catch (e) {
        return Promise.reject(e);
      }
      const entry = cache.get(spec.moduleHash);
      if (!entry) return Promise.reject(new InsituError('ERR_NOT_FOUND', `module ${spec.moduleHash} is not prepared`));
      // Refused before it takes a worker: what its instances declare does not fit its cap.
      const memoryBytes = Math.floor(spec.limits.memoryMiB * 1024 * 1024);
      if (entry.footprint > memoryBytes) {
        return Promise.resolve(refuse('ERR_JOB_MEMORY_LIMIT', `the module declares ${entry.footprint} bytes of memories and tables at start; the job's limit is ${memoryBytes} bytes`));
      }
      return new Promise<JobResult>((resolve, reject) => {
        let q = queues.get(spec.account);
        if (!q) {
          q = [];
          queues.set(spec.account, q);
          order.push(spec.account);
        }
        entry.refs++;
        q.push({ spec, entry, signal: o.signal, resolve, reject });
        logger.debug('job queued', { account: spec.account, module: spec.moduleHash });
        pumpSafely();
      });
    },
  };
}
