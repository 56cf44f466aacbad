// Data offers: compute-to-data for money. A bucket's owner offers a bucket, a prefix or one object
// (a prefix that is the object's whole name) to buyers — anyone, listed accounts or the members
// of a group — for the modules it lists (or any), at a price per job and per GiB of input, with
// an output cap per job and an expiry. A job submitted under an offer needs no permission of its
// own over the data: the offer is the permission. Its data fee is escrowed with the compute fee,
// held with it for the dispute window, paid to the owner when the window closes and returned to
// the buyer when the module was refused or the receipt overturned (compute/held.ts). An offer is
// never edited: a new price is a new offer, so a buyer's terms are the offer id it names.

import { isAddress, sameAddress, type Hex } from '@insitu/protocol';
import type { OfferInfo } from '@insitu/protocol/chain';
import { fail, emit, nextId, type MsgHandler, type QueryTable } from '../context.ts';
import type { KV } from '../store.ts';
import { big } from '../../gnfd.ts';
import { getBucket } from './storage-records.ts';
import { getGroupById, isGroupMember } from './group.ts';
import { pageLimit, idCursor } from '../paging.ts';

/** An offer as the chain keeps it is what its queries answer (one type for both sides). */
export type OfferRecord = OfferInfo;
export type OfferAudience = OfferInfo['audience'];

export const MAX_OFFER_ENTRIES = 64;
const GiB = 1n << 30n;

const pad = (n: bigint): string => n.toString().padStart(20, '0');
export const offerKey = (id: bigint): string => `offer/${pad(id)}`;
export const getOffer = (kv: KV, id: bigint): Promise<OfferRecord | undefined> => kv.get<OfferRecord>(offerKey(id));
/** Offers not withdrawn, in all and by owner and bucket: what the listing walks (expired ones are skipped as met). */
const liveKey = (id: bigint): string => `offer-live/${pad(id)}`;
const ownerOfferKey = (owner: string, id: bigint): string => `offer-owner/${owner.toLowerCase()}/${pad(id)}`;
const bucketOfferKey = (bucket: string, id: bigint): string => `offer-bucket/${bucket}/${pad(id)}`;
const offerIndexKeys = (o: OfferRecord): string[] => [liveKey(o.id), ownerOfferKey(o.owner, o.id), bucketOfferKey(o.bucket, o.id)];

const amount = (v: unknown, what: string): bigint => {
  const s = String(v ?? '0') || '0';
  if (!/^\d{1,40}$/.test(s)) fail('ERR_INVALID_ARGUMENT', `${what} must be a whole number of base units, not "${s.slice(0, 40)}"`);
  return BigInt(s);
};

/** The owner's fee for a job over `size` bytes under `offer`. */
export const dataFeeOf = (offer: OfferRecord, size: bigint): bigint => offer.pricePerJob + (offer.pricePerGiB * size + GiB - 1n) / GiB;

const msgCreateOffer: MsgHandler = async (ctx, msg) => {
  const bucket = await getBucket(ctx.kv, String(msg.bucketName ?? ''));
  if (!bucket) return fail('ERR_BUCKET_NOT_FOUND', `bucket ${String(msg.bucketName)} not found`);
  if (!sameAddress(bucket.owner, ctx.signer)) fail('ERR_PERMISSION_DENIED', `only the owner of ${bucket.name} may offer its data`);
  const prefix = String(msg.prefix ?? '');
  if (prefix.length > 1024) fail('ERR_INVALID_ARGUMENT', 'an offer prefix is at most 1024 characters');
  const audience = String(msg.audience ?? '') as OfferAudience;
  if (!['anyone', 'accounts', 'group'].includes(audience)) fail('ERR_INVALID_ARGUMENT', `an offer's buyers are anyone, accounts or group, not "${audience.slice(0, 20)}"`);
  const buyers = ((msg.buyers as string[]) ?? []).map(String);
  if (buyers.length > MAX_OFFER_ENTRIES || buyers.some((b) => !isAddress(b))) fail('ERR_INVALID_ARGUMENT', `buyers are at most ${MAX_OFFER_ENTRIES} account addresses`);
  if (audience === 'accounts' && buyers.length === 0) fail('ERR_INVALID_ARGUMENT', 'an offer to listed accounts lists at least one');
  if (audience !== 'accounts' && buyers.length > 0) fail('ERR_INVALID_ARGUMENT', `an offer to ${audience} lists no accounts`);
  const groupId = big(msg.groupId ?? 0);
  if (audience === 'group' && !(await getGroupById(ctx.kv, groupId))) fail('ERR_NOT_FOUND', `no group ${groupId}`);
  if (audience !== 'group' && groupId !== 0n) fail('ERR_INVALID_ARGUMENT', `an offer to ${audience} names no group`);
  const modules = ((msg.modules as string[]) ?? []).map((m) => String(m).toLowerCase());
  if (modules.length > MAX_OFFER_ENTRIES || modules.some((m) => !/^[0-9a-f]{64}$/.test(m))) fail('ERR_INVALID_ARGUMENT', `modules are at most ${MAX_OFFER_ENTRIES} SHA-256 hashes (64 hex digits)`);
  const maxOutputBytes = big(msg.maxOutputBytes ?? 0);
  if (maxOutputBytes <= 0n) fail('ERR_INVALID_ARGUMENT', 'an offer caps the output of a job: maxOutputBytes must be positive');
  const expiresAt = Number(big(msg.expiresAt ?? 0));
  if (expiresAt !== 0 && expiresAt <= ctx.now) fail('ERR_INVALID_ARGUMENT', 'an offer expires in the future (or never: 0)');
  const offer: OfferRecord = {
    id: await nextId(ctx.kv, 'offer'), owner: bucket.owner, bucket: bucket.name, prefix, audience, buyers: buyers as Hex[], groupId,
    modules: [...new Set(modules)], pricePerJob: amount(msg.pricePerJob, 'pricePerJob'), pricePerGiB: amount(msg.pricePerGib, 'pricePerGib'),
    maxOutputBytes, expiresAt, createdAt: ctx.now, removed: false,
  };
  ctx.kv.put(offerKey(offer.id), offer);
  for (const k of offerIndexKeys(offer)) ctx.kv.put(k, offer.id);
  emit(ctx, 'offer-created', { offer_id: offer.id, bucket_name: offer.bucket, prefix, owner: offer.owner });
  return { offerId: offer.id.toString() };
};

