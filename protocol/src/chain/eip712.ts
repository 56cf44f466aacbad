// EIP-712 typed data for Greenfield transactions, built the way greenfield-js-sdk builds it, so
// that the chain can verify what the SDK signed and the project's own messages (seal, reject…)
// are signed the same way. The wrapper (domain, Tx, Fee) is greenfield-js-sdk's, written out in
// eip712-envelope.ts; each message contributes its Msg type and value here.

import { msgCodec, gnfdHelpers, big, registerMsgCodec, type Codec } from './gnfd-types.ts';
import { COMPUTE_CODECS, RECOVERY_CODECS, STORAGE_CODECS } from './compute-types.ts';
import { DEVCLOCK_CODECS } from './devclock-types.ts';
import { createEIP712, generateFee, generateMessage, generateTypes, mergeMultiEip712, type Field, type Types } from './eip712-envelope.ts';
import { InsituError } from '../errors.ts';
import { signDigest, recoverAddress, type Hex } from '../crypto/keys.ts';
import { typedDataDigest, fixTypes } from './eip712-hash.ts';

export { typedDataDigest };

const f = (spec: string): Field[] => spec.split(',').map((s) => {
  const [name, type] = s.split(':');
  return { name: name!, type: type! };
});

/**
 * The helpers' base64FromBytes (a string of char codes, then btoa): Buffer's base64 for bytes,
 * the same text in a fraction of the time; anything else is left to the helper itself.
 */
