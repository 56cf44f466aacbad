// Storage providers and their virtual groups: families (one per primary) and global virtual
// groups (1 primary + secondaries that hold piece i of every segment).

import { createHash } from 'node:crypto';
import { checksumAddress, isAddress, fromHex, sameAddress, type Hex } from '@insitu/protocol';
import { blsVerify } from '@insitu/protocol';
import { move } from './bank.ts';
import { fail, emit, lower, nextId, type MsgHandler, type QueryTable } from '../context.ts';
import type { KV } from '../store.ts';
import { accountabilityOf, type GenesisProvider } from '../../genesis.ts';
import { toLong } from '../../gnfd.ts';
import type { ProviderRecord, FamilyRecord, GvgRecord } from '@insitu/protocol/chain';
export type { ProviderRecord, FamilyRecord, GvgRecord };

export const STATUS_IN_SERVICE = 0;
/** Greenfield's STATUS_IN_MAINTENANCE: where a registered provider waits for admission. */
export const STATUS_IN_MAINTENANCE = 3;

/** Admitted by governance (or at genesis); records older than admission are. */
export const isAdmitted = (p: ProviderRecord): boolean => p.admitted !== false;
/** Serves, takes roles, votes and sets prices: admitted and in service. */
export const isActive = (p: ProviderRecord | undefined): boolean => !!p && isAdmitted(p) && p.status === STATUS_IN_SERVICE;

export async function getProvider(kv: KV, id: number): Promise<ProviderRecord | undefined> {
  return kv.get<ProviderRecord>(`sp/${id}`);
}

export async function providerByOperator(kv: KV, address: string): Promise<ProviderRecord | undefined> {
  const id = await kv.get<number>(`sp-op/${lower(address)}`);
  return id === undefined ? undefined : getProvider(kv, id);
}

export async function providerBySealAddress(kv: KV, address: string): Promise<ProviderRecord | undefined> {
  const id = await kv.get<number>(`sp-seal/${lower(address)}`);
  return id === undefined ? undefined : getProvider(kv, id);
}

/** Free read quota per bucket and month when a provider names none: 1 GiB. */
export const DEFAULT_FREE_READ_QUOTA = String(1024 ** 3);

export async function addProvider(kv: KV, p: GenesisProvider, extra: Partial<Pick<ProviderRecord, 'status' | 'deposit' | 'admitted' | 'createdAt' | 'admittedAt'>> = {}): Promise<ProviderRecord> {
  for (const a of [p.operatorAddress, p.fundingAddress, p.sealAddress, p.approvalAddress, p.gcAddress]) {
    if (!isAddress(a)) fail('ERR_INVALID_ARGUMENT', `not an address: ${a}`);
  }
  if (await providerByOperator(kv, p.operatorAddress)) fail('ERR_INVALID_ARGUMENT', `provider ${p.operatorAddress} exists`);
  if (fromHex(p.blsKey).length !== 48) fail('ERR_INVALID_ARGUMENT', 'a BLS public key is 48 bytes');
  const id = Number(await nextId(kv, 'sp'));
  const rec: ProviderRecord = {
    id,
    operatorAddress: checksumAddress(p.operatorAddress),
    fundingAddress: checksumAddress(p.fundingAddress),
    sealAddress: checksumAddress(p.sealAddress),
    approvalAddress: checksumAddress(p.approvalAddress),
    gcAddress: checksumAddress(p.gcAddress),
    blsKey: p.blsKey.replace(/^0x/, ''),
    endpoint: p.endpoint,
    moniker: p.moniker,
    status: STATUS_IN_SERVICE,
    storePrice: p.storePrice,
    readPrice: p.readPrice,
    computePrice: p.computePrice,
    freeReadQuota: String(BigInt(p.freeReadQuota ?? DEFAULT_FREE_READ_QUOTA)),
    ...extra,
  };
  kv.put(`sp/${id}`, rec);
  kv.put(`sp-op/${lower(rec.operatorAddress)}`, id);
  kv.put(`sp-seal/${lower(rec.sealAddress)}`, id);
  return rec;
}

