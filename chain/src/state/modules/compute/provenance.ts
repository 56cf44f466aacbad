// Outputs as data: a job's submitter stores the output as an object of its own (an ordinary
// upload, sealed with its checksums and paid for by the bucket's payment account) and records on
// chain which job made it. The chain checks what it can: the job succeeded and was settled, the
// object is the submitter's, sealed, of the receipt's output size, and — when it fits in one
// segment — its checksum is the one the receipt's output hash implies (Greenfield's object
// checksum is the SHA-256 of its segments' SHA-256s). The record (module hash, inputs' checksums,
// receipt) is what a later buyer of that object, or the next job of a pipeline, can look up.

import { createHash } from 'node:crypto';
import { sameAddress } from '@insitu/protocol';
import { fail, emit, type MsgHandler, type QueryTable } from '../../context.ts';
import { big } from '../../../gnfd.ts';
import { getBucket, getObject, getObjectById } from '../storage-records.ts';
import { getJob, type JobRecord } from './records.ts';

export interface OutputRecord {
  jobId: bigint;
  objectId: bigint;
  /** Whether the chain matched the object's checksum to the receipt's output hash (single-segment outputs). */
  checked: boolean;
  recordedAt: number;
}

const outputKey = (objectId: bigint): string => `job-output/${objectId.toString().padStart(20, '0')}`;

export const msgRecordOutput: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const job = await getJob(ctx.kv, id);
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  if (!sameAddress(job.creator, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the submitter of job ${id} records its output`);
  if (job.status !== 'settled' || job.exitState !== 'succeeded') fail('ERR_INVALID_ARGUMENT', `job ${id} has no output to record (${job.status}${job.exitState ? `, ${job.exitState}` : ''})`);
  const bucket = await getBucket(ctx.kv, String(msg.bucketName ?? ''));
  const obj = bucket ? await getObject(ctx.kv, bucket.name, String(msg.objectName ?? '')) : undefined;
  if (!obj) return fail('ERR_OBJECT_NOT_FOUND', `object ${String(msg.bucketName)}/${String(msg.objectName)} not found`);
  if (obj.status !== 1) fail('ERR_OBJECT_NOT_SEALED', `${obj.bucket}/${obj.name} is not sealed`);
  if (!sameAddress(obj.owner, ctx.signer)) fail('ERR_PERMISSION_DENIED', `${obj.bucket}/${obj.name} is not the submitter's`);
  if (obj.payloadSize !== BigInt(job.outputBytes)) fail('ERR_SIZE_MISMATCH', `${obj.bucket}/${obj.name} has ${obj.payloadSize} bytes; job ${id} output ${job.outputBytes}`);
  const oneSegment = obj.payloadSize > 0n && obj.payloadSize <= BigInt(ctx.genesis.params.maxSegmentSize);
  if (oneSegment) {
    const expected = createHash('sha256').update(Buffer.from(job.outputHash, 'hex')).digest();
    if (!expected.equals(Buffer.from(obj.checksums[0]!))) fail('ERR_CHECKSUM_MISMATCH', `${obj.bucket}/${obj.name} is not the output of job ${id}`);
  }
  if (await ctx.kv.get(outputKey(obj.id))) fail('ERR_INVALID_ARGUMENT', `${obj.bucket}/${obj.name} already has a recorded maker`);
  const rec: OutputRecord = { jobId: id, objectId: obj.id, checked: oneSegment || obj.payloadSize === 0n, recordedAt: ctx.now };
  ctx.kv.put(outputKey(obj.id), rec);
  emit(ctx, 'job-output-recorded', { job_id: id, object_id: obj.id, bucket_name: obj.bucket, object_name: obj.name });
  return {};
};

export const provenanceQueries: QueryTable = {
  /** Project extension (JSON): the job that made an object, with its module, inputs' checksums and receipt; null when none is recorded. */
  '/insitu.compute.Query/Provenance': async (ctx, req) => {
    const bucket = await getBucket(ctx.kv, String(req.bucket ?? ''));
    const obj = bucket ? await getObject(ctx.kv, bucket.name, String(req.object ?? '')) : undefined;
    if (!obj) return fail('ERR_OBJECT_NOT_FOUND', `object ${String(req.bucket)}/${String(req.object)} not found`);
    const rec = await ctx.kv.get<OutputRecord>(outputKey(obj.id));
    if (!rec) return { provenance: null };
    const job = (await getJob(ctx.kv, rec.jobId)) as JobRecord;
    const input = await getObjectById(ctx.kv, job.objectId);
    return {
      provenance: {
        jobId: rec.jobId, checked: rec.checked, moduleHash: job.moduleHash, status: job.status, receipt: job.receipt, receiptSignature: job.receiptSignature,
        executorSpId: job.executorSpId, input: { bucket: job.bucket, object: job.object, checksums: (input?.checksums ?? []).map((c) => Buffer.from(c).toString('hex')) },
        sideInputs: job.sideInputs,
      },
    };
  },
};
