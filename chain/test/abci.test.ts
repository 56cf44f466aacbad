// The chain driven by the real CometBFT (v0.38) through ABCI 2.0, one validator: the project's
// SDK and CometBFT's own JSON-RPC in front; forged and replayed transactions refused by CheckTx;
// the development clock only for its genesis authority; kill -9 of the app right after it wrote
// a block but before it answered Commit loses nothing. (Skipped, saying so, without CometBFT.)

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { createChainClient, createChainReader } from '@insitu/sdk/chain';
import { jsonRpc } from '@insitu/sdk/chain';
import { chainCodeNumber } from '@insitu/protocol';
import { createLocalNetwork, type LocalNetwork } from '../src/abci/local.ts';
import { evmChainId } from '../src/genesis.ts';
import { testGenesis, newKey } from './helpers.ts';
import { cometbft, replicatedTest, freePort, waitFor } from './abci/env.ts';
import { signTx } from './abci/sign.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function oneValidator(t: ExecutionContext): Promise<{ net: LocalNetwork; url: string; g: ReturnType<typeof testGenesis> }> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-abci-'));
  const g = testGenesis({ accounts: 3 });
  g.genesis.devClock = { authorities: [g.accounts[0]!.address] };
  const net = await createLocalNetwork({ dir, genesis: g.genesis, validators: 1, binary: cometbft!, port: freePort });
  t.teardown(async () => {
    await net.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await net.start();
  const url = net.rpcUrls[0]!;
  await waitFor('the first block', async () => Number((await jsonRpc<Rec>(url, 'status', {})).sync_info.latest_block_height) >= 1);
  return { net, url, g };
}

const balance = async (url: string, chainId: string, address: string): Promise<bigint> =>
  (await (await createChainReader({ rpcUrl: url, chainId })).getAccount(address as `0x${string}`)).balance;

replicatedTest('CometBFT drives the app: SDK transactions, queries, the event feed and the app hash through its JSON-RPC', async (t) => {
  const { url, g } = await oneValidator(t);
  const chainId = g.genesis.chainId;
  const [alice, bob] = g.accounts;
  const client = await createChainClient({ rpcUrl: url, chainId, privateKey: alice!.privateKey });
  const before = await balance(url, chainId, bob!.address);
  const sent = await client.transfer(bob!.address, 12345n);
  t.true(sent.height >= 1n);
  t.is(await balance(url, chainId, bob!.address), before + 12345n);
  // CometBFT's own tx index has it, with the app's result.
  const found = await jsonRpc<Rec>(url, 'tx_search', { query: `tx.hash='${sent.txHash.slice(2).toUpperCase()}'` });
  t.is(found.total_count, '1');
  t.is(found.txs[0].tx_result.code, 0);
  // Greenfield's gRPC query paths and the project's JSON ones answer through abci_query.
  t.is((await client.listStorageProviders()).length, g.providers.length);
  t.true((await client.holdings()).total > 0n);
  // The event feed, which CometBFT has no method for, comes through abci_query.
  const events = await client.events(0n, { limit: 100 });
  t.true(events.some((e) => e.type === 'transfer' && e.txHash === sent.txHash));
  // The app hash CometBFT reports is the app's.
  await waitFor('the app hash to settle', async () => {
    const status = await jsonRpc<Rec>(url, 'status', {});
    const info = await jsonRpc<Rec>(url, 'abci_info', {});
    return status.sync_info.latest_block_height === info.response.last_block_height &&
      Buffer.from(info.response.last_block_app_hash, 'base64').toString('hex').toUpperCase() === status.sync_info.latest_app_hash;
  });
});

replicatedTest('only the genesis clock authority moves the development clock; forged and replayed transactions are refused by CheckTx', async (t) => {
  const { url, g } = await oneValidator(t);
  const chainId = g.genesis.chainId;
  const [alice, bob, carol] = g.accounts;
  const aliceClient = await createChainClient({ rpcUrl: url, chainId, privateKey: alice!.privateKey });
  const bobClient = await createChainClient({ rpcUrl: url, chainId, privateKey: bob!.privateKey });
  const t0 = (await aliceClient.status()).time;
  const moved = await aliceClient.advanceTime(30 * 86_400);
  // The answer names the new time in whole seconds; the status's block time has milliseconds.
  t.true(moved >= Math.floor(t0 / 1000) * 1000 + 30 * 86_400_000, `moved to ${moved}, from ${t0}`);
  const refused = await t.throwsAsync(bobClient.advanceTime(86_400));
  t.is((refused as { code?: string } | undefined)?.code, 'ERR_PERMISSION_DENIED');
  t.true(((await bobClient.status()).time) < moved + 86_400_000, 'bob did not move the clock');

  const reader = await createChainReader({ rpcUrl: url, chainId });
  const acct = await reader.getAccount(bob!.address);
  const send = { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: bob!.address, toAddress: carol!.address, amount: [{ denom: 'BNB', amount: '777' }] } };
  const evm = String(evmChainId(chainId));
  const carolBefore = await balance(url, chainId, carol!.address);
  // Forged: bob's public key, signed by somebody else.
  const forged = signTx(bob!, [send], { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: evm, signWith: newKey() });
  const f = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(forged).toString('base64') });
  t.is(f.code, chainCodeNumber('ERR_TX_SIGNATURE'));
  t.regex(f.log, /^ERR_TX_SIGNATURE/);
  // Genuine, then replayed once it is in a block.
  const genuine = signTx(bob!, [send], { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: evm });
  const ok = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(genuine).toString('base64') });
  t.is(ok.code, 0, ok.log);
  await waitFor('the genuine transfer in a block', async () => (await jsonRpc<Rec>(url, 'tx', { hash: Buffer.from(ok.hash, 'hex').toString('base64') })).tx_result.code === 0);
  const replay = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(genuine).toString('base64') }).then((r) => r, (e: Error) => ({ code: -1, log: e.message }));
  t.not(replay.code, 0, 'the replay is refused');
  t.regex(String(replay.log), /ERR_TX_NONCE|already exists in cache/);
  // A stale nonce signed anew is a replay too.
  const stale = signTx(bob!, [{ ...send, value: { ...send.value, amount: [{ denom: 'BNB', amount: '778' }] } }], { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: evm });
  const s = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(stale).toString('base64') });
  t.is(s.code, chainCodeNumber('ERR_TX_NONCE'));
  const forgedHash = Buffer.from((await import('node:crypto')).createHash('sha256').update(forged).digest()).toString('base64');
  await t.throwsAsync(jsonRpc<Rec>(url, 'tx', { hash: forgedHash }), { message: /not found/ }, 'the forged tx never entered a block');
  t.is(await balance(url, chainId, carol!.address), carolBefore + 777n, 'only the genuine transfer moved money');
});

