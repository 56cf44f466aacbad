// Unmodified @bnb-chain/greenfield-js-sdk against the devnet chain: its transactions verify
// (EIP-712), its queries decode, and forged, replayed, wrong-chain and underpriced
// transactions are refused without changing anything.

import test from 'ava';
import { createRequire } from 'node:module';
import { computeChecksums } from '@insitu/protocol';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { Client, VisibilityType, RedundancyType, Long } = require('@bnb-chain/greenfield-js-sdk') as any;

interface Broadcastable {
  simulate(o: { denom: string }): Promise<{ gasLimit: bigint; gasPrice: string }>;
  broadcast(o: Record<string, unknown>): Promise<{ code: number; rawLog?: string; transactionHash: string }>;
}

async function send(tx: Broadcastable, key: { address: string; privateKey: string }, gasPrice?: string) {
  const sim = await tx.simulate({ denom: 'BNB' });
  return tx.broadcast({ denom: 'BNB', gasLimit: Number(sim.gasLimit), gasPrice: gasPrice ?? sim.gasPrice, payer: key.address, granter: '', privateKey: key.privateKey });
}

async function rpc(url: string, method: string, params: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return (await res.json()) as { result?: Record<string, unknown>; error?: unknown };
}

test('greenfield-js-sdk creates buckets and objects, puts policies and transfers; forgeries are refused', async (t) => {
  const g = testGenesis();
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const client = Client.create(chain.rpcUrl, chain.evmChainId);
  const [alice, bob] = g.accounts;

  const createBucket = await client.bucket.createBucket({
    bucketName: 'interop', creator: alice!.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: g.providers[0]!.address, paymentAddress: alice!.address,
  });
  const created = await send(createBucket, alice!);
  t.is(created.code, 0, created.rawLog);
  const head = await client.bucket.headBucket('interop');
  t.is(head.bucketInfo.owner, alice!.address);
  t.is(head.bucketInfo.globalVirtualGroupFamilyId, 1);

  const data = new TextEncoder().encode('hello from greenfield-js-sdk');
  const { checksums } = await computeChecksums(data);
  const createObject = await client.object.createObject({
    bucketName: 'interop', objectName: 'greeting.txt', creator: alice!.address, visibility: VisibilityType.VISIBILITY_TYPE_INHERIT,
    contentType: 'text/plain', redundancyType: RedundancyType.REDUNDANCY_EC_TYPE, payloadSize: Long.fromInt(data.length), expectChecksums: checksums,
  });
  const objectTx = await send(createObject, alice!);
  t.is(objectTx.code, 0, objectTx.rawLog);
  const obj = await client.object.headObject('interop', 'greeting.txt');
  t.is(obj.objectInfo.objectStatus, 0);
  t.deepEqual(obj.objectInfo.checksums.map((c: Uint8Array) => Buffer.from(c).toString('hex')), checksums.map((c) => Buffer.from(c).toString('hex')));

  const policy = await client.bucket.putBucketPolicy('interop', {
    operator: alice!.address, principal: { type: 1, value: bob!.address },
    statements: [{ effect: 1, actions: [6], resources: [] }], expirationTime: undefined,
  });
  const policyTx = await send(policy, alice!);
  t.is(policyTx.code, 0, policyTx.rawLog);
  const allowed = await chain.app.query('/greenfield.storage.Query/VerifyPermission', { operator: bob!.address, bucketName: 'interop', objectName: 'greeting.txt', actionType: 6 });
  t.is(allowed.effect, 1);

  const transfer = await client.account.transfer({ fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '1000' }] });
  const transferTx = await send(transfer, alice!);
  t.is(transferTx.code, 0, transferTx.rawLog);
  const balance = await client.account.getAccountBalance({ address: bob!.address, denom: 'BNB' });
  t.is(balance.balance.amount, (10n ** 21n + 1000n).toString());

  const heightBefore = (await chain.app.latestBlock()).height;

  // Signed by bob for a message whose creator is alice: refused.
  const forged = await client.bucket.createBucket({
    bucketName: 'forged', creator: alice!.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: g.providers[0]!.address, paymentAddress: alice!.address,
  });
  await t.throwsAsync(send(forged, bob!), { message: /ERR_TX_SIGNATURE|ERR_TX_NONCE/ });

  // The same bytes again: refused.
  const stored = await rpc(chain.rpcUrl, 'tx', { hash: Buffer.from(transferTx.transactionHash, 'hex').toString('base64') });
  const replay = await rpc(chain.rpcUrl, 'broadcast_tx_sync', { tx: stored.result!.tx });
  t.not((replay.result as { code: number }).code, 0);

  // Signed for another chain id: the EIP-712 signature does not verify here.
  const otherChain = Client.create(chain.rpcUrl, '9001');
  const wrongChain = await otherChain.account.transfer({ fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '1' }] });
  await t.throwsAsync(send(wrongChain, alice!), { message: /ERR_TX_SIGNATURE/ });

  // A fee below the minimum gas price: refused.
  const cheap = await client.account.transfer({ fromAddress: alice!.address, toAddress: bob!.address, amount: [{ denom: 'BNB', amount: '1' }] });
  await t.throwsAsync(send(cheap, alice!, '1'), { message: /ERR_TX_FEE/ });

  // Garbage bytes: refused with a clear error.
  const garbage = await rpc(chain.rpcUrl, 'broadcast_tx_sync', { tx: Buffer.from('not a transaction').toString('base64') });
  t.regex(String((garbage.result as { log: string }).log), /ERR_BAD_REQUEST/);

  t.is((await chain.app.latestBlock()).height, heightBefore, 'no refused transaction made a block');
  await t.throwsAsync(client.bucket.headBucket('forged'));
});
