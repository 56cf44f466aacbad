// Buckets and objects: Greenfield's create → seal lifecycle, with seals approved by the
// aggregated BLS signatures of the group's secondaries.

import { checksumAddress, fromHex } from '@insitu/protocol';
import { blsAggregateChecker } from '@insitu/protocol';
import { sealSignDoc, sealObjectsSignDoc, checksumsHash } from '@insitu/protocol/chain';
import { validateBucketName, validateObjectName } from '@insitu/protocol';
import { fail, emit, lower, nextId, type MsgHandler, type QueryTable, type MsgContext } from '../context.ts';
import type { KV } from '../store.ts';
import { big, toLong } from '../../gnfd.ts';
import { ensureAccount } from './bank.ts';
import { getFamily, getGvg, getProvider, providerByOperator, providerBySealAddress, currentPrices, MAX_LVG_PER_BUCKET, STATUS_IN_SERVICE } from './providers.ts';
import {
  changeFlows, chargeEarlyDelete, lockFee, unlockFee, requirePayer, requireNotFrozen, storeFlows, readFlows, totalRate, seconds, RESERVE_TIME_S, type Flow,
} from './payment/index.ts';
import { Action, Visibility, requirePermission, deletePoliciesOf } from './permission.ts';
import {
  bucketKey, objectKey, objectPrefix, getBucket, getObject, getObjectById, getBucketById, groupObjectKey, familyBucketKey,
  type BucketRecord, type ObjectRecord, type LocalVirtualGroupRecord, type GroupObject,
} from './storage-records.ts';
import { cosmosPage, pageLimit } from '../paging.ts';


const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const OBJECT_CREATED = 0;
const OBJECT_SEALED = 1;

function visibilityOf(v: unknown, allowInherit: boolean): number {
  const n = Number(v ?? 0);
  if (n === Visibility.UNSPECIFIED) return allowInherit ? Visibility.INHERIT : Visibility.PRIVATE;
  if (n === Visibility.PUBLIC_READ || n === Visibility.PRIVATE || (allowInherit && n === Visibility.INHERIT)) return n;
  return fail('ERR_INVALID_ARGUMENT', `unknown visibility ${String(v)}`);
}

/** Greenfield's charge size: the payload, but at least the minimum charge size. */
function chargeSize(params: { minChargeSize: string }, payload: bigint): bigint {
  const min = BigInt(params.minChargeSize);
  return payload > min ? payload : min;
}

/** An object's storage flows: its charge size at today's prices. */
async function objectFlows(ctx: MsgContext, bucket: BucketRecord, size: bigint, gvgId: number): Promise<Flow[]> {
  const p = await currentPrices(ctx.kv);
  const secondaries = ctx.genesis.params.redundantDataChunkNum + ctx.genesis.params.redundantParityChunkNum;
  return storeFlows({ chargeSize: chargeSize(ctx.genesis.params, size), primaryPrice: p.primary, secondaryPrice: p.secondary, secondaries, familyId: bucket.familyId, gvgId });
}

/** A bucket's sum of flows per receiver with an object's flows added (sign 1) or taken away (−1). */
function sumFlows(total: Flow[], flows: Flow[], sign: 1 | -1): Flow[] {
  const out = total.map((f) => ({ ...f }));
  for (const f of flows) {
    const at = out.find((x) => lower(x.to) === lower(f.to));
    if (at) at.rate += f.rate * BigInt(sign);
    else out.push({ to: f.to, rate: f.rate * BigInt(sign) });
  }
  return out.filter((f) => f.rate !== 0n);
}

/** Keeps the bucket's sums (when its record has them) in step with an object's flows and locked fee. */
function tally(bucket: BucketRecord, change: { flows?: Flow[]; locked?: bigint }, sign: 1 | -1): void {
  if (change.flows && bucket.storeFlows) bucket.storeFlows = sumFlows(bucket.storeFlows, change.flows, sign);
  if (change.locked && bucket.lockedFees !== undefined) bucket.lockedFees += change.locked * BigInt(sign);
}

/** The group index's entry of a sealed object. */
function indexInGroup(ctx: MsgContext, obj: ObjectRecord): void {
  const entry: GroupObject = { id: obj.id, bucketName: obj.bucket, objectName: obj.name, payloadSize: obj.payloadSize };
  ctx.kv.put(groupObjectKey(obj.gvgId, obj.id), entry);
}

async function bucketReadFlows(ctx: MsgContext, bucket: BucketRecord): Promise<Flow[]> {
  if (bucket.chargedReadQuota <= 0n) return [];
  return readFlows({ quota: bucket.chargedReadQuota, readPrice: (await currentPrices(ctx.kv)).read, familyId: bucket.familyId });
}

