// Test fixtures for the chain: a devnet genesis with real keys, and hand-built transactions.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { generatePrivateKey, privateKeyToAddress, toHex, type Hex } from '@insitu/protocol';
import { generateBlsKey, blsPublicKey } from '@insitu/protocol';
import { createDevnetGenesis, type AccountabilityParams, type Genesis, type GenesisProvider } from '../src/genesis.ts';
import type { DecodedTx, AnyMsg } from '../src/state/types.ts';

export interface TestKey {
  privateKey: Hex;
  address: Hex;
}

export interface TestProvider extends TestKey {
  blsSecret: Uint8Array;
  genesis: GenesisProvider;
}

export const newKey = (): TestKey => {
  const privateKey = generatePrivateKey();
  return { privateKey, address: privateKeyToAddress(privateKey) };
};

export function testGenesis(opts: { providers?: number; accounts?: number; balance?: bigint; accountability?: Partial<AccountabilityParams> } = {}): { genesis: Genesis; providers: TestProvider[]; accounts: TestKey[] } {
  const providers: TestProvider[] = Array.from({ length: opts.providers ?? 7 }, (_, i) => {
    const key = newKey();
    const blsSecret = generateBlsKey();
    return {
      ...key,
      blsSecret,
      genesis: {
        operatorAddress: key.address, fundingAddress: key.address, sealAddress: key.address, approvalAddress: key.address, gcAddress: key.address,
        blsKey: toHex(blsPublicKey(blsSecret)), endpoint: `http://localhost:${9100 + i}`, moniker: `sp${i + 1}`,
        storePrice: '1000', readPrice: '10', computePrice: '5',
      },
    };
  });
  const accounts = Array.from({ length: opts.accounts ?? 3 }, newKey);
  const balance = opts.balance ?? 10n ** 21n;
  const genesis = createDevnetGenesis({
    accounts: [...accounts, ...providers].map((a) => ({ address: a.address, balance })),
    providers: providers.map((p) => p.genesis),
    // Random storage challenges add blocks of their own: off unless a test asks for them.
    accountability: { challengeIntervalMs: 0, ...opts.accountability },
  });
  return { genesis, providers, accounts };
}

export async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-chain-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const GAS = 120_000n;
export const PRICE = 5_000_000_000n;

/** A transaction as the wire front hands it over after checking its signature. */
export function tx(signer: Hex, sequence: bigint, msgs: AnyMsg[], fee: Partial<{ amount: bigint; gas: bigint; denom: string }> = {}): DecodedTx {
  const raw = randomBytes(64);
  const gas = fee.gas ?? GAS * BigInt(msgs.length);
  return {
    hash: createHash('sha256').update(raw).digest(),
    raw,
    signer,
    publicKey: new Uint8Array(33),
    sequence,
    gasLimit: gas,
    feeAmount: fee.amount ?? gas * PRICE,
    feeDenom: fee.denom ?? 'BNB',
    memo: '',
    timeoutHeight: 0n,
    msgs,
  };
}