export async function addGvg(kv: KV, primarySpId: number, secondarySpIds: number[], createdAt = 0): Promise<GvgRecord> {
  let familyId = await kv.get<number>(`sp-family/${primarySpId}`);
  let family: FamilyRecord;
  if (familyId === undefined) {
    familyId = Number(await nextId(kv, 'family'));
    family = { id: familyId, primarySpId, gvgIds: [] };
    kv.put(`sp-family/${primarySpId}`, familyId);
  } else {
    family = (await kv.get<FamilyRecord>(`vgf/${familyId}`))!;
  }
  if (family.gvgIds.length >= MAX_GVG_PER_FAMILY) fail('ERR_INVALID_ARGUMENT', `family ${familyId} already holds ${MAX_GVG_PER_FAMILY} global virtual groups`);
  const id = Number(await nextId(kv, 'gvg'));
  const gvg: GvgRecord = { id, familyId, primarySpId, secondarySpIds, createdAt };
  family.gvgIds.push(id);
  kv.put(`vgf/${familyId}`, family);
  kv.put(`gvg/${id}`, gvg);
  for (const sp of new Set([primarySpId, ...secondarySpIds])) kv.put(`sp-gvg/${sp}/${String(id).padStart(10, '0')}`, id);
  return gvg;
}

export const getFamily = (kv: KV, id: number): Promise<FamilyRecord | undefined> => kv.get<FamilyRecord>(`vgf/${id}`);
export const getGvg = (kv: KV, id: number): Promise<GvgRecord | undefined> => kv.get<GvgRecord>(`gvg/${id}`);

export function providerResponse(p: ProviderRecord): Record<string, unknown> {
  return {
    id: p.id,
    operatorAddress: p.operatorAddress,
    fundingAddress: p.fundingAddress,
    sealAddress: p.sealAddress,
    approvalAddress: p.approvalAddress,
    gcAddress: p.gcAddress,
    maintenanceAddress: p.operatorAddress,
    totalDeposit: p.deposit ?? '0',
    status: p.status,
    endpoint: p.endpoint,
    description: { moniker: p.moniker, identity: '', website: '', securityContact: '', details: `storePrice=${p.storePrice} readPrice=${p.readPrice} computePrice=${p.computePrice}` },
    blsKey: fromHex(p.blsKey),
  };
}

/** Greenfield's virtualgroup params max_local_virtual_group_num_per_bucket and max_global_virtual_group_num_per_family. */
export const MAX_LVG_PER_BUCKET = 10;
export const MAX_GVG_PER_FAMILY = 10;

/** Greenfield's default secondary_sp_store_price_ratio (12%), as a percentage and as a cosmos Dec string. */
const SECONDARY_PRICE_PERCENT = 12n;
const SECONDARY_PRICE_RATIO_DEC = '120000000000000000';

const median = (values: bigint[]): bigint => {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
};

/**
 * Greenfield's global prices: the median of the in-service providers' prices, the secondary store
 * price a fixed share of the primary's. Prices are integers in BNB base units per charged byte
 * per second (the unit QuerySpStoragePrice reports), so the share rounds down.
 */
export function medianPrices(providers: ProviderRecord[]): { primary: bigint; secondary: bigint; read: bigint } {
  // Only admitted providers in service: a self-registered one has no say in what users pay.
  const live = providers.filter(isActive);
  const primary = median(live.map((p) => BigInt(p.storePrice)));
  return { primary, secondary: (primary * SECONDARY_PRICE_PERCENT) / 100n, read: median(live.map((p) => BigInt(p.readPrice))) };
}

/** The global prices stored by the last per-period recomputation (see stake.ts). */
export interface GlobalPriceRecord {
  primary: bigint;
  read: bigint;
  /** Chain time (ms) of the recomputation. */
  at: number;
}
export const GLOBAL_PRICE_KEY = 'meta/global-price';

/**
 * The prices every user pays now: the last per-period recomputation, bounded in how far it
 * moved (stake.ts); before the first one, the median of the admitted providers.
 */