const msgCreateBucket: MsgHandler = async (ctx, msg) => {
  const name = validateBucketName(msg.bucketName);
  if (await getBucket(ctx.kv, name)) fail('ERR_BUCKET_EXISTS', `bucket ${name} already exists`);
  const owned = await ctx.kv.list<bigint>(`owner-bucket/${lower(ctx.signer)}/`);
  const maxBuckets = ctx.genesis.params.maxBucketsPerAccount;
  if (owned.length >= maxBuckets) fail('ERR_INVALID_ARGUMENT', `an account may own at most ${maxBuckets} buckets; delete one first`);
  const primary = await providerByOperator(ctx.kv, String(msg.primarySpAddress));
  if (!primary) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.primarySpAddress)}`);
  if (primary.status !== STATUS_IN_SERVICE) fail('ERR_PROVIDER_NOT_FOUND', `storage provider ${primary.id} is not in service`);
  const approval = msg.primarySpApproval as { globalVirtualGroupFamilyId?: number } | undefined;
  let familyId = Number(approval?.globalVirtualGroupFamilyId ?? 0);
  if (familyId === 0) familyId = (await ctx.kv.get<number>(`sp-family/${primary.id}`)) ?? 0;
  const family = await getFamily(ctx.kv, familyId);
  if (!family || family.primarySpId !== primary.id) fail('ERR_INVALID_ARGUMENT', `virtual group family ${familyId} does not belong to provider ${primary.id}`);
  const paymentAddress = await requirePayer(ctx.kv, ctx.signer, msg.paymentAddress ? String(msg.paymentAddress) : ctx.signer);
  await requireNotFrozen(ctx.kv, paymentAddress, `bucket ${name}`);
  const id = await nextId(ctx.kv, 'bucket');
  const bucket: BucketRecord = {
    id,
    name,
    owner: checksumAddress(ctx.signer),
    visibility: visibilityOf(msg.visibility, false),
    createdAt: ctx.now,
    paymentAddress: checksumAddress(paymentAddress),
    familyId,
    primarySpId: primary.id,
    chargedReadQuota: big(msg.chargedReadQuota),
    status: 0,
    objectCount: 0,
    storeFlows: [],
    lockedFees: 0n,
  };
  bucket.readFlows = await bucketReadFlows(ctx, bucket);
  await changeFlows(ctx.kv, bucket.paymentAddress, bucket.readFlows, 1, seconds(ctx.now));
  ctx.kv.put(bucketKey(name), bucket);
  ctx.kv.put(`bucket-id/${id}`, name);
  ctx.kv.put(`owner-bucket/${lower(bucket.owner)}/${name}`, id);
  ctx.kv.put(familyBucketKey(familyId, name), id);
  ctx.kv.put('meta/bucketCount', ((await ctx.kv.get<number>('meta/bucketCount')) ?? 0) + 1);
  emit(ctx, 'bucket-created', { bucket_name: name, bucket_id: id, owner: bucket.owner, primary_sp_id: primary.id });
  return { bucketId: id.toString() };
};

async function ownedBucket(ctx: MsgContext, name: string, action: number): Promise<BucketRecord> {
  const bucket = await getBucket(ctx.kv, String(name));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(name)} not found`);
  await requirePermission(ctx, bucket, null, action);
  return bucket;
}

const msgDeleteBucket: MsgHandler = async (ctx, msg) => {
  const bucket = await ownedBucket(ctx, String(msg.bucketName), Action.DELETE_BUCKET);
  if (bucket.objectCount > 0) fail('ERR_BUCKET_NOT_EMPTY', `bucket ${bucket.name} still holds ${bucket.objectCount} objects`);
  await changeFlows(ctx.kv, bucket.paymentAddress, bucket.readFlows ?? [], -1, seconds(ctx.now));
  ctx.kv.del(bucketKey(bucket.name));
  ctx.kv.del(`bucket-id/${bucket.id}`);
  ctx.kv.del(`owner-bucket/${lower(bucket.owner)}/${bucket.name}`);
  ctx.kv.del(familyBucketKey(bucket.familyId, bucket.name));
  ctx.kv.put('meta/bucketCount', ((await ctx.kv.get<number>('meta/bucketCount')) ?? 1) - 1);
  await deletePoliciesOf(ctx.kv, bucket.name, null);
  emit(ctx, 'bucket-deleted', { bucket_name: bucket.name, bucket_id: bucket.id });
  return {};
};

