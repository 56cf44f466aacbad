// Genesis: the chain's initial accounts, storage providers and parameters. Global virtual groups
// are derived: each provider is the primary of one family holding one group whose six
// secondaries are the next providers in order.

import { isAddress, checksumAddress, type Hex } from '@insitu/sdk/crypto/keys.ts';
import { InsituError } from '@insitu/sdk/errors.ts';

export interface GenesisProvider {
  operatorAddress: Hex;
  fundingAddress: Hex;
  sealAddress: Hex;
  approvalAddress: Hex;
  gcAddress: Hex;
  /** BLS12-381 public key, hex (48 bytes). */
  blsKey: string;
  endpoint: string;
  moniker: string;
  storePrice: string;
  readPrice: string;
  computePrice: string;
}

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
  params: StorageParamsGenesis;
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

export function createDevnetGenesis(opts: {
  chainId?: string;
  genesisTime?: number;
  accounts: { address: Hex; balance: bigint }[];
  providers: GenesisProvider[];
  params?: Partial<StorageParamsGenesis>;
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
    params,
  };
}

export const serializeGenesis = (g: Genesis): string => JSON.stringify(g, null, 2);

export function parseGenesis(text: string): Genesis {
  const g = JSON.parse(text) as Genesis;
  if (typeof g.chainId !== 'string' || !Array.isArray(g.accounts) || !Array.isArray(g.providers)) {
    throw new InsituError('ERR_CONFIG', 'genesis file is missing chainId, accounts or providers');
  }
  evmChainId(g.chainId);
  return g;
}