export async function currentPrices(kv: KV): Promise<{ primary: bigint; secondary: bigint; read: bigint; at: number }> {
  const rec = await kv.get<GlobalPriceRecord>(GLOBAL_PRICE_KEY);
  if (rec) return { primary: rec.primary, secondary: (rec.primary * SECONDARY_PRICE_PERCENT) / 100n, read: rec.read, at: rec.at };
  return { ...medianPrices(await listProviders(kv)), at: 0 };
}

/** QueryGlobalSpStorePriceByTime's answer. */
export async function globalPrice(kv: KV, now: number): Promise<Record<string, unknown>> {
  const p = await currentPrices(kv);
  return {
    updateTimeSec: toLong(Math.floor((p.at || now) / 1000)),
    readPrice: p.read.toString(),
    primaryStorePrice: p.primary.toString(),
    secondaryStorePrice: p.secondary.toString(),
  };
}

const familyResponse = (f: FamilyRecord): Record<string, unknown> => ({
  id: f.id, primarySpId: f.primarySpId, globalVirtualGroupIds: f.gvgIds, virtualPaymentAddress: '0x0000000000000000000000000000000000000000',
});

const gvgResponse = (g: GvgRecord): Record<string, unknown> => ({
  id: g.id,
  familyId: g.familyId,
  primarySpId: g.primarySpId,
  secondarySpIds: g.secondarySpIds,
  storedSize: toLong(0),
  virtualPaymentAddress: '0x0000000000000000000000000000000000000000',
  totalDeposit: '0',
});

export async function listProviders(kv: KV): Promise<ProviderRecord[]> {
  return (await kv.list<ProviderRecord>('sp/')).map(([, v]) => v).sort((a, b) => a.id - b.id);
}

/** Proof of possession: the key signs the SHA-256 of itself, as Greenfield requires. */
function checkBlsProof(blsKeyHex: string, proofHex: string): void {
  if (!/^[0-9a-f]{96}$/i.test(blsKeyHex)) fail('ERR_INVALID_ARGUMENT', 'blsKey must be a 48-byte BLS12-381 public key in hex');
  const keyBytes = fromHex(blsKeyHex);
  if (!/^[0-9a-f]{192}$/i.test(proofHex) || !blsVerify(fromHex(proofHex), createHash('sha256').update(keyBytes).digest(), keyBytes)) {
    fail('ERR_SIGNATURE_INVALID', 'blsProof is not a proof of possession of blsKey');
  }
}

const checkEndpoint = (endpoint: string): void => {
  if (!/^https?:\/\/[^\s/]+/.test(endpoint)) fail('ERR_INVALID_ARGUMENT', `endpoint "${endpoint}" must be an http(s) URL`);
};

/** Greenfield's MsgEditStorageProvider: empty fields keep their value. */
const msgEditProvider: MsgHandler = async (ctx, msg) => {
  const p = await providerByOperator(ctx.kv, String(msg.spAddress));
  if (!p) return fail('ERR_PROVIDER_NOT_FOUND', `no provider with operator ${String(msg.spAddress)}`);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  if (str(msg.endpoint)) {
    checkEndpoint(str(msg.endpoint));
    p.endpoint = str(msg.endpoint);
  }
  const description = msg.description as { moniker?: string } | undefined;
  if (description?.moniker) p.moniker = description.moniker;
  for (const field of ['sealAddress', 'approvalAddress', 'gcAddress'] as const) {
    const a = str(msg[field]);
    if (!a) continue;
    if (!isAddress(a)) fail('ERR_INVALID_ARGUMENT', `${field} is not an address: ${a}`);
    if (field === 'sealAddress') {
      const holder = await providerBySealAddress(ctx.kv, a);
      if (holder && holder.id !== p.id) fail('ERR_INVALID_ARGUMENT', `seal address ${a} belongs to provider ${holder.id}`);
      ctx.kv.del(`sp-seal/${lower(p.sealAddress)}`);
      ctx.kv.put(`sp-seal/${lower(a)}`, p.id);
    }
    p[field] = checksumAddress(a);
  }
  const blsKey = str(msg.blsKey).replace(/^0x/, '');
  if (blsKey) {
    checkBlsProof(blsKey, str(msg.blsProof).replace(/^0x/, ''));
    p.blsKey = blsKey.toLowerCase();
  }
  ctx.kv.put(`sp/${p.id}`, p);
  emit(ctx, 'provider-updated', { sp_id: p.id, endpoint: p.endpoint });
  return {};
};