const msgUpdateBucketInfo: MsgHandler = async (ctx, msg) => {
  const bucket = await ownedBucket(ctx, String(msg.bucketName), Action.UPDATE_BUCKET_INFO);
  if (msg.visibility !== undefined && Number(msg.visibility) !== 0) bucket.visibility = visibilityOf(msg.visibility, false);
  const quota = msg.chargedReadQuota as { value?: unknown } | undefined;
  const newPayer = msg.paymentAddress ? await requirePayer(ctx.kv, bucket.owner, String(msg.paymentAddress)) : bucket.paymentAddress;
  const payerChanges = lower(newPayer) !== lower(bucket.paymentAddress);
  const quotaChanges = quota !== undefined && quota.value !== undefined && big(quota.value) !== bucket.chargedReadQuota;
  if (payerChanges || quotaChanges) {
    // As Greenfield's ChangePaymentAccount / UpdateBucketReadQuota: the old payer's flows for the
    // bucket stop and the new ones start, both settled now.
    const now = seconds(ctx.now);
    await changeFlows(ctx.kv, bucket.paymentAddress, bucket.readFlows ?? [], -1, now);
    if (quotaChanges) {
      if (big(quota!.value) < 0n) fail('ERR_INVALID_ARGUMENT', 'read quota cannot be negative');
      bucket.chargedReadQuota = big(quota!.value);
    }
    if (payerChanges) {
      await requireNotFrozen(ctx.kv, newPayer, `bucket ${bucket.name}`);
      // The bucket's sums move in one step: flows and locks add up, so this is what moving each object's would do.
      if (bucket.storeFlows && bucket.lockedFees !== undefined) {
        await changeFlows(ctx.kv, bucket.paymentAddress, bucket.storeFlows, -1, now);
        await changeFlows(ctx.kv, newPayer, bucket.storeFlows, 1, now);
        await unlockFee(ctx.kv, bucket.paymentAddress, bucket.lockedFees, now);
        await lockFee(ctx.kv, newPayer, bucket.lockedFees, now);
      } else for (const [, o] of await ctx.kv.list<ObjectRecord>(objectPrefix(bucket.name))) {
        if (o.status === OBJECT_SEALED) {
          await changeFlows(ctx.kv, bucket.paymentAddress, o.flows ?? [], -1, now);
          await changeFlows(ctx.kv, newPayer, o.flows ?? [], 1, now);
        } else {
          await unlockFee(ctx.kv, bucket.paymentAddress, o.lockedFee ?? 0n, now);
          await lockFee(ctx.kv, newPayer, o.lockedFee ?? 0n, now);
        }
      }
      bucket.paymentAddress = newPayer;
    }
    bucket.readFlows = await bucketReadFlows(ctx, bucket);
    await changeFlows(ctx.kv, bucket.paymentAddress, bucket.readFlows, 1, now);
  }
  ctx.kv.put(bucketKey(bucket.name), bucket);
  emit(ctx, 'bucket-updated', { bucket_name: bucket.name, visibility: bucket.visibility, payment_address: bucket.paymentAddress, charged_read_quota: bucket.chargedReadQuota });
  return {};
};

