// Simulate (/cosmos.tx.v1beta1.Service/Simulate) runs the whole transaction — ante checks and
// every message — on a throwaway copy of the committed state: what the block would refuse is
// refused here with its code, and nothing is written, no sequence consumed, no feed event kept.
// greenfield-js-sdk simulates before every broadcast; insitu's SDK simulates once per message type
// and must keep pipelining when a message builds on a transaction not yet in a block.

import test from 'ava';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chainCodeNumber, computeChecksums } from '@insitu/protocol';
import { createChainClient, jsonRpc } from '@insitu/sdk/chain';
import { createChain } from '../src/index.ts';
import { codec, msgCodec, queryCodecs, toLong } from '../src/gnfd.ts';
import { testGenesis, tempDir } from './helpers.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { Client, VisibilityType, Long } = require('@bnb-chain/greenfield-js-sdk') as any;

const SIMULATE = '/cosmos.tx.v1beta1.Service/Simulate';
const Tx = codec('cosmos/tx/v1beta1/tx', 'Tx');
const EthPubKey = codec('cosmos/crypto/eth/ethsecp256k1/keys', 'PubKey');

async function chainWith(t: Parameters<typeof tempDir>[0], o: { blockIntervalMs?: number } = {}) {
  const g = testGenesis({ accounts: 2 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis, ...o });
  await chain.start();
  t.teardown(() => chain.stop());
  return { g, chain };
}

/** A Simulate request as greenfield-js-sdk builds it: zero public key, no fee, no signature. */
async function simulateRaw(rpcUrl: string, msgs: { typeUrl: string; value: Record<string, unknown> }[], sequence: bigint) {
  const messages = msgs.map((m) => {
    const c = msgCodec(m.typeUrl)!;
    return { typeUrl: m.typeUrl, value: c.encode(c.fromPartial(m.value)).finish() };
  });
  const tx = Tx.encode(Tx.fromPartial({
    body: { messages, memo: '' },
    authInfo: {
      signerInfos: [{ publicKey: { typeUrl: '/cosmos.crypto.eth.ethsecp256k1.PubKey', value: EthPubKey.encode({ key: new Uint8Array(33) }).finish() }, modeInfo: { single: { mode: 191 } }, sequence: toLong(sequence) }],
      fee: { amount: [{ denom: 'BNB', amount: '0' }], gasLimit: toLong(0n), payer: '', granter: '' },
    },
    signatures: [new Uint8Array(0)],
  })).finish();
  const { request, response } = queryCodecs(SIMULATE)!;
  const data = Buffer.from(request.encode(request.fromPartial({ txBytes: tx })).finish()).toString('hex');
  const r = await jsonRpc<{ response: { code: number; log: string; value?: string } }>(rpcUrl, 'abci_query', { path: SIMULATE, data });
  const value = response.decode(Buffer.from(String(r.response.value ?? ''), 'base64')) as { gasInfo?: { gasUsed?: unknown }; result?: { events?: { type: string }[] } };
  return { code: Number(r.response.code), log: String(r.response.log), gasUsed: BigInt(String(value.gasInfo?.gasUsed ?? 0)), events: (value.result?.events ?? []).map((e) => e.type) };
}

test('a greenfield-js-sdk simulation of a taken bucket name fails with ERR_BUCKET_EXISTS and changes nothing; a valid one answers its gas and creates nothing', async (t) => {
  const { g, chain } = await chainWith(t);
  const [alice, bob] = g.accounts;
  const insitu = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: alice!.privateKey });
  await insitu.createBucket({ name: 'taken', primarySp: g.providers[0]!.address });

  const gf = Client.create(chain.rpcUrl, chain.evmChainId);
  const createBucket = (name: string) => gf.bucket.createBucket({
    bucketName: name, creator: bob!.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: g.providers[0]!.address, paymentAddress: bob!.address,
  });
  const balance = async (): Promise<bigint> => BigInt((await gf.account.getAccountBalance({ address: bob!.address, denom: 'BNB' })).balance.amount);
  const sequence = async (): Promise<bigint> => BigInt((await gf.account.getAccount(bob!.address)).sequence.toString());
  const feed = async (): Promise<number> => (await chain.app.events(0n, 10_000)).length;
  const before = { balance: await balance(), sequence: await sequence(), feed: await feed() };

  const refused = await t.throwsAsync((await createBucket('taken')).simulate({ denom: 'BNB' }) as Promise<unknown>);
  t.regex(String(refused?.message), /ERR_BUCKET_EXISTS/);
  t.regex(String(refused?.message), new RegExp(`\\(${chainCodeNumber('ERR_BUCKET_EXISTS')}\\)`), 'the stable code number as the query code');

  const fresh = await createBucket('bob-fresh');
  const sim = await fresh.simulate({ denom: 'BNB' });
  t.is(BigInt(sim.gasLimit), 120_000n);
  t.is(sim.gasPrice, String(chain.app.minGasPrice));
  // Simulated, not done: no bucket, no fee, no sequence, no feed event.
  t.false(await gf.bucket.headBucket('bob-fresh').then(() => true, () => false));
  t.is(await balance(), before.balance);
  t.is(await sequence(), before.sequence);
  t.is(await feed(), before.feed);

  // The simulation's answer is the block's: the same transaction, broadcast, goes through.
  const sent = await fresh.broadcast({ denom: 'BNB', gasLimit: Number(sim.gasLimit), gasPrice: sim.gasPrice, payer: bob!.address, granter: '', privateKey: bob!.privateKey });
  t.is(sent.code, 0, sent.rawLog);
  t.is((await gf.bucket.headBucket('bob-fresh')).bucketInfo.owner, bob!.address);
  t.is(await sequence(), before.sequence + 1n);
});