/** Greenfield's MsgUpdateSpStoragePrice (prices in BNB base units per charged byte). */
const msgUpdatePrice: MsgHandler = async (ctx, msg) => {
  const p = await providerByOperator(ctx.kv, String(msg.spAddress));
  if (!p) return fail('ERR_PROVIDER_NOT_FOUND', `no provider with operator ${String(msg.spAddress)}`);
  const price = (v: unknown, name: string): string => {
    const text = String(v ?? '');
    if (!/^\d+$/.test(text)) fail('ERR_INVALID_ARGUMENT', `${name} must be a non-negative integer, got "${text}"`);
    return BigInt(text).toString();
  };
  p.storePrice = price(msg.storePrice, 'storePrice');
  p.readPrice = price(msg.readPrice, 'readPrice');
  p.priceUpdatedAt = ctx.now;
  ctx.kv.put(`sp/${p.id}`, p);
  emit(ctx, 'provider-updated', { sp_id: p.id, store_price: p.storePrice, read_price: p.readPrice });
  return {};
};

/** Deposits of providers and groups are held here; counted in every conservation sum. */
export const SP_DEPOSIT_POOL = '0x00000000000000000000000000000000005d0500' as Hex;

function coinAmount(c: unknown): bigint {
  const coin = c as { denom?: string; amount?: string } | undefined;
  if (!coin || !coin.amount) return 0n;
  if (coin.denom !== 'BNB') fail('ERR_INVALID_ARGUMENT', `deposits are in BNB, not ${String(coin.denom)}`);
  return BigInt(coin.amount);
}

/**
 * A provider registers itself with a deposit of at least the genesis minimum, taken from the
 * signer and held in the deposit pool; it waits in maintenance until the admin/governance account
 * admits it (Greenfield passes MsgCreateStorageProvider through a governance proposal).
 */
const msgCreateProvider: MsgHandler = async (ctx, msg) => {
  const blsKey = String(msg.blsKey ?? '').replace(/^0x/, '');
  checkBlsProof(blsKey, String(msg.blsProof ?? '').replace(/^0x/, ''));
  const deposit = coinAmount(msg.deposit);
  const min = BigInt(accountabilityOf(ctx.genesis).minDeposit);
  if (deposit < min) fail('ERR_INVALID_ARGUMENT', `a provider deposits at least ${min} BNB base units (the genesis minimum), not ${deposit}`);
  const description = (msg.description ?? {}) as { moniker?: string; details?: string };
  const compute = /computePrice=(\d+)/.exec(description.details ?? '')?.[1] ?? '0';
  const rec = await addProvider(ctx.kv, {
    operatorAddress: String(msg.spAddress) as Hex,
    fundingAddress: String(msg.fundingAddress) as Hex,
    sealAddress: String(msg.sealAddress) as Hex,
    approvalAddress: String(msg.approvalAddress) as Hex,
    gcAddress: String(msg.gcAddress) as Hex,
    blsKey,
    endpoint: String(msg.endpoint ?? ''),
    moniker: description.moniker ?? '',
    storePrice: String(BigInt(String(msg.storePrice || '0'))),
    readPrice: String(BigInt(String(msg.readPrice || '0'))),
    computePrice: compute,
    ...(msg.freeReadQuota !== undefined && String(msg.freeReadQuota) !== '0' ? { freeReadQuota: String(msg.freeReadQuota) } : {}),
  }, { status: STATUS_IN_MAINTENANCE, admitted: false, deposit: deposit.toString(), createdAt: ctx.now });
  checkEndpoint(rec.endpoint);
  await move(ctx.kv, ctx.signer, SP_DEPOSIT_POOL, deposit);
  emit(ctx, 'provider-created', { sp_id: rec.id, operator: rec.operatorAddress, endpoint: rec.endpoint });
  return {};
};