const msgCreateObject: MsgHandler = async (ctx, msg) => {
  const bucket = await getBucket(ctx.kv, String(msg.bucketName));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(msg.bucketName)} not found`);
  const name = validateObjectName(msg.objectName);
  await requirePermission(ctx, bucket, null, Action.CREATE_OBJECT);
  if (await getObject(ctx.kv, bucket.name, name)) fail('ERR_OBJECT_EXISTS', `object ${bucket.name}/${name} already exists`);
  const params = ctx.genesis.params;
  const size = big(msg.payloadSize);
  if (size < 0n || size > BigInt(params.maxPayloadSize)) fail('ERR_PAYLOAD_TOO_LARGE', `payload of ${size} bytes exceeds ${params.maxPayloadSize}`);
  const checksums = ((msg.expectChecksums as Uint8Array[]) ?? []).map((c) => new Uint8Array(c));
  const n = 1 + params.redundantDataChunkNum + params.redundantParityChunkNum;
  if (checksums.length !== n || checksums.some((c) => c.length !== 32)) {
    fail('ERR_INVALID_ARGUMENT', `expected ${n} SHA-256 checksums of 32 bytes, got ${checksums.length}`);
  }
  if (Number(msg.redundancyType ?? 0) !== 0) fail('ERR_INVALID_ARGUMENT', 'only erasure-coded redundancy is supported');
  const family = await getFamily(ctx.kv, bucket.familyId);
  const gvgId = family?.gvgIds[0];
  if (gvgId === undefined) return fail('ERR_INTERNAL', `bucket family ${bucket.familyId} has no virtual group`);
  const empty = size === 0n;
  if (empty && checksums.some((c) => Buffer.from(c).toString('hex') !== EMPTY_SHA256)) {
    fail('ERR_CHECKSUM_MISMATCH', 'an empty object must have sha256("") as every checksum');
  }
  const id = await nextId(ctx.kv, 'object');
  const now = seconds(ctx.now);
  // Creating locks the reserve fee (ReserveTime of the object's flows); an empty object is sealed at once and flows now.
  const flows = await objectFlows(ctx, bucket, size, gvgId);
  const lockedFee = empty ? 0n : totalRate(flows) * RESERVE_TIME_S;
  if (empty) await changeFlows(ctx.kv, bucket.paymentAddress, flows, 1, now);
  else await lockFee(ctx.kv, bucket.paymentAddress, lockedFee, now);
  const obj: ObjectRecord = {
    id,
    bucket: bucket.name,
    name,
    owner: bucket.owner,
    creator: checksumAddress(ctx.signer),
    payloadSize: size,
    visibility: visibilityOf(msg.visibility, true),
    contentType: String(msg.contentType ?? ''),
    createdAt: ctx.now,
    updatedAt: ctx.now,
    status: empty ? OBJECT_SEALED : OBJECT_CREATED,
    redundancyType: 0,
    checksums,
    gvgId,
    lvgId: 0,
    lockedFee,
    ...(empty ? { flows } : {}),
  };
  ctx.kv.put(`object-id/${id}`, [bucket.name, name]);
  bucket.objectCount += 1;
  if (empty) {
    obj.lvgId = bindLocalVirtualGroup(ctx, bucket, gvgId, 0n).id;
    tally(bucket, { flows }, 1);
    indexInGroup(ctx, obj);
  } else tally(bucket, { locked: lockedFee }, 1);
  ctx.kv.put(objectKey(bucket.name, name), obj);
  ctx.kv.put(bucketKey(bucket.name), bucket);
  emit(ctx, 'object-created', { bucket_name: bucket.name, object_name: name, object_id: id, gvg_id: gvgId, primary_sp_id: bucket.primarySpId, payload_size: size });
  if (empty) emit(ctx, 'object-sealed', { bucket_name: bucket.name, object_name: name, object_id: id, gvg_id: gvgId, lvg_id: obj.lvgId });
  return { objectId: id.toString() };
};

async function removeObject(ctx: MsgContext, bucket: BucketRecord, obj: ObjectRecord, event: string): Promise<void> {
  let earlyCharge = 0n;
  ctx.kv.del(objectKey(bucket.name, obj.name));
  ctx.kv.del(`object-id/${obj.id}`);
  await deletePoliciesOf(ctx.kv, bucket.name, obj.name);
  if (obj.status === OBJECT_SEALED) {
    unbindLocalVirtualGroup(ctx, bucket, obj);
    tally(bucket, { flows: obj.flows ?? [] }, -1);
    ctx.kv.del(groupObjectKey(obj.gvgId, obj.id));
    await changeFlows(ctx.kv, bucket.paymentAddress, obj.flows ?? [], -1, seconds(ctx.now));
    // Stored for less than ReserveTime: the rest of it is charged now, as Greenfield does.
    const storedFor = seconds(ctx.now) - seconds(obj.sealedAt ?? obj.createdAt);
    earlyCharge = await chargeEarlyDelete(ctx.kv, bucket.paymentAddress, obj.flows ?? [], storedFor, seconds(ctx.now));
  } else {
    await unlockFee(ctx.kv, bucket.paymentAddress, obj.lockedFee ?? 0n, seconds(ctx.now));
    tally(bucket, { locked: obj.lockedFee ?? 0n }, -1);
  }
  bucket.objectCount -= 1;
  ctx.kv.put(bucketKey(bucket.name), bucket);
  emit(ctx, event, { bucket_name: bucket.name, object_name: obj.name, object_id: obj.id, gvg_id: obj.gvgId, primary_sp_id: bucket.primarySpId, ...(earlyCharge > 0n ? { early_delete_charge: earlyCharge } : {}) });
}

async function loadObject(ctx: MsgContext, bucketName: unknown, objectName: unknown): Promise<[BucketRecord, ObjectRecord]> {
  const bucket = await getBucket(ctx.kv, String(bucketName));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(bucketName)} not found`);
  const obj = await getObject(ctx.kv, bucket.name, String(objectName));
  if (!obj) return fail('ERR_OBJECT_NOT_FOUND', `object ${bucket.name}/${String(objectName)} not found`);
  return [bucket, obj];
}

async function requirePrimarySealer(ctx: MsgContext, bucket: BucketRecord): Promise<void> {
  const sealer = await providerBySealAddress(ctx.kv, ctx.signer);
  if (!sealer || sealer.id !== bucket.primarySpId) {
    fail('ERR_PERMISSION_DENIED', `only the seal address of the bucket's primary provider (${bucket.primarySpId}) may seal or reject`);
  }
}

/** Sets of secondaries' keys whose aggregate is kept, oldest forgotten first. */
const SEAL_CHECKERS = 256;
const sealCheckers = new Map<string, (signature: Uint8Array, message: Uint8Array) => boolean>();

/**
 * FastAggregateVerify against one set of secondaries' BLS keys, the keys checked and aggregated
 * once per set instead of for every seal (a group's members seal object after object): the same
 * answer as verifying against the keys each time. Undefined when a key is not a valid G1 point,
 * which no signature verifies against.
 */
function sealChecker(keys: string[]): ((signature: Uint8Array, message: Uint8Array) => boolean) | undefined {
  const id = keys.join(',');
  let checker = sealCheckers.get(id);
  if (!checker) {
    try {
      checker = blsAggregateChecker(keys.map((k) => fromHex(k)));
    } catch {
      return undefined;
    }
    sealCheckers.set(id, checker);
    if (sealCheckers.size > SEAL_CHECKERS) sealCheckers.delete(sealCheckers.keys().next().value!);
  }
  return checker;
}