const base64Of = (c: unknown): string =>
  (c instanceof Uint8Array ? Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64') : gnfdHelpers().base64FromBytes(c as Uint8Array));

const approvalType: Types = { TypeMsg1PrimarySpApproval: f('expired_height:uint64,global_virtual_group_family_id:uint32') };

interface MsgSpec {
  types(msg: Record<string, unknown>): Types;
  value(msg: Record<string, unknown>, sdk: Record<string, unknown>): Record<string, unknown>;
}

const plain = (spec: string, extra: Types = {}): MsgSpec => ({ types: () => ({ Msg1: f(spec), ...extra }), value: (_m, sdk) => sdk });

const SPECS: Record<string, MsgSpec> = {
  // The development clock of a devnet genesis.
  '/insitu.devclock.MsgAdvanceTime': plain('authority:string,seconds:uint64,type:string'),
  '/cosmos.bank.v1beta1.MsgSend': plain('type:string,from_address:string,to_address:string,amount:TypeMsg1Amount[]', { TypeMsg1Amount: f('denom:string,amount:string') }),
  '/greenfield.storage.MsgCreateBucket': {
    types: () => ({ Msg1: f('bucket_name:string,charged_read_quota:uint64,creator:string,payment_address:string,primary_sp_address:string,primary_sp_approval:TypeMsg1PrimarySpApproval,type:string,visibility:string'), ...approvalType }),
    value: (m, sdk) => ({
      ...sdk,
      primary_sp_approval: { expired_height: '0', global_virtual_group_family_id: (m.primarySpApproval as { globalVirtualGroupFamilyId?: number } | undefined)?.globalVirtualGroupFamilyId ?? 0 },
      charged_read_quota: big(m.chargedReadQuota).toString(),
    }),
  },
  '/greenfield.storage.MsgCreateObject': {
    types: () => ({ Msg1: f('bucket_name:string,content_type:string,creator:string,expect_checksums:bytes[],object_name:string,payload_size:uint64,primary_sp_approval:TypeMsg1PrimarySpApproval,redundancy_type:string,type:string,visibility:string'), ...approvalType }),
    value: (m, sdk) => ({
      ...sdk,
      primary_sp_approval: { expired_height: '0', global_virtual_group_family_id: 0 },
      expect_checksums: ((m.expectChecksums as Uint8Array[]) ?? []).map(base64Of),
      payload_size: Number(big(m.payloadSize)),
    }),
  },
  '/greenfield.storage.MsgDeleteBucket': plain('type:string,operator:string,bucket_name:string'),
  '/greenfield.storage.MsgDeleteObject': plain('type:string,operator:string,bucket_name:string,object_name:string'),
  '/greenfield.storage.MsgCancelCreateObject': plain('type:string,operator:string,bucket_name:string,object_name:string'),
  '/greenfield.storage.MsgUpdateObjectInfo': plain('type:string,operator:string,bucket_name:string,object_name:string,visibility:string'),
  '/greenfield.storage.MsgDeletePolicy': plain('type:string,operator:string,resource:string,principal:TypeMsg1Principal', { TypeMsg1Principal: f('type:string,value:string') }),
  // charged_read_quota is optional (a nullable UInt64Value): absent, it is not part of the signed message.
  '/greenfield.storage.MsgUpdateBucketInfo': {
    types: (m) => ((m.chargedReadQuota as { value?: unknown } | undefined)?.value === undefined
      ? { Msg1: f('type:string,operator:string,bucket_name:string,payment_address:string,visibility:string') }
      : { Msg1: f('type:string,operator:string,bucket_name:string,charged_read_quota:TypeMsg1ChargedReadQuota,payment_address:string,visibility:string'), TypeMsg1ChargedReadQuota: f('value:uint64') }),
    value: (m, sdk) => {
      const q = m.chargedReadQuota as { value?: unknown } | undefined;
      const { charged_read_quota: _drop, ...rest } = sdk as Record<string, unknown>;
      return q?.value === undefined ? rest : { ...rest, charged_read_quota: { value: big(q.value).toString() } };
    },
  },
  '/greenfield.storage.MsgPutPolicy': {
    types: (m) => {
      const statements = (m.statements as { resources?: string[] }[]) ?? [];
      const withResources = (statements[0]?.resources?.length ?? 0) !== 0;
      return {
        Msg1: f('type:string,operator:string,principal:TypeMsg1Principal,resource:string,statements:TypeMsg1Statements[],expiration_time:string'),
        TypeMsg1Principal: f('type:string,value:string'),
        TypeMsg1Statements: f(`actions:string[],effect:string,expiration_time:string${withResources ? ',resources:string[]' : ''}`),
      };
    },
    value: (m, sdk) => {
      const h = gnfdHelpers();
      return {
        ...sdk,
        expiration_time: m.expirationTime ? h.fromTimestamp(m.expirationTime) : '',
        statements: ((sdk.statements as Record<string, unknown>[]) ?? []).map((e) => ({
          ...e,
          expiration_time: e.expiration_time ? h.fromTimestamp(e.expiration_time) : '',
          resources: (e.resources as unknown[] | undefined)?.length ? e.resources : null,
        })),
      };
    },
  },
  '/greenfield.storage.MsgCreateGroup': plain('creator:string,extra:string,group_name:string,type:string'),
  // Field order as greenfield-js-sdk 2.2.2 declares these types (the type hash depends on it).
  '/greenfield.storage.MsgDeleteGroup': plain('type:string,operator:string,group_name:string'),
  '/greenfield.storage.MsgLeaveGroup': plain('type:string,member:string,group_owner:string,group_name:string'),
  '/greenfield.storage.MsgUpdateGroupExtra': plain('type:string,operator:string,group_owner:string,group_name:string,extra:string'),
  '/greenfield.storage.MsgUpdateGroupMember': {
    types: (m) => {
      const add = ((m.membersToAdd as unknown[]) ?? []).length > 0;
      const del = ((m.membersToDelete as unknown[]) ?? []).length > 0;
      return {
        Msg1: f(`group_name:string,group_owner:string,operator:string,type:string${add ? ',members_to_add:TypeMsg1MembersToAdd[]' : ''}${del ? ',members_to_delete:string[]' : ''}`),
        ...(add ? { TypeMsg1MembersToAdd: f('expiration_time:string,member:string') } : {}),
      };
    },
    value: (m, sdk) => {
      const h = gnfdHelpers();
      const add = ((m.membersToAdd as { member: string; expirationTime?: unknown }[]) ?? []);
      return { ...sdk, members_to_add: add.map((e) => ({ member: e.member, expiration_time: e.expirationTime ? h.fromTimestamp(e.expirationTime) : '' })) };
    },
  },
  '/greenfield.storage.MsgRenewGroupMember': {
    types: () => ({ Msg1: f('group_name:string,group_owner:string,members:TypeMsg1Members[],operator:string,type:string'), TypeMsg1Members: f('expiration_time:string,member:string') }),
    value: (_m, sdk) => {
      const h = gnfdHelpers();
      return { ...sdk, members: ((sdk.members as Record<string, unknown>[]) ?? []).map((e) => ({ member: e.member, expiration_time: e.expiration_time ? h.fromTimestamp(e.expiration_time) : '' })) };
    },
  },
  // Messages greenfield-js-sdk has no helper for; insitu signs them through its generic tx path.
  '/greenfield.storage.MsgSealObject': {
    types: () => ({ Msg1: f('bucket_name:string,global_virtual_group_id:uint32,object_name:string,operator:string,secondary_sp_bls_agg_signatures:string,type:string') }),
    value: (m) => ({
      operator: m.operator,
      bucket_name: m.bucketName,
      object_name: m.objectName,
      global_virtual_group_id: m.globalVirtualGroupId,
      secondary_sp_bls_agg_signatures: Buffer.from((m.secondarySpBlsAggSignatures as Uint8Array) ?? []).toString('hex'),
    }),
  },
  // insitu's round of small objects sealed by one aggregate (compute-types.ts STORAGE_CODECS).
  '/insitu.storage.MsgSealObjects': {
    types: () => ({ Msg1: f('checksums_hashes:string[],global_virtual_group_id:uint32,object_ids:string[],operator:string,secondary_sp_bls_agg_signatures:string,type:string') }),
    value: (m) => ({
      operator: m.operator,
      global_virtual_group_id: m.globalVirtualGroupId,
      object_ids: [...((m.objectIds as string[]) ?? [])],
      checksums_hashes: [...((m.checksumsHashes as string[]) ?? [])],
      secondary_sp_bls_agg_signatures: Buffer.from((m.secondarySpBlsAggSignatures as Uint8Array) ?? []).toString('hex'),
    }),
  },
  '/greenfield.storage.MsgRejectSealObject': plain('bucket_name:string,object_name:string,operator:string,type:string'),
  '/greenfield.sp.MsgCreateStorageProvider': {
    types: () => ({
      Msg1: f('approval_address:string,bls_key:string,bls_proof:string,creator:string,deposit:TypeMsg1Deposit,description:TypeMsg1Description,endpoint:string,free_read_quota:uint64,funding_address:string,gc_address:string,maintenance_address:string,read_price:string,seal_address:string,sp_address:string,store_price:string,type:string'),
      TypeMsg1Deposit: f('amount:string,denom:string'),
      TypeMsg1Description: f('details:string,identity:string,moniker:string,security_contact:string,website:string'),
    }),
    value: (m, sdk) => ({ ...sdk, free_read_quota: big(m.freeReadQuota).toString() }),
  },
  '/greenfield.sp.MsgEditStorageProvider': {
    types: () => ({ Msg1: f('endpoint:string,sp_address:string,type:string') }),
    value: (m) => ({ sp_address: m.spAddress, endpoint: m.endpoint }),
  },
  '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup': {
    types: () => ({ Msg1: f('deposit:TypeMsg1Deposit,family_id:uint32,secondary_sp_ids:uint32[],storage_provider:string,type:string'), TypeMsg1Deposit: f('amount:string,denom:string') }),
    value: (_m, sdk) => sdk,
  },
  '/greenfield.payment.MsgCreatePaymentAccount': plain('type:string,creator:string'),
  '/greenfield.payment.MsgDeposit': plain('type:string,creator:string,to:string,amount:string'),
  '/greenfield.payment.MsgWithdraw': plain('type:string,creator:string,from:string,amount:string'),
  '/greenfield.payment.MsgDisableRefund': plain('type:string,owner:string,addr:string'),
  '/greenfield.virtualgroup.MsgSettle': plain('global_virtual_group_family_id:uint32,global_virtual_group_ids:uint32[],storage_provider:string,type:string'),
  // insitu's compute extension.
  '/insitu.compute.MsgSubmitJob': plain('args:string[],bucket_name:string,creator:string,env:string[],executor_choice:string,executor_sp_id:uint32,fuel_limit:uint64,map_jobs:string[],max_compute_price:string,max_fee:string,max_output_bytes:uint64,memory_mib:uint32,mode:string,module_bucket:string,module_hash:string,module_object:string,object_name:string,offer_id:uint64,piece_index:uint32,run_id:uint64,side_inputs:string[],type:string'),
  '/insitu.compute.MsgReassignJob': plain('creator:string,executor_sp_id:uint32,job_id:uint64,max_compute_price:string,type:string'),
  '/insitu.compute.MsgRecordOutput': plain('bucket_name:string,creator:string,job_id:uint64,object_name:string,type:string'),
  '/insitu.compute.MsgCreateOffer': plain('audience:string,bucket_name:string,buyers:string[],expires_at:uint64,group_id:uint64,max_output_bytes:uint64,modules:string[],owner:string,prefix:string,price_per_gib:string,price_per_job:string,type:string'),
  '/insitu.compute.MsgRemoveOffer': plain('offer_id:uint64,owner:string,type:string'),
  '/insitu.compute.MsgOpenRun': plain('bucket_name:string,creator:string,map_fee:string,module_hash:string,offer_id:uint64,prefix:string,reduce_fee:string,reduce_module_hash:string,spare_maps:uint32,type:string'),
  '/insitu.compute.MsgFundRun': plain('amount:string,creator:string,run_id:uint64,type:string'),
  '/insitu.compute.MsgCloseRun': plain('creator:string,run_id:uint64,type:string'),
  '/insitu.compute.MsgSetComputePrice': plain('compute_price:string,operator:string,type:string'),
  '/insitu.compute.MsgCancelJob': plain('creator:string,job_id:uint64,type:string'),
  '/insitu.virtualgroup.MsgReportProviderDown': plain('reporter:string,sp_id:uint32,type:string'),
  '/insitu.virtualgroup.MsgWithdrawDownReports': plain('reporter:string,type:string'),
  '/greenfield.virtualgroup.MsgStorageProviderExit': plain('storage_provider:string,type:string'),
  '/greenfield.virtualgroup.MsgReserveSwapIn': plain('global_virtual_group_family_id:uint32,global_virtual_group_id:uint32,storage_provider:string,target_sp_id:uint32,type:string'),
  '/greenfield.virtualgroup.MsgCompleteSwapIn': plain('global_virtual_group_family_id:uint32,global_virtual_group_id:uint32,storage_provider:string,type:string'),
  '/insitu.sp.MsgAdmitStorageProvider': plain('authority:string,sp_id:uint32,type:string'),
  '/greenfield.virtualgroup.MsgStorageProviderForcedExit': plain('authority:string,storage_provider:string,type:string'),
  '/greenfield.virtualgroup.MsgCompleteStorageProviderExit': plain('operator:string,storage_provider:string,type:string'),
  '/greenfield.challenge.MsgSubmit': plain('bucket_name:string,challenger:string,object_name:string,random_index:uint32,segment_index:uint32,sp_operator_address:string,type:string'),
  '/greenfield.challenge.MsgAttest': plain('challenge_id:uint64,challenger_address:string,object_id:string,sp_operator_address:string,submitter:string,type:string,vote_result:uint32'),
  '/insitu.compute.MsgSettleJob': plain('exit_state:string,fuel_used:uint64,job_id:uint64,operator:string,output_hash:string,receipt:string,receipt_signature:string,type:string'),
  '/insitu.compute.MsgAckJob': plain('job_id:uint64,operator:string,type:string'),
  '/insitu.compute.MsgDisputeJob': plain('disputer:string,job_id:uint64,type:string'),
  '/insitu.compute.MsgVerifyJob': plain('job_id:uint64,operator:string,receipt:string,receipt_signature:string,type:string'),
};

for (const [typeUrl, c] of Object.entries({ ...COMPUTE_CODECS, ...RECOVERY_CODECS, ...STORAGE_CODECS, ...DEVCLOCK_CODECS })) registerMsgCodec(typeUrl, c);

export const eip712Supported = (typeUrl: string): boolean => typeUrl in SPECS;

/** The EIP-712 Msg types and value for one message, as greenfield-js-sdk's tx() receives them. */
/** A message's EIP-712 spec and its codec's SDK form; ERR_BAD_REQUEST for a type without one. */
function specOf(typeUrl: string): { spec: MsgSpec; toSDK: NonNullable<Codec['toSDK']> } {
  const spec = SPECS[typeUrl];
  const codec = msgCodec(typeUrl) as Codec | undefined;
  if (!spec || !codec?.toSDK) throw new InsituError('ERR_BAD_REQUEST', `no EIP-712 definition for ${typeUrl}`);
  return { spec, toSDK: codec.toSDK };
}

/** A message's value in its EIP-712 form. */
function msgValue(typeUrl: string, msg: Record<string, unknown>): Record<string, unknown> {
  const { spec, toSDK } = specOf(typeUrl);
  return spec.value(msg, toSDK(msg));
}

export function msgEip712(typeUrl: string, msg: Record<string, unknown>): { types: Types; value: Record<string, unknown> } {
  const { spec, toSDK } = specOf(typeUrl);
  return { types: spec.types(msg), value: spec.value(msg, toSDK(msg)) };
}

export interface TxSignDoc {
  msgs: { typeUrl: string; value: Record<string, unknown> }[];
  accountNumber: bigint;
  sequence: bigint;
  /** The numeric EIP-155 chain id, as greenfield-js-sdk's Client.create receives it. */
  evmChainId: string;
  feeAmount: bigint;
  feeDenom: string;
  gasLimit: bigint;
  payer?: string;
  granter?: string;
  memo?: string;
  timeoutHeight?: bigint;
}

/**
 * A transaction's types table when every message's types are fixed by its type URL (the specs
 * whose types() reads nothing), by the type URLs in order: every upload's transaction has the
 * same one. Frozen, and known to the digest as fixed, so its type hashes are worked out once.
 */
const fixedTypes = new Map<string, Types>();
const FIXED_TYPES_KEPT = 256;

export function txTypedData(doc: TxSignDoc): Record<string, unknown> {
  const fixed = doc.msgs.every((m) => SPECS[m.typeUrl]?.types.length === 0);
  const key = fixed ? doc.msgs.map((m) => m.typeUrl).join('\n') : undefined;
  let types = key === undefined ? undefined : fixedTypes.get(key);
  let values: Record<string, unknown>[];
  if (types) {
    // Each message's value as msgEip712 gives it (its types, fixed, are the table's).
    values = doc.msgs.map((m) => msgValue(m.typeUrl, m.value));
  } else {
    const parts = doc.msgs.map((m) => msgEip712(m.typeUrl, m.value));
    types = generateTypes(mergeMultiEip712(parts.map((p) => p.types)));
    values = parts.map((p) => p.value);
    if (key !== undefined) {
      if (fixedTypes.size >= FIXED_TYPES_KEPT) fixedTypes.delete(fixedTypes.keys().next().value!);
      fixedTypes.set(key, fixTypes(types));
    }
  }
  const msgs: Record<string, unknown> = {};
  values.forEach((v, i) => {
    msgs[`msg${i + 1}`] = { ...v, type: doc.msgs[i]!.typeUrl };
  });
  const fee = generateFee(doc.feeAmount.toString(), doc.feeDenom, doc.gasLimit.toString(), doc.payer ?? '', doc.granter ?? '');
  const message = generateMessage(doc.accountNumber.toString(), doc.sequence.toString(), doc.evmChainId, doc.memo ?? '', fee, msgs, (doc.timeoutHeight ?? 0n).toString());
  return createEIP712(types, doc.evmChainId, message);
}

/**
 * The address that signed `typed` (the signature is r||s||v, 65 bytes, v in {0,1} or {27,28}).
 * The digest is eth-sig-util's V4 digest (see eip712-hash.ts) and the recovery is libsecp256k1's,
 * which accepts and refuses the same signatures eth-sig-util's recovery does.
 */
export function recoverTxSigner(typed: Record<string, unknown>, signature: Uint8Array): Hex {
  try {
    return recoverAddress(typedDataDigest(typed), signature);
  } catch (cause) {
    throw new InsituError('ERR_TX_SIGNATURE', 'the transaction signature is malformed', { cause });
  }
}

/** Signs `typed` as eth-sig-util's signTypedData V4 does: r||s||v with v in {27,28}. */
export function signTypedData(typed: Record<string, unknown>, privateKey: string): Uint8Array {
  const signature = signDigest(typedDataDigest(typed), privateKey);
  signature[64] = signature[64]! + 27;
  return signature;
}
