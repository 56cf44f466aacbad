// The development clock is a transaction only a devnet genesis allows, from its authorities
// only; the old insitu_advance_time RPC method that anyone could call is gone.

import test from 'ava';
import { createChainClient } from '@insitu/sdk/chain';
import { jsonRpc } from '@insitu/sdk/chain';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';
import { freePort } from './abci/env.ts';

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

test('only the accounts a devnet genesis names move the clock; nobody moves it on a chain without one', async (t) => {
  const g = testGenesis({ accounts: 2 });
  const [authority, stranger] = g.accounts;
  g.genesis.devClock = { authorities: [authority!.address] };
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis, port: await freePort() });
  await chain.start();
  t.teardown(() => chain.stop());
  const opts = { rpcUrl: chain.rpcUrl, chainId: g.genesis.chainId };
  const mover = await createChainClient({ ...opts, privateKey: authority!.privateKey });
  const other = await createChainClient({ ...opts, privateKey: stranger!.privateKey });
  const before = (await other.getAccount(stranger!.address)).balance;

  // The RPC method anyone could call no longer exists.
  await t.throwsAsync(jsonRpc(chain.rpcUrl, 'insitu_advance_time', { seconds: 86_400 }), { message: /Method not found/ });
  const t0 = (await mover.status()).time;
  t.is(await code(other.advanceTime(365 * 86_400)), 'ERR_PERMISSION_DENIED');
  t.true((await mover.status()).time < t0 + 86_400_000, 'the stranger did not move time');
  t.true((await other.getAccount(stranger!.address)).balance < before, 'the refused transaction still paid its fee');
  t.is(await code(mover.advanceTime(0)), 'ERR_INVALID_ARGUMENT');
  const moved = await mover.advanceTime(7 * 86_400);
  // The answer names the moved time in whole seconds.
  t.true(moved >= Math.floor(t0 / 1000) * 1000 + 7 * 86_400_000);
  t.true((await mover.status()).time >= t0 + 7 * 86_400_000, 'block time follows the moved clock');
  const readerOnly = await createChainClient({ ...opts, privateKey: stranger!.privateKey });
  t.is(await code(readerOnly.advanceTime(-5)), 'ERR_INVALID_ARGUMENT');

  // A genesis without a development clock (a real network) refuses every account.
  const real = testGenesis({ accounts: 1 });
  const realChain = createChain({ dataDir: await tempDir(t), genesis: real.genesis, port: await freePort() });
  await realChain.start();
  t.teardown(() => realChain.stop());
  const anyone = await createChainClient({ rpcUrl: realChain.rpcUrl, chainId: real.genesis.chainId, privateKey: real.accounts[0]!.privateKey });
  const e = await t.throwsAsync(anyone.advanceTime(60));
  t.is((e as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  t.regex(String(e?.message), /block time alone/);
  t.true((await realChain.app.latestBlock()).height >= 2n, 'the chain is still making blocks');
});