/** The group's secondaries' BLS keys, in their order. */
async function secondaryKeys(ctx: MsgContext, secondarySpIds: number[]): Promise<string[]> {
  const keys: string[] = [];
  for (const spId of secondarySpIds) {
    const sp = await getProvider(ctx.kv, spId);
    if (!sp) return fail('ERR_INTERNAL', `secondary ${spId} is missing`);
    keys.push(sp.blsKey);
  }
  return keys;
}

/** Seals a created object in group `gvgId` once its approval verified: MsgSealObject's and MsgSealObjects' common end. */
async function sealRecord(ctx: MsgContext, bucket: BucketRecord, obj: ObjectRecord, gvgId: number): Promise<void> {
  // The lock becomes flows to the family and the sealing group, at today's prices.
  const now = seconds(ctx.now);
  await unlockFee(ctx.kv, bucket.paymentAddress, obj.lockedFee ?? 0n, now);
  tally(bucket, { locked: obj.lockedFee ?? 0n }, -1);
  obj.lockedFee = 0n;
  obj.flows = await objectFlows(ctx, bucket, obj.payloadSize, gvgId);
  tally(bucket, { flows: obj.flows }, 1);
  await changeFlows(ctx.kv, bucket.paymentAddress, obj.flows, 1, now, { frozenAllowed: true });
  obj.status = OBJECT_SEALED;
  obj.sealedAt = ctx.now;
  obj.gvgId = gvgId;
  obj.lvgId = bindLocalVirtualGroup(ctx, bucket, gvgId, obj.payloadSize).id;
  obj.updatedAt = ctx.now;
  indexInGroup(ctx, obj);
  ctx.kv.put(objectKey(bucket.name, obj.name), obj);
  ctx.kv.put(bucketKey(bucket.name), bucket);
  emit(ctx, 'object-sealed', { bucket_name: bucket.name, object_name: obj.name, object_id: obj.id, gvg_id: gvgId, lvg_id: obj.lvgId });
}

const msgSealObject: MsgHandler = async (ctx, msg) => {
  const [bucket, obj] = await loadObject(ctx, msg.bucketName, msg.objectName);
  await requirePrimarySealer(ctx, bucket);
  if (obj.status !== OBJECT_CREATED) fail('ERR_OBJECT_ALREADY_SEALED', `object ${bucket.name}/${obj.name} is not waiting for a seal`);
  const gvgId = Number(msg.globalVirtualGroupId);
  const gvg = await getGvg(ctx.kv, gvgId);
  if (!gvg || gvg.familyId !== bucket.familyId) return fail('ERR_INVALID_ARGUMENT', `virtual group ${gvgId} is not in the bucket's family`);
  const keys = await secondaryKeys(ctx, gvg.secondarySpIds);
  const doc = sealSignDoc({ chainId: ctx.genesis.chainId, gvgId, objectId: obj.id, checksums: obj.checksums });
  const sig = new Uint8Array((msg.secondarySpBlsAggSignatures as Uint8Array | undefined) ?? []);
  if (!sealChecker(keys)?.(sig, doc)) fail('ERR_SIGNATURE_INVALID', 'the secondaries\' aggregated BLS signature does not verify');
  await sealRecord(ctx, bucket, obj, gvgId);
  return {};
};

/** Objects one MsgSealObjects may seal. */
export const MAX_SEAL_OBJECTS = 256;

/**
 * insitu's MsgSealObjects (see STORAGE_CODECS in protocol/src/chain/compute-types.ts): a round of
 * small objects of one group sealed by one aggregate of its secondaries' signatures over
 * sealObjectsSignDoc, built from the message's own list, so an object cancelled or deleted since
 * the secondaries signed does not stop the others. Refused as a whole: a sender that is not the
 * seal address of the group's primary, a malformed or oversized list, a signature that does not
 * verify. Each listed object still waiting for its seal in this group, in a bucket of this
 * primary and the group's family, with the checksums signed, is sealed exactly as MsgSealObject
 * seals it; any other is skipped and listed in the response.
 */
