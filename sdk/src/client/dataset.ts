// Jobs over datasets: one map job per object under a prefix, each on a provider holding that
// object, then one reduce ('gather' on chain) over the maps' outputs, all under one dataset run
// on chain: one escrow for the whole run, every map's receipt recorded under it, the reduce's
// result as its result. Built from the job helpers of jobs.ts, which binds it as jobs.dataset.

import { InsituError, throwIfAborted } from '@insitu/protocol';
import type { ChainClient, DatasetRunInfo, ObjectInfo } from '@insitu/protocol/chain';
import type { ObjectSource } from './source.ts';
import type { JobRun, JobSpec, SubmitJobOptions } from './job-types.ts';

const sig = (s?: AbortSignal) => (s ? { signal: s } : {});

const split = (target: string): [string, string] => {
  const at = target.indexOf('/');
  if (at <= 0 || at === target.length - 1) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" must be <bucket>/<name>`);
  return [target.slice(0, at), target.slice(at + 1)];
};

export interface DatasetOptions extends Omit<SubmitJobOptions, 'input' | 'parallel' | 'output' | 'executorSpId'> {
  /** "bucket/prefix/" (or "bucket" for all of it): one map job per object under it. */
  input: string;
  /** Module run over the map outputs concatenated in object order (default: none; the result is that concatenation). */
  reduce?: Uint8Array | string;
  /** Arguments of the reduce (default: the maps'). */
  reduceArgs?: string[];
  /** A bucket of yours for the modules under an offer (default: the output's, else moduleBucket). */
  workBucket?: string;
  /** "bucket/name": store the run's result and record the reduce job as its maker. */
  output?: string;
  /** Map attempts beyond one per object escrowed for retries (default a quarter of the objects, at least 1); the run is topped up should it need more. */
  spareMaps?: number;
  /** Maps running at once (default 8). */
  concurrency?: number;
  /** Objects at least this large run as parallel jobs over their data pieces (default 64 MiB; not under an offer). */
  parallelAbove?: number;
  /** Called (and awaited) as each map ends, with how many have ended: progress for a CLI, a hook for tests. */
  onMap?: (map: JobRun & { object: string }, ended: number) => void | Promise<void>;
}

export interface DatasetRun {
  /** The run on chain: its one escrow, the jobs that drew from it, its result and what came back. */
  runId: bigint;
  run: DatasetRunInfo;
  /** One per object, in name order: the run that succeeded (or the last attempt) with every job tried. */
  maps: (JobRun & { object: string; attempts: bigint[] })[];
  reduce?: JobRun;
  /** The run's result: the reduce's output, or the maps' outputs concatenated. */
  output: Uint8Array;
  /** Whether every map (and the reduce) succeeded. */
  succeeded: boolean;
  /** Jobs left on providers that did not answer: cancelling them (after the chain's deadline) returns their escrow. */
  abandoned: bigint[];
  stored?: ObjectInfo;
}

export interface DatasetHelpers {
  chain: ChainClient;
  put(bucket: string, name: string, source: ObjectSource, opts: { signal?: AbortSignal }): Promise<ObjectInfo>;
  prepareModule(module: Uint8Array | string, moduleBucket: string, signal?: AbortSignal): Promise<{ moduleBucket: string; moduleObject: string; moduleHash: string }>;
  runWhole(spec: JobSpec, o: Omit<SubmitJobOptions, 'module' | 'input'>, isUp: (sp: number) => Promise<boolean>): Promise<JobRun>;
  runParallel(spec: JobSpec, o: SubmitJobOptions): Promise<JobRun>;
  outputOf(id: bigint, signal?: AbortSignal): Promise<Uint8Array>;
  storeOutput(id: bigint, target: string, signal?: AbortSignal): Promise<ObjectInfo>;
  healthCheck(): (spId: number) => Promise<boolean>;
  specOf(bucket: string, object: string, m: { moduleBucket: string; moduleObject: string; moduleHash: string }, o: Omit<SubmitJobOptions, 'module' | 'input' | 'maxFee'>): JobSpec;
}

