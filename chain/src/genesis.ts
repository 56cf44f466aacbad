// Genesis: the chain's initial accounts, storage providers and parameters. Global virtual groups
// are derived: each provider is the primary of one family holding one group whose six
// secondaries are the next providers in order.

import { isAddress, checksumAddress, type Hex } from '@insitu/protocol';
import { InsituError } from '@insitu/protocol';
import type { AccountabilityParams, ProviderRecord } from '@insitu/protocol/chain';
export type { AccountabilityParams };

/** A provider in genesis: its stored record's addresses, key, endpoint, prices and deposit. */
export type GenesisProvider = Pick<ProviderRecord,
  'operatorAddress' | 'fundingAddress' | 'sealAddress' | 'approvalAddress' | 'gcAddress' | 'blsKey' | 'endpoint' | 'moniker' |
  'storePrice' | 'readPrice' | 'computePrice' | 'freeReadQuota' | 'deposit'>;

export const DEFAULT_ACCOUNTABILITY: AccountabilityParams = {
  minDeposit: String(10n ** 19n),
  unbondingPeriodMs: 7 * 86_400_000,
  pricePeriodMs: 30 * 86_400_000,
  maxPriceChangePercent: 20,
  challengeIntervalMs: 10 * 60_000,
  challengesPerInterval: 1,
  challengersPerChallenge: 3,
  challengeExpiryMs: 5 * 60_000,
  challengeFee: String(10n ** 15n),
  slashPerGiB: String(85n * 10n ** 14n),
  slashMin: String(10n ** 16n),
  slashMax: String(10n ** 17n),
  slashMaxPerWindow: String(5n * 10n ** 17n),
  slashWindowMs: 12 * 3_600_000,
  slashCoolingOffMs: 15 * 60_000,
};

export interface StorageParamsGenesis {
  maxSegmentSize: number;
  redundantDataChunkNum: number;
  redundantParityChunkNum: number;
  maxPayloadSize: string;
  minChargeSize: string;
  maxBucketsPerAccount: number;
}

export interface Genesis {
  /** Cosmos chain id, e.g. insitu_9000-1. */
  chainId: string;
  genesisTime: number;
  /** Base units of BNB per unit of gas. */
  minGasPrice: string;
  accounts: { address: Hex; balance: string }[];
  providers: GenesisProvider[];
  /**
   * Global virtual groups created at genesis, by provider number (1-based, genesis order).
   * Each primary gets one family holding its groups. Absent in genesis files written before
   * groups were listed: then they are derived as createDevnetGenesis derives them.
   */
  virtualGroups?: GenesisVirtualGroup[];
  params: StorageParamsGenesis;
  /**
   * The account whose transactions admit new providers and force providers out (Greenfield's
   * governance). Absent: the first genesis account.
   */
  admin?: Hex;
  /** Absent or partial: DEFAULT_ACCOUNTABILITY fills in. */
  accountability?: Partial<AccountabilityParams>;
  /**
   * A development clock (devnets only): the accounts whose MsgAdvanceTime moves chain time
   * forward. Absent on a real network, where time is the block's time alone.
   */
  devClock?: { authorities: Hex[] };
  /** The validators of the replicated mode (CometBFT); the embedded chain has none. */
  validators?: GenesisValidator[];
}

export interface GenesisValidator {
  name: string;
  /** CometBFT's ed25519 consensus public key, base64. */
  pubKey: string;
  power: string;
}

/** The accountability params in force: the genesis values over the defaults. */
export const accountabilityOf = (g: Genesis): AccountabilityParams => ({ ...DEFAULT_ACCOUNTABILITY, ...g.accountability });

/** The admin/governance account: named in genesis, or the first genesis account. */
export const adminOf = (g: Genesis): Hex | undefined => g.admin ?? g.accounts[0]?.address;

export interface GenesisVirtualGroup {
  primarySpId: number;
  secondarySpIds: number[];
}

export const DEFAULT_PARAMS: StorageParamsGenesis = {
  maxSegmentSize: 16 * 1024 * 1024,
  redundantDataChunkNum: 4,
  redundantParityChunkNum: 2,
  maxPayloadSize: String(64n * 1024n ** 3n),
  minChargeSize: String(1024 * 1024),
  maxBucketsPerAccount: 100,
};

export const DEFAULT_CHAIN_ID = 'insitu_9000-1';

/** The EIP-155 chain id inside a cosmos chain id: insitu_9000-1 → 9000. */
export function evmChainId(chainId: string): number {
  const m = /_(\d+)-\d+$/.exec(chainId);
  if (!m) throw new InsituError('ERR_CONFIG', `chain id "${chainId}" is not of the form name_<number>-<version>`);
  return Number(m[1]);
}

/**
 * The devnet's groups: provider i is the primary of one group whose secondaries are the next
 * providers in genesis order (wrapping around).
 */
export function deriveVirtualGroups(providerCount: number, secondaries: number): GenesisVirtualGroup[] {
  if (providerCount <= secondaries) return [];
  return Array.from({ length: providerCount }, (_, i) => ({
    primarySpId: i + 1,
    secondarySpIds: Array.from({ length: secondaries }, (_, j) => ((i + 1 + j) % providerCount) + 1),
  }));
}

