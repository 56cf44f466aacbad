// One genesis per network: InitChain refuses a CometBFT genesis whose app_state or time is not
// the app's own genesis, so a validator started with two genesis files that disagree stops at
// once, saying why, instead of starting a chain of its own or diverging from the others.

import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonRpc } from '@insitu/sdk/chain';
import { createChainReader } from '@insitu/sdk/chain';
import { createLocalNetwork, type LocalNetwork } from '../../src/abci/local.ts';
import { checkGenesis } from '../../src/abci/server.ts';
import { serializeGenesis, type Genesis } from '../../src/genesis.ts';
import { testGenesis } from '../helpers.ts';
import { cometbft, replicatedTest, freePort, waitFor } from './env.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
/** The same genesis with the first account's balance changed. */
const richer = (g: Genesis): Genesis => ({ ...g, accounts: g.accounts.map((a, i) => (i === 0 ? { ...a, balance: `${BigInt(a.balance) * 2n}` } : a)) });
const code = (fn: () => void): string => {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

test('InitChain takes CometBFT\'s genesis when it is the app\'s own, whatever its key order or spacing', (t) => {
  const { genesis } = testGenesis({ accounts: 1, providers: 7 });
  t.is(code(() => checkGenesis(genesis, bytes(serializeGenesis(genesis)), genesis.genesisTime)), 'accepted');
  const reordered = Object.fromEntries(Object.entries(JSON.parse(serializeGenesis(genesis)) as Rec).reverse());
  t.is(code(() => checkGenesis(genesis, bytes(JSON.stringify(reordered)), genesis.genesisTime)), 'accepted');
});

test('InitChain refuses with ERR_CONFIG a CometBFT genesis whose app_state or time is not the app\'s', (t) => {
  const { genesis } = testGenesis({ accounts: 1, providers: 7 });
  t.is(code(() => checkGenesis(genesis, bytes(serializeGenesis(richer(genesis))), genesis.genesisTime)), 'ERR_CONFIG', 'another balance');
  t.is(code(() => checkGenesis(genesis, bytes(serializeGenesis({ ...genesis, providers: genesis.providers.slice(0, 6) })), genesis.genesisTime)), 'ERR_CONFIG', 'a provider fewer');
  t.is(code(() => checkGenesis(genesis, bytes(serializeGenesis(genesis)), genesis.genesisTime + 1)), 'ERR_CONFIG', 'another genesis time');
  t.is(code(() => checkGenesis(genesis, new Uint8Array(), genesis.genesisTime)), 'ERR_CONFIG', 'no app_state');
  t.is(code(() => checkGenesis(genesis, bytes('{"chainId": '), genesis.genesisTime)), 'ERR_CONFIG', 'not JSON');
  t.is(code(() => checkGenesis(genesis, bytes('{"hello": "world"}'), genesis.genesisTime)), 'ERR_CONFIG', 'not a genesis');
});

replicatedTest('a validator whose app genesis differs from CometBFT\'s stops at InitChain saying so, stores nothing, and starts with the shared one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-abci-genesis-'));
  const { genesis, accounts } = testGenesis({ accounts: 1 });
  const nets: LocalNetwork[] = [];
  const network = async (g: Genesis): Promise<LocalNetwork> => {
    const n = await createLocalNetwork({ dir, genesis: g, validators: 1, binary: cometbft!, port: freePort });
    nets.push(n);
    return n;
  };
  t.teardown(async () => {
    for (const n of nets) await n.stop();
    await rm(dir, { recursive: true, force: true });
  });
  // CometBFT's home (and its genesis) is made from `genesis`; the same directory opened again
  // keeps it and gives the app another genesis file.
  await network(genesis);
  const mismatched = await network(richer(genesis));
  await mismatched.start();
  await waitFor('CometBFT to stop at InitChain', async () => !mismatched.validators[0]!.running);
  const appLog = await readFile(join(dir, 'validator-1', 'app.log'), 'utf8');
  t.regex(appLog, /ERR_CONFIG.*app_state differs from the app's genesis file/);
  t.regex(await readFile(join(dir, 'validator-1', 'cometbft.log'), 'utf8'), /app_state differs from the app's genesis file/);
  await mismatched.stop();

  // Nothing was stored: the same validator with the shared genesis starts the chain it describes.
  const fixed = await network(genesis);
  await fixed.start();
  const url = fixed.rpcUrls[0]!;
  await waitFor('the first block', async () => Number((await jsonRpc<Rec>(url, 'status', {})).sync_info.latest_block_height) >= 1);
  const reader = await createChainReader({ rpcUrl: url, chainId: genesis.chainId });
  t.is((await reader.getAccount(accounts[0]!.address)).balance, BigInt(genesis.accounts[0]!.balance));
});