replicatedTest('kill -9 of the app after it wrote a block but before it answered Commit loses nothing: CometBFT replays on restart', async (t) => {
  const { net, url, g } = await oneValidator(t);
  const chainId = g.genesis.chainId;
  const [alice, bob] = g.accounts;
  const client = await createChainClient({ rpcUrl: url, chainId, privateKey: alice!.privateKey });
  await client.transfer(bob!.address, 1n);
  await net.stopValidator(1);
  // The next block with a transaction is written by the app, which then dies before answering.
  await net.startValidator(1, { env: { INSITU_ABCI_CRASH_AFTER_COMMIT: 'txs' } });
  const bobBefore = await waitFor('the validator back', () => balance(url, chainId, bob!.address).catch(() => undefined));
  const reader = await createChainReader({ rpcUrl: url, chainId });
  const acct = await reader.getAccount(alice!.address);
  const raw = signTx(alice!, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '5000' }] } }],
    { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: String(evmChainId(chainId)) });
  const r = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(raw).toString('base64') });
  t.is(r.code, 0, r.log);
  await waitFor('the app to be killed in Commit', async () => !net.validators[0]!.appRunning);
  await net.stopValidator(1);
  await net.startValidator(1);
  const included = await waitFor('the transfer after the restart', async () => (await jsonRpc<Rec>(url, 'tx', { hash: Buffer.from(r.hash, 'hex').toString('base64') })));
  t.is(included.tx_result.code, 0);
  t.is(await balance(url, chainId, bob!.address), bobBefore + 5000n, 'the transfer counted exactly once');
  // The chain goes on from there.
  await client.transfer(bob!.address, 1n);
  t.is(await balance(url, chainId, bob!.address), bobBefore + 5001n);
});
