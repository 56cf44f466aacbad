// Jobs through the SDK: the module is stored as an object (content-addressed by its SHA-256),
// the job is submitted on chain with its escrowed maximum fee, and the node that holds the input
// runs it and settles; the result carries the node's signed receipt.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { InsituError, throwIfAborted } from '../errors.ts';
import { signRequest } from '../auth/index.ts';
import { spDispatcher, errorFrom } from '../sp/index.ts';
import type { ChainClient, JobInfo, ObjectInfo, StorageProvider } from '../chain/types.ts';
import type { ObjectSource } from './source.ts';
import type { JobReceipt } from '../receipt.ts';

export type { JobReceipt };

export interface JobLimitsInput {
  fuel?: bigint;
  memoryMiB?: number;
  timeoutMs?: number;
  outputBytes?: number;
}

export interface SubmitJobOptions {
  /** WASM bytes or a path to a .wasm file. */
  module: Uint8Array | string;
  /** "bucket/name" of the input object. */
  input: string;
  args?: string[];
  /** Small objects ("bucket/name") the job reads under /inputs/<name>. */
  sideInputs?: string[];
  env?: Record<string, string>;
  limits?: JobLimitsInput;
  maxFee: bigint;
  /** Bucket to store the module in (default: the input's bucket). */
  moduleBucket?: string;
  /** Provider to run on (default: the primary of the input's bucket, which holds it whole). */
  executorSpId?: number;
  signal?: AbortSignal;
}

export interface JobRun {
  id: bigint;
  receipt: JobReceipt;
  signature: string;
  executor: StorageProvider;
}

export interface JobsDeps {
  chain: ChainClient;
  privateKey: string;
  provider(id: number): Promise<StorageProvider>;
  put(bucket: string, name: string, source: ObjectSource, opts: { signal?: AbortSignal }): Promise<ObjectInfo>;
}

const split = (target: string): [string, string] => {
  const at = target.indexOf('/');
  if (at <= 0 || at === target.length - 1) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" must be <bucket>/<name>`);
  return [target.slice(0, at), target.slice(at + 1)];
};

export function jobsApi(deps: JobsDeps) {
  const sig = (s?: AbortSignal) => (s ? { signal: s } : {});

  async function runOn(jobId: bigint, limits: JobLimitsInput, env: Record<string, string>, signal?: AbortSignal): Promise<JobRun> {
    const job = await deps.chain.getJob(jobId, sig(signal));
    const executor = await deps.provider(job.executorSpId);
    const url = new URL(`/insitu/v1/jobs/${jobId}`, executor.endpoint);
    const res = await call('POST', url, JSON.stringify({ ...limits, fuel: undefined, env }), `job ${jobId}`, signal);
    const out = (await res.body.json()) as { receipt: JobReceipt; signature: string };
    return { id: jobId, receipt: out.receipt, signature: out.signature, executor };
  }

  async function call(method: 'GET' | 'POST', url: URL, body: string | undefined, what: string, signal?: AbortSignal) {
    const headers = signRequest({ method, url, privateKey: deps.privateKey, headers: body ? { 'content-type': 'application/json' } : {} });
    const res = await request(url, { method, headers, dispatcher: spDispatcher, ...(body ? { body } : {}), ...sig(signal) });
    if (res.statusCode >= 300) throw await errorFrom(res, what);
    return res;
  }

  return {
    /** Stores the module (once per hash), submits the job, runs it on the node holding the input. */
    async submit(o: SubmitJobOptions): Promise<JobRun> {
      throwIfAborted(o.signal);
      const [bucket, object] = split(o.input);
      const module = typeof o.module === 'string' ? new Uint8Array(await readFile(o.module)) : o.module;
      const moduleHash = createHash('sha256').update(module).digest('hex');
      const moduleBucket = o.moduleBucket ?? bucket;
      const moduleObject = `.insitu/modules/${moduleHash}.wasm`;
      let stored: ObjectInfo | undefined;
      try {
        stored = await deps.chain.headObject(moduleBucket, moduleObject, sig(o.signal));
      } catch (e) {
        if ((e as InsituError).code !== 'ERR_OBJECT_NOT_FOUND') throw e;
      }
      if (!stored || stored.status !== 'sealed') await deps.put(moduleBucket, moduleObject, module, sig(o.signal));
      const { jobId } = await deps.chain.submitJob({
        bucket, object, moduleBucket, moduleObject, moduleHash, args: o.args ?? [], maxFee: o.maxFee, fuelLimit: o.limits?.fuel ?? 10_000_000_000n,
        ...(o.executorSpId ? { executorSpId: o.executorSpId } : {}),
        ...(o.sideInputs ? { sideInputs: o.sideInputs } : {}),
      }, sig(o.signal));
      return runOn(jobId, o.limits ?? {}, o.env ?? {}, o.signal);
    },
    /**
     * Re-executes a settled job on another provider that can reach the data and compares the two
     * results: the same module over the same input must give the same output hash, fuel and state.
     */
    async verify(id: bigint, o: { signal?: AbortSignal; executorSpId?: number; limits?: JobLimitsInput } = {}): Promise<{ original: JobInfo; replay: JobRun; match: boolean }> {
      const original = await deps.chain.getJob(id, sig(o.signal));
      if (original.status !== 'settled') throw new InsituError('ERR_INVALID_ARGUMENT', `job ${id} has not run yet`);
      const input = await deps.chain.headObject(original.bucket, original.object, sig(o.signal));
      const gvg = await deps.chain.getGlobalVirtualGroup(input.gvgId, sig(o.signal));
      const other = o.executorSpId ?? gvg.secondarySpIds.find((sp) => sp !== original.executorSpId);
      if (other === undefined) throw new InsituError('ERR_PROVIDER_NOT_FOUND', 'no other provider holds this object');
      const { jobId } = await deps.chain.submitJob({
        bucket: original.bucket, object: original.object, moduleBucket: original.moduleBucket, moduleObject: original.moduleObject,
        moduleHash: original.moduleHash, args: original.args, sideInputs: original.sideInputs, maxFee: original.maxFee, fuelLimit: original.fuelLimit, executorSpId: other,
      }, sig(o.signal));
      const replay = await runOn(jobId, o.limits ?? {}, {}, o.signal);
      const match = replay.receipt.outputHash === original.outputHash && BigInt(replay.receipt.fuelUsed) === original.fuelUsed &&
        (replay.receipt.code ?? 'succeeded') === original.exitState;
      return { original, replay, match };
    },
    get: (id: bigint, o: { signal?: AbortSignal } = {}): Promise<JobInfo> => deps.chain.getJob(id, sig(o.signal)),
    list: (o: { signal?: AbortSignal; limit?: number } = {}): Promise<JobInfo[]> => deps.chain.listJobs(deps.chain.address, { ...sig(o.signal), ...(o.limit ? { limit: o.limit } : {}) }),
    /** The job's output from the node that ran it, checked against the hash on chain. */
    async output(id: bigint, o: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
      const job = await deps.chain.getJob(id, sig(o.signal));
      const executor = await deps.provider(job.executorSpId);
      const res = await call('GET', new URL(`/insitu/v1/jobs/${id}/output`, executor.endpoint), undefined, `output of job ${id}`, o.signal);
      const data = new Uint8Array(await res.body.arrayBuffer());
      if (job.outputHash && createHash('sha256').update(data).digest('hex') !== job.outputHash) {
        throw new InsituError('ERR_CHECKSUM_MISMATCH', `the output of job ${id} does not match the hash settled on chain`);
      }
      return data;
    },
  };
}

export type JobsApi = ReturnType<typeof jobsApi>;