const msgSealObjects: MsgHandler = async (ctx, msg) => {
  const gvgId = Number(msg.globalVirtualGroupId);
  const gvg = await getGvg(ctx.kv, gvgId);
  if (!gvg) return fail('ERR_INVALID_ARGUMENT', `virtual group ${gvgId} does not exist`);
  const sealer = await providerBySealAddress(ctx.kv, ctx.signer);
  if (!sealer || sealer.id !== gvg.primarySpId) {
    fail('ERR_PERMISSION_DENIED', `only the seal address of group ${gvgId}'s primary provider (${gvg.primarySpId}) may seal its objects`);
  }
  const ids = (msg.objectIds as unknown[] | undefined) ?? [];
  const hashes = (msg.checksumsHashes as unknown[] | undefined) ?? [];
  if (ids.length === 0 || ids.length > MAX_SEAL_OBJECTS) fail('ERR_INVALID_ARGUMENT', `between 1 and ${MAX_SEAL_OBJECTS} objects per MsgSealObjects, not ${ids.length}`);
  if (hashes.length !== ids.length) fail('ERR_INVALID_ARGUMENT', `${ids.length} object ids but ${hashes.length} checksums hashes`);
  const objects = ids.map((id, i) => {
    const h = String(hashes[i]);
    if (!/^(0|[1-9]\d{0,19})$/.test(String(id)) || BigInt(String(id)) >= 1n << 64n) fail('ERR_INVALID_ARGUMENT', `object id ${String(id)} is not a uint64`);
    if (!/^[0-9a-f]{64}$/.test(h)) fail('ERR_INVALID_ARGUMENT', `checksums hash ${h} is not 32 bytes of lower-case hex`);
    return { objectId: BigInt(String(id)), checksumsHash: fromHex(h) };
  });
  if (new Set(objects.map((o) => o.objectId)).size !== objects.length) fail('ERR_INVALID_ARGUMENT', 'an object is listed twice');
  const keys = await secondaryKeys(ctx, gvg.secondarySpIds);
  const doc = sealObjectsSignDoc({ chainId: ctx.genesis.chainId, gvgId, objects });
  const sig = new Uint8Array((msg.secondarySpBlsAggSignatures as Uint8Array | undefined) ?? []);
  if (!sealChecker(keys)?.(sig, doc)) fail('ERR_SIGNATURE_INVALID', 'the secondaries\' aggregated BLS signature does not verify');
  const sealed: string[] = [];
  const skipped: string[] = [];
  for (const [i, o] of objects.entries()) {
    const obj = await getObjectById(ctx.kv, o.objectId);
    // Read for each object: an earlier one of the same bucket changed its record.
    const bucket = obj && (await getBucket(ctx.kv, obj.bucket));
    const fits = !!obj && !!bucket && obj.status === OBJECT_CREATED && obj.gvgId === gvgId && bucket.primarySpId === gvg.primarySpId
      && bucket.familyId === gvg.familyId && Buffer.from(checksumsHash(obj.checksums)).equals(Buffer.from(o.checksumsHash));
    if (!fits) {
      skipped.push(String(ids[i]));
      continue;
    }
    await sealRecord(ctx, bucket!, obj!, gvgId);
    sealed.push(String(ids[i]));
  }
  return { sealed, skipped };
};

/** As Greenfield's BindingObjectToGVG: one local group per global group used by the bucket. */
function bindLocalVirtualGroup(ctx: MsgContext, bucket: BucketRecord, gvgId: number, size: bigint): LocalVirtualGroupRecord {
  const lvgs = (bucket.lvgs ??= []);
  let lvg = lvgs.find((l) => l.gvgId === gvgId);
  if (!lvg) {
    if (lvgs.length >= MAX_LVG_PER_BUCKET) fail('ERR_INVALID_ARGUMENT', `bucket ${bucket.name} already uses ${MAX_LVG_PER_BUCKET} virtual groups`);
    lvg = { id: bucket.nextLvgId ?? 1, gvgId, storedSize: 0n };
    bucket.nextLvgId = lvg.id + 1;
    lvgs.push(lvg);
  }
  lvg.storedSize += size;
  lvg.totalChargeSize = (lvg.totalChargeSize ?? 0n) + chargeSize(ctx.genesis.params, size);
  return lvg;
}

function unbindLocalVirtualGroup(ctx: MsgContext, bucket: BucketRecord, obj: ObjectRecord): void {
  const lvg = bucket.lvgs?.find((l) => l.id === obj.lvgId);
  if (!lvg) return;
  lvg.storedSize -= obj.payloadSize;
  if (lvg.totalChargeSize !== undefined) lvg.totalChargeSize -= chargeSize(ctx.genesis.params, obj.payloadSize);
}

const msgRejectSealObject: MsgHandler = async (ctx, msg) => {
  const [bucket, obj] = await loadObject(ctx, msg.bucketName, msg.objectName);
  await requirePrimarySealer(ctx, bucket);
  if (obj.status !== OBJECT_CREATED) fail('ERR_OBJECT_ALREADY_SEALED', `object ${bucket.name}/${obj.name} is not waiting for a seal`);
  await removeObject(ctx, bucket, obj, 'object-rejected');
  return {};
};

/** Greenfield's CancelCreateObject: the creator, or anyone who may delete the object. */
async function cancelCreate(ctx: MsgContext, bucket: BucketRecord, obj: ObjectRecord): Promise<void> {
  if (obj.status !== OBJECT_CREATED) fail('ERR_OBJECT_ALREADY_SEALED', `object ${bucket.name}/${obj.name} is sealed; delete it instead`);
  if (lower(ctx.signer) !== lower(obj.creator)) await requirePermission(ctx, bucket, obj, Action.DELETE_OBJECT);
  await removeObject(ctx, bucket, obj, 'object-cancelled');
}

const msgCancelCreateObject: MsgHandler = async (ctx, msg) => {
  const [bucket, obj] = await loadObject(ctx, msg.bucketName, msg.objectName);
  await cancelCreate(ctx, bucket, obj);
  return {};
};

