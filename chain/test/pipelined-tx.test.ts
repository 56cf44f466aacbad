// The SDK's pipelined transactions against a real embedded chain: one account's transactions in
// flight together, a sequence another client of the same key used up, seals of one primary
// batched into one transaction (and a batch with a forged seal in it), and the chain's insitu_tx
// long-poll that clients wait on.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient, createTxSender } from '@insitu/sdk/chain';
import { jsonRpc } from '@insitu/sdk/chain';
import { computeChecksums, blsAggregate, blsSign, privateKeyToAddress } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { createChain } from '../src/index.ts';
import { evmChainId } from '../src/genesis.ts';
import { testGenesis, tempDir, newKey } from './helpers.ts';
import { signTx } from './abci/sign.ts';

async function chainWith(t: Parameters<typeof tempDir>[0]) {
  const g = testGenesis({ accounts: 2 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  return { g, chain, rpc: { rpcUrl: chain.rpcUrl, chainId: chain.chainId } };
}

test('one account\'s transactions go out together: all are included, several in one block, each sequence used once', async (t) => {
  const { g, rpc } = await chainWith(t);
  const alice = await createChainClient({ ...rpc, privateKey: g.accounts[0]!.privateKey });
  const to = privateKeyToAddress(newKey().privateKey);
  const before = await alice.getAccount(alice.address);
  const n = 24;
  const sent = await Promise.all(Array.from({ length: n }, (_, i) => alice.transfer(to, BigInt(i + 1))));
  t.is(new Set(sent.map((s) => s.txHash)).size, n);
  // Pipelined: fewer blocks than transactions (one at a time, each would need its own block).
  t.true(new Set(sent.map((s) => s.height)).size < n, `${n} transfers took ${new Set(sent.map((s) => s.height)).size} blocks`);
  const after = await alice.getAccount(alice.address);
  t.is(after.nonce, before.nonce + BigInt(n));
  t.is((await alice.getAccount(to)).balance, BigInt((n * (n + 1)) / 2));
});

test('a sequence used by another client of the same key is learnt again, and the transaction goes through', async (t) => {
  const { g, chain, rpc } = await chainWith(t);
  const key = g.accounts[0]!;
  const a = await createChainClient({ ...rpc, privateKey: key.privateKey });
  // The same key through another spelling of the RPC: a client with a counter of its own.
  const b = await createChainClient({ ...rpc, rpcUrl: `${rpc.rpcUrl}/`, privateKey: key.privateKey });
  const to = privateKeyToAddress(newKey().privateKey);
  await a.transfer(to, 1n);
  await b.transfer(to, 2n);
  await a.transfer(to, 3n);
  // A transaction signed elsewhere takes the sequence the client counted on next.
  const acct = await a.getAccount(a.address);
  const raw = signTx(key, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: key.address, toAddress: to, amount: [{ denom: 'BNB', amount: '4' }] } }],
    { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: String(evmChainId(chain.chainId)) });
  const r = await jsonRpc<{ code: number; hash: string }>(rpc.rpcUrl, 'broadcast_tx_sync', { tx: Buffer.from(raw).toString('base64') });
  t.is(r.code, 0);
  await a.waitForTx(`0x${r.hash}`);
  await Promise.all([a.transfer(to, 5n), b.transfer(to, 6n)]);
  t.is((await a.getAccount(to)).balance, 21n);
  t.is((await a.getAccount(a.address)).nonce, acct.nonce + 3n);
});