const msgCreateGvg: MsgHandler = async (ctx, msg) => {
  const primary = await providerByOperator(ctx.kv, String(msg.storageProvider));
  if (!primary) return fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(msg.storageProvider)}`);
  if (!isActive(primary)) fail('ERR_PERMISSION_DENIED', `provider ${primary.id} is not admitted and in service`);
  const secondaries = ((msg.secondarySpIds as number[]) ?? []).map(Number);
  const want = ctx.genesis.params.redundantDataChunkNum + ctx.genesis.params.redundantParityChunkNum;
  if (secondaries.length !== want) fail('ERR_INVALID_ARGUMENT', `a global virtual group needs exactly ${want} secondaries`);
  if (new Set(secondaries).size !== secondaries.length || secondaries.includes(primary.id)) {
    fail('ERR_INVALID_ARGUMENT', 'secondaries must be distinct providers other than the primary');
  }
  for (const id of secondaries) {
    const sp = await getProvider(ctx.kv, id);
    if (!sp) fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${id}`);
    if (!isActive(sp)) fail('ERR_PERMISSION_DENIED', `provider ${id} is not admitted and in service`);
  }
  const familyId = Number(msg.familyId ?? 0);
  if (familyId !== 0) {
    const family = await getFamily(ctx.kv, familyId);
    if (!family || family.primarySpId !== primary.id) fail('ERR_INVALID_ARGUMENT', `family ${familyId} does not belong to provider ${primary.id}`);
  }
  await move(ctx.kv, ctx.signer, SP_DEPOSIT_POOL, coinAmount(msg.deposit));
  const gvg = await addGvg(ctx.kv, primary.id, secondaries, ctx.now);
  emit(ctx, 'gvg-created', { gvg_id: gvg.id, family_id: gvg.familyId, sp_id: primary.id });
  return {};
};

export const providerMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/greenfield.sp.MsgEditStorageProvider': { handler: msgEditProvider, signer: (m) => String(m.spAddress) },
  '/greenfield.sp.MsgCreateStorageProvider': { handler: msgCreateProvider, signer: (m) => String(m.spAddress) },
  '/greenfield.sp.MsgUpdateSpStoragePrice': { handler: msgUpdatePrice, signer: (m) => String(m.spAddress) },
  '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup': { handler: msgCreateGvg, signer: (m) => String(m.storageProvider) },
};

export { sameAddress };

