// Jobs through the SDK: the module is stored as an object (content-addressed by its SHA-256),
// the job is submitted on chain with its escrowed maximum fee, and the node that holds the input
// runs it and settles; the result carries the node's signed receipt.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { InsituError, throwIfAborted } from '@insitu/protocol';
import { signRequest } from '@insitu/protocol/auth';
import { spDispatcher, errorFrom } from '../sp/index.ts';
import type { ChainClient, DatasetRunInfo, JobInfo, ObjectInfo, StorageProvider, SubmitJobInput } from '@insitu/protocol/chain';
import type { ObjectSource } from './source.ts';
import type { JobReceipt } from '@insitu/protocol';
import { datasetRunner, type DatasetOptions, type DatasetRun } from './dataset.ts';
import type { JobLimitsInput, JobRun, JobSpec, SubmitJobOptions } from './job-types.ts';
import { jobModuleName } from './jobModules.ts';

export type { JobReceipt, DatasetOptions, DatasetRun };
export type { JobLimitsInput, JobRun, JobSpec, SubmitJobOptions } from './job-types.ts';

export interface JobsDeps {
  chain: ChainClient;
  privateKey: string;
  provider(id: number): Promise<StorageProvider>;
  put(bucket: string, name: string, source: ObjectSource, opts: { signal?: AbortSignal }): Promise<ObjectInfo>;
}

const GiB = 1n << 30n;

const split = (target: string): [string, string] => {
  const at = target.indexOf('/');
  if (at <= 0 || at === target.length - 1) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" must be <bucket>/<name>`);
  return [target.slice(0, at), target.slice(at + 1)];
};