/** As on Greenfield, deleting an object still waiting for its seal cancels its creation. */
const msgDeleteObject: MsgHandler = async (ctx, msg) => {
  const [bucket, obj] = await loadObject(ctx, msg.bucketName, msg.objectName);
  if (obj.status === OBJECT_CREATED) {
    await cancelCreate(ctx, bucket, obj);
    return {};
  }
  await requirePermission(ctx, bucket, obj, Action.DELETE_OBJECT);
  await removeObject(ctx, bucket, obj, 'object-deleted');
  return {};
};

const msgUpdateObjectInfo: MsgHandler = async (ctx, msg) => {
  const [bucket, obj] = await loadObject(ctx, msg.bucketName, msg.objectName);
  await requirePermission(ctx, bucket, obj, Action.UPDATE_OBJECT_INFO);
  obj.visibility = visibilityOf(msg.visibility, true);
  obj.updatedAt = ctx.now;
  ctx.kv.put(objectKey(bucket.name, obj.name), obj);
  emit(ctx, 'object-updated', { bucket_name: bucket.name, object_name: obj.name, object_id: obj.id });
  return {};
};

const op = (m: Record<string, unknown>): string => String(m.operator);
export const storageMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.storage.MsgCreateBucket': { handler: msgCreateBucket, signer: (m) => String(m.creator) },
  '/greenfield.storage.MsgDeleteBucket': { handler: msgDeleteBucket, signer: op },
  '/greenfield.storage.MsgUpdateBucketInfo': { handler: msgUpdateBucketInfo, signer: op },
  '/greenfield.storage.MsgCreateObject': { handler: msgCreateObject, signer: (m) => String(m.creator) },
  '/greenfield.storage.MsgSealObject': { handler: msgSealObject, signer: op },
  '/insitu.storage.MsgSealObjects': { handler: msgSealObjects, signer: op },
  '/greenfield.storage.MsgRejectSealObject': { handler: msgRejectSealObject, signer: op },
  '/greenfield.storage.MsgCancelCreateObject': { handler: msgCancelCreateObject, signer: op },
  '/greenfield.storage.MsgDeleteObject': { handler: msgDeleteObject, signer: op },
  '/greenfield.storage.MsgUpdateObjectInfo': { handler: msgUpdateObjectInfo, signer: op },
};

export function bucketResponse(b: BucketRecord): Record<string, unknown> {
  return {
    owner: b.owner,
    bucketName: b.name,
    visibility: b.visibility,
    id: b.id.toString(),
    sourceType: 0,
    createAt: toLong(Math.floor(b.createdAt / 1000)),
    paymentAddress: b.paymentAddress,
    globalVirtualGroupFamilyId: b.familyId,
    chargedReadQuota: toLong(b.chargedReadQuota),
    bucketStatus: b.status,
    spAsDelegatedAgentDisabled: false,
  };
}

export function objectResponse(o: ObjectRecord): Record<string, unknown> {
  return {
    owner: o.owner,
    creator: o.creator,
    bucketName: o.bucket,
    objectName: o.name,
    id: o.id.toString(),
    localVirtualGroupId: o.lvgId,
    payloadSize: toLong(o.payloadSize),
    visibility: o.visibility,
    contentType: o.contentType,
    createAt: toLong(Math.floor(o.createdAt / 1000)),
    objectStatus: o.status,
    redundancyType: o.redundancyType,
    sourceType: 0,
    checksums: o.checksums,
    isUpdating: false,
    updatedAt: toLong(Math.floor(o.updatedAt / 1000)),
    updatedBy: o.creator,
    version: toLong(0),
  };
}

async function headObjectResponse(kv: KV, o: ObjectRecord): Promise<Record<string, unknown>> {
  const gvg = await getGvg(kv, o.gvgId);
  return {
    objectInfo: objectResponse(o),
    ...(gvg ? { globalVirtualGroup: { id: gvg.id, familyId: gvg.familyId, primarySpId: gvg.primarySpId, secondarySpIds: gvg.secondarySpIds, storedSize: toLong(0), virtualPaymentAddress: '0x0000000000000000000000000000000000000000', totalDeposit: '0' } } : {}),
  };
}