export const providerQueries: QueryTable = {
  '/greenfield.sp.Query/StorageProviders': async (ctx) => {
    const sps = await listProviders(ctx.kv);
    return { sps: sps.map(providerResponse), pagination: { nextKey: new Uint8Array(), total: toLong(sps.length) } };
  },
  '/greenfield.sp.Query/Params': async (ctx) => ({
    params: {
      depositDenom: 'BNB', minDeposit: accountabilityOf(ctx.genesis).minDeposit, secondarySpStorePriceRatio: SECONDARY_PRICE_RATIO_DEC,
      numOfHistoricalBlocksForMaintenanceRecords: toLong(0), maintenanceDurationQuota: toLong(0),
      numOfLockupBlocksForMaintenance: toLong(0), updateGlobalPriceInterval: toLong(0), updatePriceDisallowedDays: 0,
    },
  }),
  '/greenfield.sp.Query/QueryGlobalSpStorePriceByTime': async (ctx) => ({ globalSpStorePrice: await globalPrice(ctx.kv, ctx.now) }),
  '/greenfield.sp.Query/StorageProvider': async (ctx, req) => {
    const p = await getProvider(ctx.kv, Number(req.id));
    if (!p) fail('ERR_PROVIDER_NOT_FOUND', `no storage provider ${String(req.id)}`);
    return { storageProvider: providerResponse(p!) };
  },
  '/greenfield.sp.Query/StorageProviderByOperatorAddress': async (ctx, req) => {
    const p = await providerByOperator(ctx.kv, String(req.operatorAddress));
    if (!p) fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(req.operatorAddress)}`);
    return { storageProvider: providerResponse(p!) };
  },
  '/greenfield.sp.Query/QuerySpStoragePrice': async (ctx, req) => {
    const p = await providerByOperator(ctx.kv, String(req.spAddr));
    if (!p) fail('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${String(req.spAddr)}`);
    return { spStoragePrice: { spId: p!.id, updateTimeSec: toLong(Math.floor((p!.priceUpdatedAt ?? 0) / 1000)), readPrice: p!.readPrice, freeReadQuota: toLong(BigInt(p!.freeReadQuota ?? DEFAULT_FREE_READ_QUOTA)), storePrice: p!.storePrice } };
  },
  '/greenfield.virtualgroup.Query/QuerySpOptimalGlobalVirtualGroupFamily': async (ctx, req) => {
    const familyId = await ctx.kv.get<number>(`sp-family/${Number(req.spId)}`);
    if (familyId === undefined) fail('ERR_NOT_FOUND', `provider ${String(req.spId)} is the primary of no virtual group family`);
    return { globalVirtualGroupFamilyId: familyId };
  },
  '/greenfield.virtualgroup.Query/GlobalVirtualGroupFamily': async (ctx, req) => {
    const f = await getFamily(ctx.kv, Number(req.familyId));
    if (!f) fail('ERR_NOT_FOUND', `no virtual group family ${String(req.familyId)}`);
    return { globalVirtualGroupFamily: familyResponse(f!) };
  },
  '/greenfield.virtualgroup.Query/GlobalVirtualGroupFamilies': async (ctx) => {
    const families = (await ctx.kv.list<FamilyRecord>('vgf/')).map(([, f]) => f).sort((a, b) => a.id - b.id);
    return { gvgFamilies: families.map(familyResponse), pagination: { nextKey: new Uint8Array(), total: toLong(families.length) } };
  },
  /** The families among those asked about that can take new buckets (all of them on the devnet). */
  '/greenfield.virtualgroup.Query/QuerySpAvailableGlobalVirtualGroupFamilies': async (ctx, req) => {
    const asked = ((req.globalVirtualGroupFamilyIds as number[]) ?? []).map(Number);
    const found = await Promise.all(asked.map((id) => getFamily(ctx.kv, id)));
    return { globalVirtualGroupFamilyIds: found.filter((f): f is FamilyRecord => !!f && f.gvgIds.length > 0).map((f) => f.id) };
  },
  '/greenfield.virtualgroup.Query/Params': async () => ({
    params: {
      depositDenom: 'BNB', gvgStakingPerBytes: '0', maxLocalVirtualGroupNumPerBucket: MAX_LVG_PER_BUCKET,
      maxGlobalVirtualGroupNumPerFamily: MAX_GVG_PER_FAMILY, maxStoreSizePerFamily: toLong(0), swapInValidityPeriod: '0', spConcurrentExitNum: '0',
    },
  }),
  '/greenfield.virtualgroup.Query/GlobalVirtualGroup': async (ctx, req) => {
    const g = await getGvg(ctx.kv, Number(req.globalVirtualGroupId));
    if (!g) fail('ERR_NOT_FOUND', `no global virtual group ${String(req.globalVirtualGroupId)}`);
    return { globalVirtualGroup: gvgResponse(g!) };
  },
  '/greenfield.virtualgroup.Query/GlobalVirtualGroupByFamilyID': async (ctx, req) => {
    const f = await getFamily(ctx.kv, Number(req.globalVirtualGroupFamilyId));
    const gvgs = f ? await Promise.all(f.gvgIds.map((id) => getGvg(ctx.kv, id))) : [];
    return { globalVirtualGroups: gvgs.filter((g): g is GvgRecord => !!g).map(gvgResponse) };
  },
  /** Project extension (JSON): every provider with the prices it registered. */
  '/insitu.sp.Query/Providers': async (ctx) => ({ providers: await listProviders(ctx.kv) }),
  /** Project extension (JSON): the groups a provider belongs to, for nodes to find their role. */
  '/insitu.virtualgroup.Query/ProviderGroups': async (ctx, req) => {
    const ids = (await ctx.kv.list<number>(`sp-gvg/${Number(req.spId)}/`)).map(([, v]) => v);
    const gvgs = await Promise.all(ids.map((id) => getGvg(ctx.kv, id)));
    return { groups: gvgs.filter((g): g is GvgRecord => !!g) };
  },
};