test('simulation refuses a transfer beyond the balance, a stale sequence and messages of two signers, each with its code', async (t) => {
  const { g, chain } = await chainWith(t);
  const [alice, bob] = g.accounts;
  const send = (from: string, amount: bigint) => ({ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: from, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: amount.toString() }] } });

  const ok = await simulateRaw(chain.rpcUrl, [send(alice!.address, 1n), send(alice!.address, 2n)], 0n);
  t.is(ok.code, 0, ok.log);
  t.is(ok.gasUsed, 240_000n, 'fixed gas per message');
  // The events the block would record: fee and sequence, then each message's own and its "message" event.
  t.deepEqual(ok.events, ['tx', 'tx', 'insitu.transfer', 'message', 'insitu.transfer', 'message']);

  const beyond = await simulateRaw(chain.rpcUrl, [send(alice!.address, 10n ** 22n)], 0n);
  t.is(beyond.code, chainCodeNumber('ERR_INSUFFICIENT_BALANCE'), beyond.log);
  t.regex(beyond.log, /^ERR_INSUFFICIENT_BALANCE: .* With gas wanted: '120000' and gas used: '120000' $/);
  t.is(beyond.gasUsed, 120_000n, 'a message failure still tells its gas');

  // Refused before any message: the transaction would not be admitted, so no gas is answered.
  const stale = await simulateRaw(chain.rpcUrl, [send(alice!.address, 1n)], 5n);
  t.is(stale.code, chainCodeNumber('ERR_TX_NONCE'), stale.log);
  t.is(stale.gasUsed, 0n);
  const twoSigners = await simulateRaw(chain.rpcUrl, [send(alice!.address, 1n), send(bob!.address, 1n)], 0n);
  t.is(twoSigners.code, chainCodeNumber('ERR_TX_SIGNATURE'), twoSigners.log);
  const none = await simulateRaw(chain.rpcUrl, [], 0n);
  t.not(none.code, 0);
  t.regex(none.log, /ERR_BAD_REQUEST/);

  // Nothing of it happened, and the chain still takes transactions.
  const client = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: alice!.privateKey });
  const acct = await client.getAccount(alice!.address);
  t.is(acct.nonce, 0n);
  t.is(acct.balance, 10n ** 21n);
  await client.transfer(bob!.address, 7n);
  t.is((await client.getAccount(bob!.address)).balance, 10n ** 21n + 7n);
});

test('the SDK pipelines a message whose predecessor is not in a block yet: its simulation fails, its gas is used, and the block runs both', async (t) => {
  // Blocks every 2 s, so the second transaction is simulated and sent before the first is committed.
  const { g, chain } = await chainWith(t, { blockIntervalMs: 2000 });
  const alice = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  await alice.createBucket({ name: 'pipelined', primarySp: g.providers[0]!.address });
  const { checksums } = await computeChecksums(randomBytes(1000));
  // First use of MsgUpdateObjectInfo: simulated against a state without the object.
  const [created, updated] = await Promise.all([
    alice.createObject({ bucket: 'pipelined', name: 'o', payloadSize: 1000n, checksums }),
    alice.updateObject('pipelined', 'o', { visibility: 'public-read' }),
  ]);
  t.is(created.height, updated.height, 'both in one block: the update was simulated before the object existed');
  t.is((await alice.headObject('pipelined', 'o')).visibility, 'public-read');
});
