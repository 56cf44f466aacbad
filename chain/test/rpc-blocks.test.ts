// The embedded chain answers a block with its transactions and block_results with their results,
// as CometBFT's RPC does, and a query for something that does not exist in the words Cosmos
// clients look for ("rpc error: code = NotFound"), so cosmjs' getAccount returns null.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChainClient } from '@insitu/sdk/chain';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { createChain, type Chain } from '../src/index.ts';
import { codec } from '../src/gnfd.ts';
import { testGenesis } from './helpers.ts';

let chain: Chain;
let g: ReturnType<typeof testGenesis>;
let dir: string;

test.before(async () => {
  g = testGenesis({ accounts: 2 });
  dir = await mkdtemp(join(tmpdir(), 'insitu-rpc-blocks-'));
  chain = createChain({ dataDir: dir, genesis: g.genesis });
  await chain.start();
});
test.after.always(async () => {
  await chain?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call<T>(method: string, params: Record<string, unknown>): Promise<T> {
  const res = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: unknown };
  if (!body.result) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

test('a block lists its transactions and block_results their results, in order', async (t) => {
  const alice = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  const tx = await alice.transfer(g.accounts[1]!.address, 777n);
  const found = await call<{ height: string; hash: string; tx: string }>('tx', { hash: tx.txHash.slice(2) });
  const height = found.height;

  const block = await call<{ block: { header: { height: string }; data: { txs: string[] } } }>('block', { height });
  t.is(block.block.header.height, height);
  t.true(block.block.data.txs.includes(found.tx), 'the block carries the transaction\'s bytes');

  const results = await call<{ height: string; txs_results: { code: number; events: { type: string; attributes: { key: string; value: string }[] }[] }[] }>('block_results', { height });
  t.is(results.height, height);
  t.is(results.txs_results.length, block.block.data.txs.length, 'one result per transaction');
  const mine = results.txs_results[block.block.data.txs.indexOf(found.tx)]!;
  t.is(mine.code, 0);
  t.true(mine.events.some((e) => e.attributes.some((a) => a.value.includes('777'))), 'the transfer\'s event with its amount');

  const missing = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'block_results', params: { height: '99999999' } }) });
  t.regex(JSON.stringify(await missing.json()), /height 99999999 is not available/);
});

test('a query for an account that does not exist says NotFound as Cosmos clients expect, with the stable code', async (t) => {
  const nobody = privateKeyToAddress(generatePrivateKey());
  const QueryAccountRequest = codec('cosmos/auth/v1beta1/query', 'QueryAccountRequest');
  const data = Buffer.from(QueryAccountRequest.encode(QueryAccountRequest.fromPartial({ address: nobody })).finish()).toString('hex');
  const r = await call<{ response: { code: number; log: string } }>('abci_query', { path: '/cosmos.auth.v1beta1.Query/Account', data });
  t.is(r.response.code, 22);
  t.regex(r.response.log, /^rpc error: code = NotFound desc = ERR_ACCOUNT_NOT_FOUND: /);
  // The project's SDK still reads the stable code out of it.
  const reader = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  const e = await t.throwsAsync(reader.getAccount(nobody));
  t.true(e !== undefined && ['ERR_ACCOUNT_NOT_FOUND'].includes((e as { code?: string }).code ?? ''), String(e));
});
