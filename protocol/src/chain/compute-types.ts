// Protobuf codecs for insitu's compute extension messages (jobs), in the same shape as the
// generated greenfield-cosmos-types codecs (encode/decode/fromPartial/toSDK), so they travel in
// ordinary Cosmos transactions and are signed with EIP-712 like every other message.

import { createRequire } from 'node:module';
import type { Codec } from './gnfd-types.ts';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const $ = require('protobufjs/minimal') as any;
const Long = require('long') as any;
if ($.util.Long !== Long) {
  $.util.Long = Long;
  $.configure();
}

type FieldType = 'string' | 'uint64' | 'uint32' | 'bytes' | 'strings';
type Field = [no: number, name: string, type: FieldType];

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const WIRE: Record<FieldType, number> = { string: 2, uint64: 0, uint32: 0, bytes: 2, strings: 2 };

function defaults(fields: Field[]): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (const [, name, type] of fields) m[name] = type === 'strings' ? [] : type === 'uint64' ? Long.UZERO : type === 'uint32' ? 0 : type === 'bytes' ? new Uint8Array() : '';
  return m;
}

function codecOf(fields: Field[]): Codec {
  const fromPartial = (o: Record<string, unknown>): Record<string, unknown> => {
    const m = defaults(fields);
    for (const [, name, type] of fields) {
      const v = o[name];
      if (v === undefined || v === null) continue;
      m[name] = type === 'uint64' ? Long.fromValue(typeof v === 'bigint' ? v.toString() : v, true) : type === 'strings' ? [...(v as string[])] : v;
    }
    return m;
  };
  return {
    fromPartial,
    encode(m: Record<string, unknown>) {
      const w = $.Writer.create();
      for (const [no, name, type] of fields) {
        const v = m[name];
        const tag = (no << 3) | WIRE[type];
        if (type === 'strings') for (const s of (v as string[]) ?? []) w.uint32(tag).string(s);
        else if (type === 'string' && v) w.uint32(tag).string(v);
        else if (type === 'bytes' && v && (v as Uint8Array).length) w.uint32(tag).bytes(v);
        else if (type === 'uint32' && v) w.uint32(tag).uint32(v);
        else if (type === 'uint64' && v && !Long.fromValue(v).isZero()) w.uint32(tag).uint64(v);
      }
      return w;
    },
    decode(input: Uint8Array) {
      const r = $.Reader.create(input);
      const m = defaults(fields);
      while (r.pos < r.len) {
        const tag = r.uint32();
        const f = fields.find(([no]) => no === tag >>> 3);
        if (!f) {
          r.skipType(tag & 7);
          continue;
        }
        const [, name, type] = f;
        if (type === 'strings') (m[name] as string[]).push(r.string());
        else if (type === 'string') m[name] = r.string();
        else if (type === 'bytes') m[name] = r.bytes();
        else if (type === 'uint32') m[name] = r.uint32();
        else m[name] = r.uint64();
      }
      return m;
    },
    toSDK(m: Record<string, unknown>) {
      const o: Record<string, unknown> = {};
      for (const [, name, type] of fields) o[snake(name)] = type === 'uint64' ? String(m[name] ?? '0') : m[name];
      return o;
    },
  } as Codec;
}