test('seals asked for together go out as one transaction; a forged seal in the batch fails alone and the rest are sealed', async (t) => {
  const { g, rpc } = await chainWith(t);
  const owner = await createChainClient({ ...rpc, privateKey: g.accounts[0]!.privateKey });
  const sp = await createChainClient({ ...rpc, privateKey: g.providers[0]!.privateKey });
  await owner.createBucket({ name: 'batched', primarySp: sp.address });
  const inputs = [];
  for (let i = 0; i < 5; i++) {
    const { checksums } = await computeChecksums(randomBytes(1000 + i));
    const { object } = await owner.createObject({ bucket: 'batched', name: `o-${i}`, payloadSize: BigInt(1000 + i), checksums });
    const gvg = await owner.getGlobalVirtualGroup(object.gvgId);
    const doc = sealSignDoc({ chainId: rpc.chainId, gvgId: gvg.id, objectId: object.id, checksums });
    const sigs = gvg.secondarySpIds.map((id) => blsSign(doc, g.providers[id - 1]!.blsSecret));
    inputs.push({ bucket: 'batched', name: `o-${i}`, gvgId: gvg.id, sigs });
  }
  const together = await Promise.all(inputs.slice(0, 3).map((x) => sp.sealObject({ bucket: x.bucket, name: x.name, gvgId: x.gvgId, blsSignature: blsAggregate(x.sigs) })));
  t.is(new Set(together.map((r) => r.txHash)).size, 1);

  // o-4's approvals are o-3's: the batch is refused on chain, o-3 is then sealed on its own.
  const results = await Promise.allSettled([
    sp.sealObject({ bucket: 'batched', name: 'o-3', gvgId: inputs[3]!.gvgId, blsSignature: blsAggregate(inputs[3]!.sigs) }),
    sp.sealObject({ bucket: 'batched', name: 'o-4', gvgId: inputs[4]!.gvgId, blsSignature: blsAggregate(inputs[3]!.sigs) }),
  ]);
  t.is(results[0]!.status, 'fulfilled');
  t.is(results[1]!.status, 'rejected');
  t.is(((results[1] as PromiseRejectedResult).reason as { code?: string }).code, 'ERR_SIGNATURE_INVALID');
  const statuses = await Promise.all(inputs.map((x) => owner.headObject('batched', x.name).then((o) => o.status)));
  t.deepEqual(statuses, ['sealed', 'sealed', 'sealed', 'sealed', 'created']);
  // The client still sends: its counted sequence survived the refusals.
  await sp.sealObject({ bucket: 'batched', name: 'o-4', gvgId: inputs[4]!.gvgId, blsSignature: blsAggregate(inputs[4]!.sigs) });
  t.is((await owner.headObject('batched', 'o-4')).status, 'sealed');
});

test('insitu_tx answers when the transaction\'s block is committed, says not found after its wait, and refuses a malformed hash', async (t) => {
  const { g, chain, rpc } = await chainWith(t);
  const key = g.accounts[1]!;
  const reader = await createChainClient({ ...rpc, privateKey: key.privateKey });
  const acct = await reader.getAccount(key.address);
  const raw = signTx(key, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: key.address, toAddress: g.accounts[0]!.address, amount: [{ denom: 'BNB', amount: '7' }] } }],
    { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: String(evmChainId(chain.chainId)) });
  const r = await jsonRpc<{ code: number; hash: string }>(rpc.rpcUrl, 'broadcast_tx_sync', { tx: Buffer.from(raw).toString('base64') });
  t.is(r.code, 0);
  const got = await jsonRpc<{ hash: string; height: string; tx_result: { code: number } }>(rpc.rpcUrl, 'insitu_tx', { hash: r.hash, wait_ms: 10_000 });
  t.is(got.hash, r.hash);
  t.is(got.tx_result.code, 0);
  t.true(BigInt(got.height) > 0n);
  // Answered as its block committed, it is the answer the stored record gives.
  t.deepEqual(got, await jsonRpc(rpc.rpcUrl, 'tx', { hash: r.hash }));
  t.deepEqual(await jsonRpc(rpc.rpcUrl, 'insitu_tx', { hash: r.hash, wait_ms: 0 }), got);

  const unknown = 'ab'.repeat(32);
  const started = Date.now();
  const e1 = await t.throwsAsync(jsonRpc(rpc.rpcUrl, 'insitu_tx', { hash: unknown, wait_ms: 200 }));
  t.regex(e1!.message, /not found/);
  t.true(Date.now() - started >= 150);
  const e2 = await t.throwsAsync(jsonRpc(rpc.rpcUrl, 'insitu_tx', { hash: 'nothex', wait_ms: 'forever' }));
  t.regex(e2!.message, /ERR_INVALID_ARGUMENT/);
  // Still serving.
  t.is((await reader.status()).chainId, chain.chainId);
});

test('a block that commits between reading the sequence and simulating is no failure: the simulation is asked again with the sequence now expected', async (t) => {
  const { g, rpc } = await chainWith(t);
  const key = g.accounts[1]!;
  // A fresh RPC spelling: no gas learnt yet for this client, so its first send simulates.
  const rpcUrl = `${rpc.rpcUrl}/?stale`;
  const alice = await createChainClient({ ...rpc, privateKey: key.privateKey });
  const to = privateKeyToAddress(newKey().privateKey);
  await alice.transfer(to, 1n);
  // The sequence it reads is one behind the chain's, as when a block of its own commits meanwhile.
  const stale = async () => {
    const a = await alice.getAccount(alice.address);
    return { accountNumber: a.accountNumber, sequence: a.nonce - 1n };
  };
  const sender = createTxSender({ rpcUrl, chainId: rpc.chainId, privateKey: key.privateKey, account: stale });
  const sent = await sender.send([{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: key.address, toAddress: to, amount: [{ denom: 'BNB', amount: '2' }] } }]);
  t.regex(sent.txHash, /^0x[0-9a-fA-F]{64}$/);
  t.is((await alice.getAccount(to)).balance, 3n);
});