export const storageQueries: QueryTable = {
  '/greenfield.storage.Query/Params': async (ctx) => {
    const p = ctx.genesis.params;
    return {
      params: {
        versionedParams: {
          maxSegmentSize: toLong(p.maxSegmentSize),
          redundantDataChunkNum: p.redundantDataChunkNum,
          redundantParityChunkNum: p.redundantParityChunkNum,
          minChargeSize: toLong(BigInt(p.minChargeSize)),
        },
        maxPayloadSize: toLong(BigInt(p.maxPayloadSize)),
        maxBucketsPerAccount: p.maxBucketsPerAccount,
        bscMirrorBucketRelayerFee: '0', bscMirrorBucketAckRelayerFee: '0', bscMirrorObjectRelayerFee: '0', bscMirrorObjectAckRelayerFee: '0', bscMirrorGroupRelayerFee: '0', bscMirrorGroupAckRelayerFee: '0',
        discontinueCountingWindow: toLong(0), discontinueObjectMax: toLong(0), discontinueBucketMax: toLong(0), discontinueConfirmPeriod: toLong(0), discontinueDeletionMax: toLong(0), stalePolicyCleanupMax: toLong(0), minQuotaUpdateInterval: toLong(0), maxLocalVirtualGroupNumPerBucket: 10,
      },
    };
  },
  '/greenfield.storage.Query/HeadBucket': async (ctx, req) => {
    const b = await getBucket(ctx.kv, String(req.bucketName));
    if (!b) fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(req.bucketName)} not found`);
    return { bucketInfo: bucketResponse(b!) };
  },
  '/greenfield.storage.Query/HeadBucketById': async (ctx, req) => {
    const b = await getBucketById(ctx.kv, BigInt(String(req.bucketId)));
    if (!b) fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(req.bucketId)} not found`);
    return { bucketInfo: bucketResponse(b!) };
  },
  '/greenfield.storage.Query/HeadBucketExtra': async (ctx, req) => {
    const b = await getBucket(ctx.kv, String(req.bucketName));
    if (!b) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(req.bucketName)} not found`);
    // Every sealed object is bound to one of the bucket's local groups, which keep its charge size.
    const lvgs = b.lvgs ?? [];
    return {
      extraInfo: {
        priceTime: toLong(Math.floor(b.createdAt / 1000)),
        totalChargeSize: toLong(lvgs.reduce((sum, l) => sum + (l.totalChargeSize ?? 0n), 0n)),
        localVirtualGroups: lvgs.map((l) => ({
          id: l.id,
          globalVirtualGroupId: l.gvgId,
          storedSize: toLong(l.storedSize),
          totalChargeSize: toLong(l.totalChargeSize ?? 0n),
        })),
        nextLocalVirtualGroupId: b.nextLvgId ?? 1,
      },
    };
  },
  '/greenfield.storage.Query/HeadObject': async (ctx, req) => {
    const o = await getObject(ctx.kv, String(req.bucketName), String(req.objectName));
    if (!o) fail('ERR_OBJECT_NOT_FOUND', `object ${String(req.bucketName)}/${String(req.objectName)} not found`);
    return headObjectResponse(ctx.kv, o!);
  },
  '/greenfield.storage.Query/HeadObjectById': async (ctx, req) => {
    const o = await getObjectById(ctx.kv, BigInt(String(req.objectId)));
    if (!o) fail('ERR_OBJECT_NOT_FOUND', `object ${String(req.objectId)} not found`);
    return headObjectResponse(ctx.kv, o!);
  },
  /** One page (Cosmos pagination: key, offset, limit, reverse; 100 by default). */
  '/greenfield.storage.Query/ListBuckets': async (ctx, req) => {
    const page = await cosmosPage<BucketRecord>(ctx.kv, 'bucket/', req.pagination, async () => (await ctx.kv.get<number>('meta/bucketCount')) ?? 0);
    return { bucketInfos: page.rows.map(bucketResponse), pagination: page.pagination };
  },
  '/greenfield.storage.Query/ListObjects': async (ctx, req) => {
    const bucket = await getBucket(ctx.kv, String(req.bucketName));
    const page = await cosmosPage<ObjectRecord>(ctx.kv, objectPrefix(String(req.bucketName)), req.pagination, async () => bucket?.objectCount ?? 0);
    return { objectInfos: page.rows.map(objectResponse), pagination: page.pagination };
  },
  /** Project extension (JSON): buckets owned by an account. */
  '/insitu.storage.Query/BucketsByOwner': async (ctx, req) => {
    const ids = await ctx.kv.list<bigint>(`owner-bucket/${lower(String(req.owner))}/`);
    const buckets = await Promise.all(ids.map(([, id]) => getBucketById(ctx.kv, id)));
    return { buckets: buckets.filter((b): b is BucketRecord => !!b) };
  },
  /** Project extension (JSON): objects of a bucket by prefix, paged. */
  '/insitu.storage.Query/Objects': async (ctx, req) => {
    const prefix = objectPrefix(String(req.bucket));
    const after = req.startAfter ? objectKey(String(req.bucket), String(req.startAfter)) : undefined;
    const limit = pageLimit(req.limit, 1000);
    const rows = await ctx.kv.list<ObjectRecord>(prefix + String(req.prefix ?? ''), { limit, ...(after ? { after } : {}) });
    return { objects: rows.map(([, o]) => o) };
  },
  /** Project extension (JSON): an object by id with its bucket. */
  '/insitu.storage.Query/ObjectById': async (ctx, req) => {
    const o = await getObjectById(ctx.kv, BigInt(String(req.id)));
    if (!o) return fail('ERR_OBJECT_NOT_FOUND', `object ${String(req.id)} not found`);
    return { object: o, bucket: await getBucket(ctx.kv, o.bucket) };
  },
};

export { ensureAccount };