export const COMPUTE_CODECS: Record<string, Codec> = {
  '/insitu.compute.MsgSubmitJob': codecOf([
    [1, 'creator', 'string'], [2, 'bucketName', 'string'], [3, 'objectName', 'string'], [4, 'moduleBucket', 'string'],
    [5, 'moduleObject', 'string'], [6, 'moduleHash', 'string'], [7, 'args', 'strings'], [8, 'maxFee', 'string'],
    [9, 'fuelLimit', 'uint64'], [10, 'executorSpId', 'uint32'], [11, 'sideInputs', 'strings'],
    [12, 'env', 'strings'], [13, 'mode', 'string'], [14, 'pieceIndex', 'uint32'], [15, 'mapJobs', 'strings'],
    [16, 'memoryMib', 'uint32'], [17, 'maxOutputBytes', 'uint64'], [18, 'offerId', 'uint64'], [19, 'maxComputePrice', 'string'],
    [20, 'executorChoice', 'string'], [21, 'runId', 'uint64'],
  ]),
  '/insitu.compute.MsgSubmitJobResponse': codecOf([[1, 'jobId', 'uint64']]),
  '/insitu.compute.MsgSettleJob': codecOf([
    [1, 'operator', 'string'], [2, 'jobId', 'uint64'], [3, 'fuelUsed', 'uint64'], [4, 'outputHash', 'string'],
    [5, 'exitState', 'string'], [6, 'receiptSignature', 'string'], [7, 'receipt', 'string'],
  ]),
  '/insitu.compute.MsgSettleJobResponse': codecOf([[1, 'fee', 'string'], [2, 'refund', 'string']]),
  '/insitu.compute.MsgCancelJob': codecOf([[1, 'creator', 'string'], [2, 'jobId', 'uint64']]),
  '/insitu.compute.MsgCancelJobResponse': codecOf([[1, 'refund', 'string']]),
  '/insitu.compute.MsgAckJob': codecOf([[1, 'operator', 'string'], [2, 'jobId', 'uint64']]),
  '/insitu.compute.MsgAckJobResponse': codecOf([]),
  '/insitu.compute.MsgDisputeJob': codecOf([[1, 'disputer', 'string'], [2, 'jobId', 'uint64']]),
  '/insitu.compute.MsgDisputeJobResponse': codecOf([[1, 'bond', 'string'], [2, 'verifiers', 'strings']]),
  '/insitu.compute.MsgVerifyJob': codecOf([[1, 'operator', 'string'], [2, 'jobId', 'uint64'], [3, 'receipt', 'string'], [4, 'receiptSignature', 'string']]),
  '/insitu.compute.MsgVerifyJobResponse': codecOf([[1, 'agree', 'string'], [2, 'outcome', 'string']]),
  '/insitu.compute.MsgReassignJob': codecOf([[1, 'creator', 'string'], [2, 'jobId', 'uint64'], [3, 'executorSpId', 'uint32'], [4, 'maxComputePrice', 'string']]),
  '/insitu.compute.MsgReassignJobResponse': codecOf([[1, 'executorSpId', 'uint32'], [2, 'computePrice', 'string']]),
  '/insitu.compute.MsgRecordOutput': codecOf([[1, 'creator', 'string'], [2, 'jobId', 'uint64'], [3, 'bucketName', 'string'], [4, 'objectName', 'string']]),
  '/insitu.compute.MsgRecordOutputResponse': codecOf([]),
  // Dataset runs: one escrow for a run's maps and reduce.
  '/insitu.compute.MsgOpenRun': codecOf([
    [1, 'creator', 'string'], [2, 'bucketName', 'string'], [3, 'prefix', 'string'], [4, 'moduleHash', 'string'],
    [5, 'reduceModuleHash', 'string'], [6, 'mapFee', 'string'], [7, 'reduceFee', 'string'], [8, 'spareMaps', 'uint32'], [9, 'offerId', 'uint64'],
  ]),
  '/insitu.compute.MsgOpenRunResponse': codecOf([[1, 'runId', 'uint64'], [2, 'escrowed', 'string']]),
  '/insitu.compute.MsgFundRun': codecOf([[1, 'creator', 'string'], [2, 'runId', 'uint64'], [3, 'amount', 'string']]),
  '/insitu.compute.MsgFundRunResponse': codecOf([]),
  '/insitu.compute.MsgCloseRun': codecOf([[1, 'creator', 'string'], [2, 'runId', 'uint64']]),
  '/insitu.compute.MsgCloseRunResponse': codecOf([[1, 'refund', 'string']]),
  '/insitu.compute.MsgSetComputePrice': codecOf([[1, 'operator', 'string'], [2, 'computePrice', 'string']]),
  '/insitu.compute.MsgSetComputePriceResponse': codecOf([]),
  // Data offers (chain offers module).
  '/insitu.compute.MsgCreateOffer': codecOf([
    [1, 'owner', 'string'], [2, 'bucketName', 'string'], [3, 'prefix', 'string'], [4, 'audience', 'string'], [5, 'buyers', 'strings'],
    [6, 'groupId', 'uint64'], [7, 'modules', 'strings'], [8, 'pricePerJob', 'string'], [9, 'pricePerGib', 'string'],
    [10, 'maxOutputBytes', 'uint64'], [11, 'expiresAt', 'uint64'],
  ]),
  '/insitu.compute.MsgCreateOfferResponse': codecOf([[1, 'offerId', 'uint64']]),
  '/insitu.compute.MsgRemoveOffer': codecOf([[1, 'owner', 'string'], [2, 'offerId', 'uint64']]),
  '/insitu.compute.MsgRemoveOfferResponse': codecOf([]),
};