export function datasetRunner(h: DatasetHelpers): (o: DatasetOptions) => Promise<DatasetRun> {
  /**
   * One map job per object under a prefix, each on a provider holding that object (retried on
   * another holder when its node does not answer), then a reduce over their outputs — all paid
   * from one escrow on chain, the dataset run. The budget (maxFee) is split evenly between the
   * maps and the reduce; spare map attempts are escrowed on top for retries (the run is topped up
   * should it need more), and whatever the run did not use comes back when it ends.
   */
  return async function runDataset(o: DatasetOptions): Promise<DatasetRun> {
    throwIfAborted(o.signal);
    const at = o.input.indexOf('/');
    const bucket = at < 0 ? o.input : o.input.slice(0, at);
    const prefix = at < 0 ? '' : o.input.slice(at + 1);
    if (!bucket) throw new InsituError('ERR_INVALID_ARGUMENT', `"${o.input}" must be <bucket>/<prefix>/`);
    const listed = (await h.chain.listObjects(bucket, { ...sig(o.signal), prefix, limit: 1000 })).filter((x) => x.status === 'sealed' && !x.objectName.startsWith('.insitu/'));
    if (listed.length === 0) throw new InsituError('ERR_OBJECT_NOT_FOUND', `no sealed objects under ${o.input}`);
    const jobs = listed.length + (o.reduce ? 1 : 0);
    const share = o.maxFee / BigInt(jobs);
    if (share <= 0n) throw new InsituError('ERR_INVALID_ARGUMENT', `maxFee must cover ${jobs} jobs`);
    if (o.spareMaps !== undefined && !(Number.isInteger(o.spareMaps) && o.spareMaps >= 0 && o.spareMaps <= 1000)) throw new InsituError('ERR_INVALID_ARGUMENT', `spareMaps must be a whole number 0..1000, not ${o.spareMaps}`);
    if (o.offerId && !o.moduleBucket && !o.workBucket && !o.output) throw new InsituError('ERR_INVALID_ARGUMENT', 'a run under an offer stores its modules in a bucket of yours: give workBucket (--work-bucket), moduleBucket or output');
    const workBucket = o.workBucket ?? (o.output ? split(o.output)[0] : undefined) ?? o.moduleBucket ?? bucket;
    const module = await h.prepareModule(o.module, o.moduleBucket ?? (o.offerId ? workBucket : bucket), o.signal);
    // Stored before the maps run, so the reduce needs no upload whatever happens to providers meanwhile.
    const reduceModule = o.reduce ? await h.prepareModule(o.reduce, o.moduleBucket ?? (o.offerId ? workBucket : bucket), o.signal) : undefined;
    // The run's one escrow: the chain lists the objects again and fixes them as the run's.
    const reduceFee = o.maxFee - share * BigInt(listed.length);
    const opened = await h.chain.openRun({
      bucket, prefix, moduleHash: module.moduleHash, mapFee: share, spareMaps: o.spareMaps ?? Math.max(1, Math.ceil(listed.length / 4)),
      ...(reduceModule ? { reduceModuleHash: reduceModule.moduleHash, reduceFee } : {}),
      ...(o.offerId ? { offerId: o.offerId } : {}),
    }, sig(o.signal));
    const runId = opened.runId;
    const names = (await h.chain.getRun(runId, sig(o.signal))).run.objects;
    const sizes = new Map(listed.map((x) => [x.objectName, x.payloadSize]));
    const isUp = h.healthCheck();
    const parallelAbove = BigInt(o.parallelAbove ?? 64 * 1024 * 1024);
    const abandoned: bigint[] = [];
    const maps: DatasetRun['maps'] = new Array(names.length);
    let ended = 0;
    const mapOne = async (i: number, up: (sp: number) => Promise<boolean>): Promise<void> => {
      const name = names[i]!;
      const spec = { ...h.specOf(bucket, name, module, o), runId };
      const opts = { ...o, maxFee: share };
      const size = sizes.get(name) ?? (await h.chain.headObject(bucket, name, sig(o.signal))).payloadSize;
      const run = !o.offerId && size >= parallelAbove ? await h.runParallel(spec, { ...opts, module: o.module, input: `${bucket}/${name}` }) : await h.runWhole(spec, opts, up);
      abandoned.push(...(run.abandoned ?? []));
      maps[i] = { ...run, object: name, attempts: [...(maps[i]?.attempts ?? []), ...(run.abandoned ?? []), run.id] };
      await o.onMap?.({ ...run, object: name }, ++ended);
    };
    /** The run's record once it has ended: by its reduce's settlement, else closed here (what no job holds comes back). */
    const end = async (): Promise<DatasetRunInfo> => {
      const { run } = await h.chain.getRun(runId, sig(o.signal));
      if (run.status !== 'open') return run;
      await h.chain.closeRun(runId, sig(o.signal));
      return (await h.chain.getRun(runId, sig(o.signal))).run;
    };
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < names.length) await mapOne(next++, isUp);
      };
      await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 8, names.length) }, worker));
      if (maps.some((m) => m.receipt.state !== 'succeeded')) return { runId, run: await end(), maps, output: new Uint8Array(), succeeded: false, abandoned };
      if (o.reduce) {
        // The reduce fetches each map's output from the node that ran it: a map whose node has gone
        // away since is run again elsewhere (the first run stays paid: its receipt was honest).
        const now = h.healthCheck();
        for (const [i, m] of maps.entries()) if (!(await now(m.executor.id))) await mapOne(i, now);
        if (maps.some((m) => m.receipt.state !== 'succeeded')) return { runId, run: await end(), maps, output: new Uint8Array(), succeeded: false, abandoned };
      }
      if (!o.reduce) {
        const joined = new Uint8Array(Buffer.concat(await Promise.all(maps.map((m) => h.outputOf(m.id, o.signal)))));
        const run = await end();
        const stored = o.output ? await h.put(...split(o.output), joined, sig(o.signal)) : undefined;
        return { runId, run, maps, output: joined, succeeded: true, abandoned, ...(stored ? { stored } : {}) };
      }
      // The reduce ('gather' on chain) runs on a provider that fetches the maps' outputs from their
      // nodes, checked against the hashes settled on chain, and reads them in object order. Its
      // settlement is the run's result and ends the run.
      const { offerId: _offer, ...noOffer } = o;
      const reduceSpec = { ...h.specOf(bucket, names[0]!, reduceModule!, { ...noOffer, args: o.reduceArgs ?? o.args ?? [] }), mode: 'gather' as const, mapJobs: maps.map((m) => m.id), runId };
      const reduce = await h.runWhole(reduceSpec, { ...noOffer, maxFee: reduceFee }, isUp);
      abandoned.push(...(reduce.abandoned ?? []));
      const succeeded = reduce.receipt.state === 'succeeded';
      const run = await end();
      const output = succeeded ? await h.outputOf(reduce.id, o.signal) : new Uint8Array();
      const stored = succeeded && o.output ? await h.storeOutput(reduce.id, o.output, o.signal) : undefined;
      return { runId, run, maps, reduce, output, succeeded, abandoned, ...(stored ? { stored } : {}) };
    } catch (e) {
      // A run that cannot go on gives back what no job holds; the error is what the caller sees.
      await h.chain.closeRun(runId).catch(() => undefined);
      throw e;
    }
  };
}
