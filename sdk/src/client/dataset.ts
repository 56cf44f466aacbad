// Jobs over datasets: one map job per object under a prefix, each on a provider holding that
// object, then one reduce ('gather' on chain) over the maps' outputs. Built from the job helpers
// of jobs.ts, which binds it as jobs.dataset.

import { InsituError, throwIfAborted } from '@insitu/protocol';
import type { ChainClient, ObjectInfo } from '@insitu/protocol/chain';
import type { ObjectSource } from './source.ts';
import type { JobRun, JobSpec, SubmitJobOptions } from './jobs.ts';

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
  /** Maps running at once (default 8). */
  concurrency?: number;
  /** Objects at least this large run as parallel jobs over their data pieces (default 64 MiB; not under an offer). */
  parallelAbove?: number;
  /** Called (and awaited) as each map ends, with how many have ended: progress for a CLI, a hook for tests. */
  onMap?: (map: JobRun & { object: string }, ended: number) => void | Promise<void>;
}

export interface DatasetRun {
  /** One per object, in name order: the run that succeeded (or the last attempt) with every job tried. */
  maps: (JobRun & { object: string; attempts: bigint[] })[];
  reduce?: JobRun;
  /** The run's result: the reduce's output, or the maps' outputs concatenated. */
  output: Uint8Array;
  /** Whether every map (and the reduce) succeeded. */
  succeeded: boolean;
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
   * another holder when its node does not answer), then a reduce over their outputs. The budget
   * (maxFee) is split evenly between the maps and the reduce; each is its own escrow on chain, and
   * every map's receipt is kept in the result.
   */
  return async function runDataset(o: DatasetOptions): Promise<DatasetRun> {
    throwIfAborted(o.signal);
    const at = o.input.indexOf('/');
    const bucket = at < 0 ? o.input : o.input.slice(0, at);
    const prefix = at < 0 ? '' : o.input.slice(at + 1);
    if (!bucket) throw new InsituError('ERR_INVALID_ARGUMENT', `"${o.input}" must be <bucket>/<prefix>/`);
    const objects = (await h.chain.listObjects(bucket, { ...sig(o.signal), prefix, limit: 1000 })).filter((x) => x.status === 'sealed' && !x.objectName.startsWith('.insitu/'));
    if (objects.length === 0) throw new InsituError('ERR_OBJECT_NOT_FOUND', `no sealed objects under ${o.input}`);
    const share = o.maxFee / BigInt(objects.length + (o.reduce ? 1 : 0));
    if (share <= 0n) throw new InsituError('ERR_INVALID_ARGUMENT', `maxFee must cover ${objects.length + (o.reduce ? 1 : 0)} jobs`);
    if (o.offerId && !o.moduleBucket && !o.workBucket && !o.output) throw new InsituError('ERR_INVALID_ARGUMENT', 'a run under an offer stores its modules in a bucket of yours: give workBucket (--work-bucket), moduleBucket or output');
    const workBucket = o.workBucket ?? (o.output ? split(o.output)[0] : undefined) ?? o.moduleBucket ?? bucket;
    const module = await h.prepareModule(o.module, o.moduleBucket ?? (o.offerId ? workBucket : bucket), o.signal);
    // Stored before the maps run, so the reduce needs no upload whatever happens to providers meanwhile.
    const reduceModule = o.reduce ? await h.prepareModule(o.reduce, o.moduleBucket ?? (o.offerId ? workBucket : bucket), o.signal) : undefined;
    const isUp = h.healthCheck();
    const parallelAbove = BigInt(o.parallelAbove ?? 64 * 1024 * 1024);
    const abandoned: bigint[] = [];
    const maps: DatasetRun['maps'] = new Array(objects.length);
    let ended = 0;
    const mapOne = async (i: number, up: (sp: number) => Promise<boolean>): Promise<void> => {
      const obj = objects[i]!;
      const spec = h.specOf(bucket, obj.objectName, module, o);
      const opts = { ...o, maxFee: share };
      const run = !o.offerId && obj.payloadSize >= parallelAbove ? await h.runParallel(spec, { ...opts, module: o.module, input: `${bucket}/${obj.objectName}` }) : await h.runWhole(spec, opts, up);
      abandoned.push(...(run.abandoned ?? []));
      maps[i] = { ...run, object: obj.objectName, attempts: [...(maps[i]?.attempts ?? []), ...(run.abandoned ?? []), run.id] };
      await o.onMap?.({ ...run, object: obj.objectName }, ++ended);
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < objects.length) await mapOne(next++, isUp);
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 8, objects.length) }, worker));
    if (maps.some((m) => m.receipt.state !== 'succeeded')) return { maps, output: new Uint8Array(), succeeded: false, abandoned };
    if (o.reduce) {
      // The reduce fetches each map's output from the node that ran it: a map whose node has gone
      // away since is run again elsewhere (the first run stays paid: its receipt was honest).
      const now = h.healthCheck();
      for (const [i, m] of maps.entries()) if (!(await now(m.executor.id))) await mapOne(i, now);
      if (maps.some((m) => m.receipt.state !== 'succeeded')) return { maps, output: new Uint8Array(), succeeded: false, abandoned };
    }
    if (!o.reduce) {
      const joined = new Uint8Array(Buffer.concat(await Promise.all(maps.map((m) => h.outputOf(m.id, o.signal)))));
      const stored = o.output ? await h.put(...split(o.output), joined, sig(o.signal)) : undefined;
      return { maps, output: joined, succeeded: true, abandoned, ...(stored ? { stored } : {}) };
    }
    // The reduce ('gather' on chain) runs on a provider that fetches the maps' outputs from their
    // nodes, checked against the hashes settled on chain, and reads them in object order.
    const { offerId: _offer, ...noOffer } = o;
    const reduceSpec = { ...h.specOf(bucket, objects[0]!.objectName, reduceModule!, { ...noOffer, args: o.reduceArgs ?? o.args ?? [] }), mode: 'gather' as const, mapJobs: maps.map((m) => m.id) };
    const reduce = await h.runWhole(reduceSpec, { ...noOffer, maxFee: o.maxFee - share * BigInt(objects.length) }, isUp);
    abandoned.push(...(reduce.abandoned ?? []));
    const succeeded = reduce.receipt.state === 'succeeded';
    const output = succeeded ? await h.outputOf(reduce.id, o.signal) : new Uint8Array();
    const stored = succeeded && o.output ? await h.storeOutput(reduce.id, o.output, o.signal) : undefined;
    return { maps, reduce, output, succeeded, abandoned, ...(stored ? { stored } : {}) };
  };
}