/** insitu's extension messages for replacing providers that are gone (see chain recovery module). */
export const RECOVERY_CODECS: Record<string, Codec> = {
  '/insitu.virtualgroup.MsgReportProviderDown': codecOf([[1, 'reporter', 'string'], [2, 'spId', 'uint32']]),
  '/insitu.virtualgroup.MsgReportProviderDownResponse': codecOf([[1, 'status', 'uint32'], [2, 'reports', 'uint32'], [3, 'quorum', 'uint32']]),
  '/insitu.virtualgroup.MsgWithdrawDownReports': codecOf([[1, 'reporter', 'string']]),
  '/insitu.virtualgroup.MsgWithdrawDownReportsResponse': codecOf([]),
  // Stake and storage challenges: Greenfield's field numbers (a wire-compatible subset: bools as
  // varints, no BLS vote fields — each challenger attests with its own transaction).
  '/insitu.sp.MsgAdmitStorageProvider': codecOf([[1, 'authority', 'string'], [2, 'spId', 'uint32']]),
  '/insitu.sp.MsgAdmitStorageProviderResponse': codecOf([]),
  '/greenfield.virtualgroup.MsgStorageProviderForcedExit': codecOf([[1, 'authority', 'string'], [2, 'storageProvider', 'string']]),
  '/greenfield.virtualgroup.MsgCompleteStorageProviderExit': codecOf([[1, 'storageProvider', 'string'], [2, 'operator', 'string']]),
  '/greenfield.challenge.MsgSubmit': codecOf([
    [1, 'challenger', 'string'], [2, 'spOperatorAddress', 'string'], [3, 'bucketName', 'string'], [4, 'objectName', 'string'],
    [5, 'segmentIndex', 'uint32'], [6, 'randomIndex', 'uint32'],
  ]),
  '/greenfield.challenge.MsgSubmitResponse': codecOf([[1, 'challengeId', 'uint64']]),
  '/greenfield.challenge.MsgAttest': codecOf([
    [1, 'submitter', 'string'], [2, 'challengeId', 'uint64'], [3, 'objectId', 'string'], [4, 'spOperatorAddress', 'string'],
    [5, 'voteResult', 'uint32'], [6, 'challengerAddress', 'string'],
  ]),
  '/greenfield.challenge.MsgAttestResponse': codecOf([]),
};

/**
 * insitu's extension of Greenfield's storage messages (chain storage module). MsgSealObjects seals
 * a round of small objects of one global virtual group with ONE aggregate of its secondaries' BLS
 * signatures over sealObjectsSignDoc (seal.ts), where Greenfield's MsgSealObject carries one
 * aggregate per object. A departure from Greenfield made for throughput: per object, each
 * secondary's BLS signature, the primary's check and the chain's verification cost more than the
 * rest of a small upload's work on those roles; per round they are paid once. Large objects and
 * greenfield-js-sdk still use MsgSealObject. objectIds are decimal, checksumsHashes hex (the
 * SHA-256 of each object's seven expected checksums), in the signed order; an object no longer
 * waiting for its seal in that group is skipped (listed in the response), not failing the rest.
 */
export const STORAGE_CODECS: Record<string, Codec> = {
  '/insitu.storage.MsgSealObjects': codecOf([
    [1, 'operator', 'string'], [2, 'globalVirtualGroupId', 'uint32'], [3, 'objectIds', 'strings'], [4, 'checksumsHashes', 'strings'],
    [5, 'secondarySpBlsAggSignatures', 'bytes'],
  ]),
  '/insitu.storage.MsgSealObjectsResponse': codecOf([[1, 'sealed', 'strings'], [2, 'skipped', 'strings']]),
};