export function createDevnetGenesis(opts: {
  chainId?: string;
  genesisTime?: number;
  accounts: { address: Hex; balance: bigint }[];
  providers: GenesisProvider[];
  params?: Partial<StorageParamsGenesis>;
  admin?: Hex;
  accountability?: Partial<AccountabilityParams>;
  /** Accounts allowed to move a development clock (devnets and tests). */
  devClockAuthorities?: Hex[];
}): Genesis {
  const params = { ...DEFAULT_PARAMS, ...opts.params };
  const needed = params.redundantDataChunkNum + params.redundantParityChunkNum + 1;
  if (opts.providers.length < needed) {
    throw new InsituError('ERR_CONFIG', `a devnet needs at least ${needed} storage providers (1 primary + ${needed - 1} secondaries)`);
  }
  for (const a of opts.accounts) if (!isAddress(a.address)) throw new InsituError('ERR_CONFIG', `bad genesis address ${a.address}`);
  return {
    chainId: opts.chainId ?? DEFAULT_CHAIN_ID,
    genesisTime: opts.genesisTime ?? Date.now(),
    minGasPrice: '5000000000',
    accounts: opts.accounts.map((a) => ({ address: checksumAddress(a.address), balance: a.balance.toString() })),
    providers: opts.providers,
    virtualGroups: deriveVirtualGroups(opts.providers.length, needed - 1),
    params,
    ...(opts.admin ? { admin: checksumAddress(opts.admin) } : {}),
    ...(opts.accountability ? { accountability: opts.accountability } : {}),
    ...(opts.devClockAuthorities ? { devClock: { authorities: opts.devClockAuthorities.map((a) => checksumAddress(a)) } } : {}),
  };
}

/** The genesis groups, derived for genesis files that do not list them. */
export function genesisVirtualGroups(g: Genesis): GenesisVirtualGroup[] {
  return g.virtualGroups ?? deriveVirtualGroups(g.providers.length, g.params.redundantDataChunkNum + g.params.redundantParityChunkNum);
}

export const serializeGenesis = (g: Genesis): string => JSON.stringify(g, null, 2);

const isDecimal = (v: unknown): boolean => typeof v === 'string' && /^\d+$/.test(v);

export function parseGenesis(text: string): Genesis {
  let g: Genesis;
  try {
    g = JSON.parse(text) as Genesis;
  } catch (cause) {
    throw new InsituError('ERR_CONFIG', 'genesis file is not JSON', { cause });
  }
  const bad = (what: string): never => {
    throw new InsituError('ERR_CONFIG', `genesis file: ${what}`);
  };
  if (!g || typeof g.chainId !== 'string' || !Array.isArray(g.accounts) || !Array.isArray(g.providers)) {
    bad('missing chainId, accounts or providers');
  }
  evmChainId(g.chainId);
  if (!isDecimal(g.minGasPrice)) bad('minGasPrice must be a decimal string');
  if (typeof g.genesisTime !== 'number') bad('genesisTime must be a number (ms since the epoch)');
  g.params = { ...DEFAULT_PARAMS, ...g.params };
  for (const a of g.accounts) {
    if (!isAddress(a.address)) bad(`bad account address ${String(a.address)}`);
    if (!isDecimal(a.balance)) bad(`balance of ${a.address} must be a decimal string`);
  }
  for (const p of g.providers) {
    for (const a of [p.operatorAddress, p.fundingAddress, p.sealAddress, p.approvalAddress, p.gcAddress]) {
      if (!isAddress(a)) bad(`bad provider address ${String(a)}`);
    }
    if (!/^(0x)?[0-9a-fA-F]{96}$/.test(p.blsKey)) bad(`provider ${p.operatorAddress}: blsKey must be 48 bytes of hex`);
    if (p.deposit !== undefined && !isDecimal(p.deposit)) bad(`provider ${p.operatorAddress}: deposit must be a decimal string`);
  }
  if (g.admin !== undefined && !isAddress(g.admin)) bad(`admin must be an address, not ${String(g.admin)}`);
  if (g.devClock !== undefined && (!Array.isArray(g.devClock.authorities) || !g.devClock.authorities.every((a) => isAddress(a)))) {
    bad('devClock.authorities must be a list of addresses');
  }
  for (const v of g.validators ?? []) {
    if (typeof v.pubKey !== 'string' || Buffer.from(v.pubKey, 'base64').length !== 32 || !isDecimal(v.power)) bad(`validator ${String(v.name)} needs a 32-byte base64 pubKey and a decimal power`);
  }
  const acc = { ...DEFAULT_ACCOUNTABILITY, ...g.accountability };
  for (const k of ['minDeposit', 'challengeFee', 'slashPerGiB', 'slashMin', 'slashMax', 'slashMaxPerWindow'] as const) {
    if (!isDecimal(acc[k])) bad(`accountability.${k} must be a decimal string`);
  }
  for (const k of ['unbondingPeriodMs', 'pricePeriodMs', 'maxPriceChangePercent', 'challengeIntervalMs', 'challengesPerInterval', 'challengersPerChallenge', 'challengeExpiryMs', 'slashWindowMs', 'slashCoolingOffMs'] as const) {
    if (!Number.isInteger(acc[k]) || acc[k] < 0) bad(`accountability.${k} must be a non-negative integer`);
  }
  const secondaries = g.params.redundantDataChunkNum + g.params.redundantParityChunkNum;
  for (const v of g.virtualGroups ?? []) {
    const ids = [v.primarySpId, ...v.secondarySpIds];
    if (v.secondarySpIds.length !== secondaries || new Set(ids).size !== ids.length || ids.some((id) => !Number.isInteger(id) || id < 1 || id > g.providers.length)) {
      bad(`virtual group of provider ${v.primarySpId} needs ${secondaries} distinct secondaries among providers 1..${g.providers.length}`);
    }
  }
  return g;
}