export function jobsApi(deps: JobsDeps) {
  const sig = (s?: AbortSignal) => (s ? { signal: s } : {});

  /** The input's holders (the primary first), whose node answers its health check, cheapest within `maxPrice`. */
  async function holdersUp(object: ObjectInfo, primary: number, isUp: (sp: number) => Promise<boolean>, maxPrice: bigint | undefined, exclude: number[], signal?: AbortSignal): Promise<number[]> {
    const gvg = await deps.chain.getGlobalVirtualGroup(object.gvgId, sig(signal));
    const out: number[] = [];
    for (const id of [...new Set([primary, ...gvg.secondarySpIds])]) {
      if (exclude.includes(id)) continue;
      if (maxPrice !== undefined && (await deps.provider(id)).computePrice > maxPrice) continue;
      if (await isUp(id)) out.push(id);
    }
    return out;
  }

  /**
   * Submits a job. One of a dataset run whose escrow is short (more retries than it set aside)
   * first tops the run up by what the job needs, then is submitted again.
   */
  async function submit(input: SubmitJobInput, signal?: AbortSignal): Promise<{ jobId: bigint }> {
    // Concurrent maps may top up from the same reading of the run and draw each other's top-up:
    // a few rounds settle it.
    for (let round = 0; ; round++) {
      try {
        return await deps.chain.submitJob(input, sig(signal));
      } catch (e) {
        if (!input.runId || (e as InsituError).code !== 'ERR_INSUFFICIENT_BALANCE' || round === 3) throw e;
        const { run } = await deps.chain.getRun(input.runId, sig(signal));
        let dataFee = 0n;
        if (run.offerId) {
          const offer = await deps.chain.getOffer(run.offerId, sig(signal));
          const size = (await deps.chain.headObject(input.bucket, input.object, sig(signal))).payloadSize;
          dataFee = offer.pricePerJob + (offer.pricePerGiB * size + GiB - 1n) / GiB;
        }
        // The chain keeps the reduce's fee in the run for the reduce: a map's draw leaves it there.
        const need = input.maxFee + dataFee + (input.mode === 'gather' ? 0n : run.reduceFee) - run.available;
        if (need > 0n) await deps.chain.fundRun(run.id, need, sig(signal));
      }
    }
  }

  /** Whether a failed run is worth trying elsewhere: the node did not answer (not a refusal or a result). */
  const unreachable = (e: unknown, signal?: AbortSignal): boolean => !signal?.aborted && (!(e instanceof InsituError) || e.code === 'ERR_NODE_UNAVAILABLE');

  /**
   * A whole-object job: submitted with the caller's choice of executor (named, cheapest, under a
   * price, else the primary); when the chosen node does not answer, submitted again naming the
   * next holder of the input that answers its health check.
   */
  async function runWhole(spec: Spec, o: Omit<SubmitJobOptions, 'module' | 'input'>, isUp: (sp: number) => Promise<boolean>): Promise<JobRun> {
    const choice = {
      ...(o.offerId ? { offerId: o.offerId } : {}), ...(o.maxComputePrice !== undefined ? { maxComputePrice: o.maxComputePrice } : {}), ...(o.cheapest ? { cheapest: true } : {}),
    };
    const abandoned: bigint[] = [];
    const tried: number[] = [];
    let named = o.executorSpId;
    let holders: number[] | undefined;
    for (;;) {
      throwIfAborted(o.signal);
      const { jobId } = await submit({ ...spec, ...choice, maxFee: o.maxFee, ...(named ? { executorSpId: named } : {}) }, o.signal);
      try {
        const run = await runOn(jobId, o.limits ?? {}, o.signal);
        return abandoned.length ? { ...run, abandoned } : run;
      } catch (e) {
        if (!unreachable(e, o.signal) || o.executorSpId) throw e;
        abandoned.push(jobId);
        tried.push((await deps.chain.getJob(jobId, sig(o.signal))).executorSpId);
        if (!holders) {
          const object = await deps.chain.headObject(spec.bucket, spec.object, sig(o.signal));
          const primary = (await deps.chain.headBucket(spec.bucket, sig(o.signal))).primarySpId;
          holders = await holdersUp(object, primary, isUp, o.maxComputePrice, [], o.signal);
        }
        named = holders.find((h) => !tried.includes(h));
        if (named === undefined) throw new InsituError('ERR_NODE_UNAVAILABLE', `no other provider holding ${spec.bucket}/${spec.object} answers (tried ${tried.join(', ')}; cancel jobs ${abandoned.join(', ')} after the chain's deadline to get their escrow back)`, { cause: e });
      }
    }
  }

  /** Stores a job's output as `target` (bucket/name) and records the job as its maker on chain. */
  async function storeOutput(jobId: bigint, target: string, signal?: AbortSignal): Promise<ObjectInfo> {
    const [bucket, name] = split(target);
    const data = await outputOf(jobId, signal);
    const stored = await deps.put(bucket, name, data, sig(signal));
    await deps.chain.recordJobOutput({ jobId, bucket, object: name }, sig(signal));
    return stored;
  }

  async function outputOf(id: bigint, signal?: AbortSignal): Promise<Uint8Array> {
    const job = await deps.chain.getJob(id, sig(signal));
    const executor = await deps.provider(job.executorSpId);
    const res = await call('GET', new URL(`/insitu/v1/jobs/${id}/output`, executor.endpoint), undefined, `output of job ${id}`, signal);
    const data = new Uint8Array(await res.body.arrayBuffer());
    if (job.outputHash && createHash('sha256').update(data).digest('hex') !== job.outputHash) {
      throw new InsituError('ERR_CHECKSUM_MISMATCH', `the output of job ${id} does not match the hash settled on chain`);
    }
    return data;
  }

  /** Stores the module once per hash in `moduleBucket`; returns what a job names it by. */
  async function prepareModule(module: Uint8Array | string, moduleBucket: string, signal?: AbortSignal): Promise<{ moduleBucket: string; moduleObject: string; moduleHash: string }> {
    const bytes = typeof module === 'string' ? new Uint8Array(await readFile(module)) : module;
    const moduleHash = createHash('sha256').update(bytes).digest('hex');
    const moduleObject = jobModuleName(moduleHash);
    const key = `${moduleBucket}/${moduleObject}`;
    let storing = modulesInFlight.get(key);
    if (!storing) {
      storing = storeModule(moduleBucket, moduleObject, bytes, signal).finally(() => modulesInFlight.delete(key));
      modulesInFlight.set(key, storing);
    }
    await storing;
    return { moduleBucket, moduleObject, moduleHash };
  }

  async function runOn(jobId: bigint, limits: JobLimitsInput, signal?: AbortSignal): Promise<JobRun> {
    const job = await deps.chain.getJob(jobId, sig(signal));
    const executor = await deps.provider(job.executorSpId);
    const url = new URL(`/insitu/v1/jobs/${jobId}`, executor.endpoint);
    const res = await call('POST', url, JSON.stringify({ ...limits, fuel: undefined }), `job ${jobId}`, signal);
    const out = (await res.body.json()) as { receipt: JobReceipt; signature: string };
    return { id: jobId, receipt: out.receipt, signature: out.signature, executor };
  }

  async function call(method: 'GET' | 'POST', url: URL, body: string | undefined, what: string, signal?: AbortSignal) {
    const headers = signRequest({ method, url, privateKey: deps.privateKey, headers: body ? { 'content-type': 'application/json' } : {} });
    const res = await request(url, { method, headers, dispatcher: spDispatcher, ...(body ? { body } : {}), ...sig(signal) });
    if (res.statusCode >= 300) throw await errorFrom(res, what);
    return res;
  }

  const modulesInFlight = new Map<string, Promise<void>>();

  /** Stores a module object once: an upload of the same module by someone else is waited for. */
  async function storeModule(bucket: string, name: string, module: Uint8Array, signal?: AbortSignal): Promise<void> {
    const head = async (): Promise<ObjectInfo | undefined> => {
      try {
        return await deps.chain.headObject(bucket, name, sig(signal));
      } catch (e) {
        if ((e as InsituError).code !== 'ERR_OBJECT_NOT_FOUND') throw e;
        return undefined;
      }
    };
    const stored = await head();
    if (stored?.status === 'sealed') return;
    try {
      if (!stored) {
        await deps.put(bucket, name, module, sig(signal));
        return;
      }
    } catch (e) {
      if ((e as InsituError).code !== 'ERR_OBJECT_EXISTS') throw e;
    }
    // Someone else may be uploading the same module (same name, same content): wait a little for
    // its seal, then resume the upload (same bytes: the put picks up the registered object).
    const deadline = Date.now() + 10_000;
    for (;;) {
      throwIfAborted(signal);
      const now = await head();
      if (now?.status === 'sealed') return;
      if (!now) return storeModule(bucket, name, module, signal);
      if (Date.now() > deadline) {
        await deps.put(bucket, name, module, sig(signal));
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Whether a provider answers its health check (cached for one parallel run). */
  function healthCheck(): (spId: number) => Promise<boolean> {
    const seen = new Map<number, Promise<boolean>>();
    return (spId) => {
      let p = seen.get(spId);
      if (!p) {
        p = (async () => {
          try {
            const sp = await deps.provider(spId);
            const res = await request(new URL('/healthz', sp.endpoint), { method: 'GET', dispatcher: spDispatcher, signal: AbortSignal.timeout(3000) });
            await res.body.dump();
            return res.statusCode === 200;
          } catch {
            return false;
          }
        })();
        seen.set(spId, p);
      }
      return p;
    };
  }

  type Spec = JobSpec;

  /**
   * A parallel job: one map per data piece on the secondary holding it — or, when that one is
   * down, on another provider that rebuilds the piece from the others — then one reduce.
   */
  async function runParallel(spec: Spec, o: SubmitJobOptions): Promise<JobRun> {
    const object = await deps.chain.headObject(spec.bucket, spec.object, sig(o.signal));
    if (object.status !== 'sealed') throw new InsituError('ERR_OBJECT_NOT_SEALED', `${spec.bucket}/${spec.object} is not sealed`);
    const params = await deps.chain.params(sig(o.signal));
    const gvg = await deps.chain.getGlobalVirtualGroup(object.gvgId, sig(o.signal));
    const primary = (await deps.chain.headBucket(spec.bucket, sig(o.signal))).primarySpId;
    const k = params.dataChunks;
    const share = o.maxFee / BigInt(k + 1);
    if (share <= 0n) throw new InsituError('ERR_INVALID_ARGUMENT', `maxFee must cover ${k + 1} runs`);
    const isUp = healthCheck();
    // Parity holders first: they hold nothing a map needs, so they are idle.
    const spares = [...gvg.secondarySpIds.slice(k), ...gvg.secondarySpIds.slice(0, k), primary];
    const limits = o.limits ?? {};
    const map = async (i: number): Promise<JobRun> => {
      const holder = gvg.secondarySpIds[i]!;
      let last: unknown = new InsituError('ERR_NODE_UNAVAILABLE', `no provider is up to run the map over data piece ${i}`);
      for (const sp of [holder, ...spares.filter((x) => x !== holder)]) {
        if (!(await isUp(sp))) continue;
        const { jobId } = await submit({ ...spec, mode: 'map', pieceIndex: i, executorSpId: sp, maxFee: share }, o.signal);
        try {
          return await runOn(jobId, limits, o.signal);
        } catch (e) {
          // The provider went away while running: its escrow stays on its unsettled job; go on elsewhere.
          if (o.signal?.aborted || (e instanceof InsituError && e.code !== 'ERR_NODE_UNAVAILABLE')) throw e;
          last = e;
        }
      }
      throw last;
    };
    const maps = await Promise.all(Array.from({ length: k }, (_, i) => map(i)));
    const failed = maps.find((m) => m.receipt.state !== 'succeeded');
    if (failed) return { ...failed, maps };
    let reducer: number | undefined;
    for (const sp of [primary, ...spares]) {
      if (await isUp(sp)) {
        reducer = sp;
        break;
      }
    }
    if (reducer === undefined) throw new InsituError('ERR_NODE_UNAVAILABLE', 'no provider is up to run the reduce step');
    const { jobId } = await submit({ ...spec, mode: 'reduce', mapJobs: maps.map((m) => m.id), executorSpId: reducer, maxFee: o.maxFee - share * BigInt(k) }, o.signal);
    return { ...(await runOn(jobId, limits, o.signal)), maps };
  }

  const specOf = (bucket: string, object: string, m: { moduleBucket: string; moduleObject: string; moduleHash: string }, o: Omit<SubmitJobOptions, 'module' | 'input' | 'maxFee'>): Spec => ({
    bucket, object, ...m, args: o.args ?? [], env: Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`), fuelLimit: o.limits?.fuel ?? 10_000_000_000n,
    ...(o.sideInputs ? { sideInputs: o.sideInputs } : {}),
    ...(o.limits?.memoryMiB ? { memoryMiB: o.limits.memoryMiB } : {}),
    ...(o.limits?.outputBytes ? { maxOutputBytes: o.limits.outputBytes } : {}),
  });

  const runDataset = datasetRunner({ chain: deps.chain, put: deps.put, prepareModule, runWhole, runParallel, outputOf, storeOutput, healthCheck, specOf });

  return {
    /** Runs a module over every object under a prefix and reduces the results (see runDataset). */
    dataset: runDataset,
    /** Stores the module (once per hash), submits the job, runs it on the node holding the input. */
    async submit(o: SubmitJobOptions): Promise<JobRun> {
      throwIfAborted(o.signal);
      const [bucket, object] = split(o.input);
      // A buyer under an offer cannot write the data's bucket: its module goes with its output.
      if (o.offerId && !o.moduleBucket && !o.output) throw new InsituError('ERR_INVALID_ARGUMENT', 'a job under an offer stores its module in a bucket of yours: give moduleBucket (--module-bucket) or output');
      const moduleBucket = o.moduleBucket ?? (o.offerId && o.output ? split(o.output)[0] : bucket);
      const m = await prepareModule(o.module, moduleBucket, o.signal);
      // Memory and output caps are fixed on chain, so a re-run anywhere (a dispute) uses the same.
      const spec = specOf(bucket, object, m, o);
      const run = o.parallel ? await runParallel(spec, o) : await runWhole(spec, o, healthCheck());
      if (o.output && run.receipt.state === 'succeeded') return { ...run, stored: await storeOutput(run.id, o.output, o.signal) };
      return run;
    },
    /** Stores a settled job's output as an object of yours (bucket/name) and records the job as its maker. */
    storeOutput: (id: bigint, target: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo> => storeOutput(id, target, o.signal),
    /** The job recorded as the maker of an object (module hash, input and its checksums, receipt), or null. */
    provenance: (bucket: string, object: string, o: { signal?: AbortSignal } = {}) => deps.chain.provenance(bucket, object, sig(o.signal)),
    /** Asks a submitted job's executor to run it (after a reassignment, say); resolves with its receipt. */
    start: (id: bigint, o: { signal?: AbortSignal; limits?: JobLimitsInput } = {}): Promise<JobRun> => runOn(id, o.limits ?? {}, o.signal),
    /** Moves a job its executor did not run in time to another holder of its input (the escrow stays). */
    reassign: (id: bigint, o: { signal?: AbortSignal; executorSpId?: number; maxComputePrice?: bigint } = {}) =>
      deps.chain.reassignJob({ jobId: id, ...(o.executorSpId ? { executorSpId: o.executorSpId } : {}), ...(o.maxComputePrice !== undefined ? { maxComputePrice: o.maxComputePrice } : {}) }, sig(o.signal)),
    /**
     * Re-executes a settled job on another provider that can reach the data and compares the two
     * results: the same module over the same input must give the same output hash, fuel and state.
     */
    async verify(id: bigint, o: { signal?: AbortSignal; executorSpId?: number; limits?: JobLimitsInput } = {}): Promise<{ original: JobInfo; replay: JobRun; match: boolean }> {
      const original = await deps.chain.getJob(id, sig(o.signal));
      if (original.status !== 'settled') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${id} has not run yet`);
      const input = await deps.chain.headObject(original.bucket, original.object, sig(o.signal));
      const gvg = await deps.chain.getGlobalVirtualGroup(input.gvgId, sig(o.signal));
      const isUp = healthCheck();
      let other = o.executorSpId;
      for (const sp of gvg.secondarySpIds) {
        if (other !== undefined) break;
        if (sp !== original.executorSpId && (await isUp(sp))) other = sp;
      }
      if (other === undefined) throw new InsituError('ERR_PROVIDER_NOT_FOUND', 'no other provider that holds this object is up');
      const { jobId } = await deps.chain.submitJob({
        bucket: original.bucket, object: original.object, moduleBucket: original.moduleBucket, moduleObject: original.moduleObject,
        moduleHash: original.moduleHash, args: original.args, sideInputs: original.sideInputs, env: original.env ?? [], mode: original.mode ?? '',
        pieceIndex: original.pieceIndex ?? 0, mapJobs: original.mapJobs ?? [], maxFee: original.maxFee, fuelLimit: original.fuelLimit, executorSpId: other,
        ...(original.memoryMiB ? { memoryMiB: original.memoryMiB } : {}), ...(original.outputCap ? { maxOutputBytes: Number(original.outputCap) } : {}),
      }, sig(o.signal));
      const replay = await runOn(jobId, o.limits ?? {}, o.signal);
      const match = replay.receipt.outputHash === original.outputHash && BigInt(replay.receipt.fuelUsed) === original.fuelUsed &&
        (replay.receipt.code ?? 'succeeded') === original.exitState;
      return { original, replay, match };
    },
    get: (id: bigint, o: { signal?: AbortSignal } = {}): Promise<JobInfo> => deps.chain.getJob(id, sig(o.signal)),
    /** A dataset run: its one escrow, what is left of it, its result, and every job that drew from it with its receipt. */
    run: (id: bigint, o: { signal?: AbortSignal } = {}): Promise<{ run: DatasetRunInfo; jobs: JobInfo[] }> => deps.chain.getRun(id, sig(o.signal)),
    /** Ends an open dataset run of yours: what no job holds comes back (jobs still holding escrow refund you directly later). */
    closeRun: (id: bigint, o: { signal?: AbortSignal } = {}) => deps.chain.closeRun(id, sig(o.signal)),
    /**
     * Takes back the escrow of a job no provider acknowledged (after a short deadline) or one
     * acknowledged but never settled (after the longest run a node allows); a running job cannot
     * be cancelled (ERR_JOB_RUNNING).
     */
    cancel: (id: bigint, o: { signal?: AbortSignal } = {}) => deps.chain.cancelJob(id, sig(o.signal)),
    /**
     * Disputes a settled job within its dispute window, putting up the chain's dispute bond: the
     * chain picks verifiers among the other providers holding the input, they re-run the job, and
     * the majority decides. With `wait`, resolves once the dispute is decided.
     */
    async dispute(id: bigint, o: { signal?: AbortSignal; wait?: boolean; timeoutMs?: number } = {}): Promise<JobInfo> {
      await deps.chain.disputeJob(id, sig(o.signal));
      let job = await deps.chain.getJob(id, sig(o.signal));
      const deadline = Date.now() + (o.timeoutMs ?? 10 * 60_000);
      while (o.wait && job.dispute?.outcome === 'open') {
        throwIfAborted(o.signal);
        if (Date.now() > deadline) throw new InsituError('ERR_TX_TIMEOUT', `the dispute of job ${id} was not decided in time (its verifiers have until ${new Date(job.dispute.deadline).toISOString()} chain time)`);
        await new Promise((r) => setTimeout(r, 200));
        job = await deps.chain.getJob(id, sig(o.signal));
      }
      return job;
    },
    list: (o: { signal?: AbortSignal; limit?: number } = {}): Promise<JobInfo[]> => deps.chain.listJobs(deps.chain.address, { ...sig(o.signal), ...(o.limit ? { limit: o.limit } : {}) }),
    /** The job's output from the node that ran it, checked against the hash on chain. */
    output: (id: bigint, o: { signal?: AbortSignal } = {}): Promise<Uint8Array> => outputOf(id, o.signal),
  };
}

export type JobsApi = ReturnType<typeof jobsApi>;
