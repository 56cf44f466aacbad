// Data offers through the SDK: a bucket owner sells compute over a bucket, a prefix or an object
// (who may buy, which modules, price per job and per GiB, output cap, expiry); buyers browse them
// and run jobs under one with `jobs.submit({ offerId })`. Offers are never edited: withdraw one and
// create another (jobs already submitted keep the terms of theirs).

import { InsituError } from '@insitu/protocol';
import type { ChainClient, OfferInfo, TxResult } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { isAddress } from '@insitu/protocol';
import { sig, type CallOptions } from '../context.ts';

export interface CreateOfferOptions extends CallOptions {
  /** Who may buy: anyone (default), these accounts, or the members of this group (id). */
  buyers?: 'anyone' | Hex[] | { groupId: bigint };
  /** SHA-256 (hex) of the modules allowed; omitted or empty: any module. */
  modules?: string[];
  pricePerJob?: bigint;
  pricePerGiB?: bigint;
  /** Most output one job may return (bytes). Required: it is what the owner lets leave. */
  maxOutputBytes: bigint;
  /** Chain time (ms since the epoch) after which nothing is sold; default never. */
  expiresAt?: number;
}

/** "bucket", "bucket/prefix/" or "bucket/object" → bucket and prefix. */
export function offerTarget(target: string): { bucket: string; prefix: string } {
  const at = target.indexOf('/');
  const bucket = at < 0 ? target : target.slice(0, at);
  if (!bucket) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" must be <bucket>[/<prefix or object>]`);
  return { bucket, prefix: at < 0 ? '' : target.slice(at + 1) };
}

export async function createOffer(chain: ChainClient, target: string, o: CreateOfferOptions): Promise<TxResult & { offerId: bigint }> {
  const { bucket, prefix } = offerTarget(target);
  const buyers = o.buyers ?? 'anyone';
  if (Array.isArray(buyers) && buyers.some((b) => !isAddress(b))) throw new InsituError('ERR_INVALID_ARGUMENT', 'buyers are account addresses (0x + 40 hex digits)');
  return chain.createOffer({
    bucket, prefix, maxOutputBytes: o.maxOutputBytes,
    ...(buyers === 'anyone' ? { audience: 'anyone' as const } : Array.isArray(buyers) ? { audience: 'accounts' as const, buyers } : { audience: 'group' as const, groupId: buyers.groupId }),
    ...(o.modules ? { modules: o.modules } : {}),
    ...(o.pricePerJob !== undefined ? { pricePerJob: o.pricePerJob } : {}),
    ...(o.pricePerGiB !== undefined ? { pricePerGiB: o.pricePerGiB } : {}),
    ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
  }, sig(o));
}

export interface OffersApi {
  /** Offers compute over `target` ("bucket", "bucket/prefix/" or "bucket/object") for money. */
  create(target: string, opts: CreateOfferOptions): Promise<TxResult & { offerId: bigint }>;
  /** Your offers in force, or with `all` everyone's (optionally over one bucket). */
  list(opts?: CallOptions & { all?: boolean; bucket?: string; owner?: Hex }): Promise<OfferInfo[]>;
  get(id: bigint, opts?: CallOptions): Promise<OfferInfo>;
  /** Withdraws one of your offers. */
  remove(id: bigint, opts?: CallOptions): Promise<TxResult>;
}

export function offersApi(chain: ChainClient): OffersApi {
  return {
    create: (target, o) => createOffer(chain, target, o),
    list: (o = {}) => chain.listOffers({ ...(o.all ? {} : { owner: o.owner ?? chain.address }), ...(o.bucket ? { bucket: o.bucket } : {}) }, sig(o)),
    get: (id, o) => chain.getOffer(id, sig(o)),
    remove: (id, o) => chain.removeOffer(id, sig(o)),
  };
}