const msgRemoveOffer: MsgHandler = async (ctx, msg) => {
  const id = big(msg.offerId);
  const offer = await getOffer(ctx.kv, id);
  if (!offer || offer.removed) return fail('ERR_NOT_FOUND', `no offer ${id}`);
  if (!sameAddress(offer.owner, ctx.signer)) fail('ERR_PERMISSION_DENIED', `offer ${id} belongs to ${offer.owner}`);
  offer.removed = true;
  ctx.kv.put(offerKey(id), offer);
  for (const k of offerIndexKeys(offer)) ctx.kv.del(k);
  emit(ctx, 'offer-removed', { offer_id: id });
  return {};
};

/**
 * The offer `offerId` as it lets `buyer` run `moduleHash` over `bucket/object` at `now`, or a
 * refusal: ERR_NOT_FOUND (no such offer), ERR_PERMISSION_DENIED (not a buyer, another module,
 * data outside it, expired or removed).
 */
export async function offerFor(kv: KV, now: number, offerId: bigint, buyer: string, bucket: string, object: string, moduleHash: string): Promise<OfferRecord> {
  const offer = await getOffer(kv, offerId);
  if (!offer) return fail('ERR_NOT_FOUND', `no offer ${offerId}`);
  if (offer.removed) fail('ERR_PERMISSION_DENIED', `offer ${offerId} was withdrawn`);
  if (offer.expiresAt !== 0 && now >= offer.expiresAt) fail('ERR_PERMISSION_DENIED', `offer ${offerId} expired at ${new Date(offer.expiresAt).toISOString()}`);
  if (offer.bucket !== bucket || !object.startsWith(offer.prefix)) fail('ERR_PERMISSION_DENIED', `offer ${offerId} does not cover ${bucket}/${object}`);
  if (!offerAllowsModule(offer, moduleHash)) fail('ERR_PERMISSION_DENIED', `offer ${offerId} does not allow module ${moduleHash.slice(0, 12)}…`);
  const may = offer.audience === 'anyone' || (offer.audience === 'accounts' && offer.buyers.some((b) => sameAddress(b, buyer))) ||
    (offer.audience === 'group' && (await isGroupMember(kv, offer.groupId, buyer, now)));
  if (!may) fail('ERR_PERMISSION_DENIED', `${buyer} is not among the buyers of offer ${offerId}`);
  return offer;
}

export const offerAllowsModule = (offer: OfferRecord, moduleHash: string): boolean => offer.modules.length === 0 || offer.modules.includes(moduleHash);

export const offerMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.compute.MsgCreateOffer': { handler: msgCreateOffer, signer: (m) => String(m.owner) },
  '/insitu.compute.MsgRemoveOffer': { handler: msgRemoveOffer, signer: (m) => String(m.owner) },
};

export const offerQueries: QueryTable = {
  /** Project extension (JSON): one offer (removed ones too: jobs keep their terms). */
  '/insitu.compute.Query/Offer': async (ctx, req) => {
    if (!/^\d{1,20}$/.test(String(req.id ?? ''))) fail('ERR_INVALID_ARGUMENT', `an offer id is a whole number, not "${String(req.id).slice(0, 40)}"`);
    const offer = await getOffer(ctx.kv, BigInt(String(req.id)));
    if (!offer) return fail('ERR_NOT_FOUND', `no offer ${String(req.id)}`);
    return { offer };
  },
  /**
   * Project extension (JSON): offers in force (not removed, not expired), newest first; by owner
   * and/or bucket, through their indexes. One page per call: `nextStartAfter` (the last offer id
   * looked at) continues the walk, and is null once it is done.
   */
  '/insitu.compute.Query/Offers': async (ctx, req) => {
    const owner = req.owner ? String(req.owner) : null;
    const bucket = req.bucket ? String(req.bucket) : null;
    const limit = pageLimit(req.limit, 100);
    let cursor = idCursor(req.startAfter);
    if (owner !== null && !isAddress(owner)) return { offers: [], nextStartAfter: null };
    const key = (id: bigint): string => (bucket !== null ? bucketOfferKey(bucket, id) : owner !== null ? ownerOfferKey(owner, id) : liveKey(id));
    const prefix = key(0n).slice(0, -20);
    const offers: OfferRecord[] = [];
    // Expired offers stay indexed until withdrawn: a page looks at no more than a few pages' worth of them.
    for (let looked = 0; offers.length < limit && looked < limit * 10;) {
      const ids = await ctx.kv.list<bigint>(prefix, { reverse: true, limit, ...(cursor !== null ? { after: key(cursor) } : {}) });
      for (const [, id] of ids) {
        looked++;
        cursor = id;
        const o = await getOffer(ctx.kv, id);
        if (o && (o.expiresAt === 0 || o.expiresAt > ctx.now) && (!owner || sameAddress(o.owner, owner))) offers.push(o);
        if (offers.length === limit) return { offers, nextStartAfter: id };
      }
      if (ids.length < limit) return { offers, nextStartAfter: null };
    }
    return { offers, nextStartAfter: cursor };
  },
};
