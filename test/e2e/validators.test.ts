// A replicated chain: 4 CometBFT validators, each an app process + a CometBFT process + its own
// data directory, and 7 storage nodes that, like the SDK clients, know every validator's RPC and
// fail over between them. Uploads, degraded reads, jobs and stream payments; unmodified
// greenfield-js-sdk against a validator's CometBFT RPC; one validator killed (the rest go on,
// it catches up with an equal app hash); two stopped (the chain halts with ERR_CHAIN_UNAVAILABLE
// and resumes when one returns); forged transactions refused by every validator.
// Skipped, saying why, where CometBFT is not installed (INSITU_REQUIRE_COMETBFT=1 fails instead).

import test from 'ava';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type InsituClient } from '@insitu/sdk';
import { createChainClient } from '@insitu/sdk/chain';
import { jsonRpc } from '@insitu/sdk/chain';
import { chainCodeNumber } from '@insitu/protocol';
import { computeChecksums } from '@insitu/protocol';
import { createStorageNode, type StorageNode } from '@insitu/storage-node';
import { createLocalNetwork, type LocalNetwork } from '@insitu/chain/network';
import { evmChainId } from '@insitu/chain/genesis';
import { freePort, planDevnet, type DevnetPlan } from '@insitu/cli/devnet';
import { signTx } from '@insitu/chain/testing';
import { cometbft, replicatedTest } from '@insitu/chain/testing';
import { waitFor as waitUntil } from '../src/wait.ts';
import { resolveLocalhostNames } from '../src/localhost-dns.ts';

resolveLocalhostNames();

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const serial = replicatedTest;

let dir = '';
let plan: DevnetPlan;
let net: LocalNetwork;
let rpcUrl = '';
const nodes: StorageNode[] = [];
let alice: InsituClient;

/** Waits as long as validators may take to make blocks again. */
const waitFor = <T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> => waitUntil(what, check, 90_000, 150);

const height = async (url: string): Promise<bigint> => BigInt((await jsonRpc<Rec>(url, 'status', {})).sync_info.latest_block_height);
/** The app hash after block h, as the header of block h+1 on validator `url` records it. */
const appHashAfter = async (url: string, h: bigint): Promise<string> => String((await jsonRpc<Rec>(url, 'block', { height: String(h + 1n) })).block.header.app_hash);

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

test.before(async () => {
  if (!cometbft) return;
  dir = await mkdtemp(join(tmpdir(), 'insitu-validators-'));
  plan = await planDevnet({ nodes: 7, accounts: 2 });
  net = await createLocalNetwork({ dir: join(dir, 'chain'), genesis: plan.genesis, validators: 4, binary: cometbft, port: freePort });
  await net.start();
  for (const url of net.rpcUrls) await waitFor(`${url} at height 1`, async () => (await height(url)) >= 1n);
  rpcUrl = net.rpcUrls.join(',');
  for (const [i, n] of plan.nodes.entries()) {
    const node = createStorageNode({ dataDir: join(dir, `node-${i + 1}`), rpcUrl, chainId: plan.chainId, operatorKey: n.operatorKey, blsKey: n.blsKey, port: n.port, jobWorkers: 1,
      recovery: { scrubIntervalMs: 0, probeIntervalMs: 0, swapIntervalMs: 0 } });
    await node.start();
    nodes.push(node);
  }
  alice = await createClient({ chain: { rpcUrl, chainId: plan.chainId }, account: { privateKey: plan.accounts[0]!.privateKey } });
});

test.after.always(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  await net?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

serial('four validators: an upload, a degraded read, a job and stream payments', async (t) => {
  await alice.buckets.create('replicated');
  const data = randomBytes(300_000);
  t.is((await alice.objects.put('replicated', 'a.bin', data)).status, 'sealed');
  t.true((await collect(alice.objects.get('replicated', 'a.bin'))).equals(data));
  // The primary is down: the read decodes from secondaries.
  const primary = (await alice.objects.head('replicated', 'a.bin')).placement[0]!;
  const k = plan.nodes.findIndex((n) => n.endpoint === primary.endpoint);
  await nodes[k]!.stop();
  t.true((await collect(alice.objects.get('replicated', 'a.bin'))).equals(data), 'degraded read');
  await nodes[k]!.start();
  // A job beside the data, paid from escrow.
  const text = Buffer.from('one two three\nfour five\n');
  await alice.objects.put('replicated', 'words.txt', text);
  const run = await alice.jobs.submit({ module: await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)), input: 'replicated/words.txt', maxFee: 10n ** 15n });
  t.is(run.receipt.state, 'succeeded', run.receipt.stderrTail);
  t.regex(Buffer.from(await alice.jobs.output(run.id)).toString(), /^2 5 24\n$/);
  // A month of stream payments, moved by the devnet's clock transaction.
  const before = await alice.payments.view();
  const total = (await alice.chain.holdings()).total;
  await alice.chain.advanceTime(30 * 86_400);
  t.true((await alice.payments.view()).staticBalance < before.staticBalance, 'the owner paid for a month of storage');
  t.is((await alice.chain.holdings()).total, total, 'money is conserved');
});

serial('unmodified greenfield-js-sdk creates, uploads and reads through a validator\'s CometBFT RPC', async (t) => {
  const require = createRequire(import.meta.url);
  const { Client, VisibilityType, RedundancyType, Long } = require('@bnb-chain/greenfield-js-sdk') as Rec;
  const key = plan.accounts[1]!;
  const gf = Client.create(net.rpcUrls[1]!, String(evmChainId(plan.chainId)));
  const send = async (tx: Rec): Promise<Rec> => {
    const sim = await tx.simulate({ denom: 'BNB' });
    return tx.broadcast({ denom: 'BNB', gasLimit: Number(sim.gasLimit), gasPrice: sim.gasPrice, payer: key.address, granter: '', privateKey: key.privateKey });
  };
  const sps = await gf.sp.getStorageProviders();
  t.is(sps.length, 7);
  t.is((await send(await gf.bucket.createBucket({ bucketName: 'gf-replicated', creator: key.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: sps[0].operatorAddress, paymentAddress: key.address }))).code, 0);
  const data = randomBytes(50_000);
  const { checksums } = await computeChecksums(data);
  const created = await send(await gf.object.createObject({ bucketName: 'gf-replicated', objectName: 'o.bin', creator: key.address, visibility: VisibilityType.VISIBILITY_TYPE_INHERIT,
    contentType: 'application/octet-stream', redundancyType: RedundancyType.REDUNDANCY_EC_TYPE, payloadSize: Long.fromInt(data.length), expectChecksums: checksums }));
  t.is(created.code, 0);
  const upload = await gf.object.uploadObject({ bucketName: 'gf-replicated', objectName: 'o.bin', body: { name: 'o.bin', type: 'application/octet-stream', size: data.length, content: data }, txnHash: created.transactionHash },
    { type: 'ECDSA', privateKey: key.privateKey });
  t.is(upload.code, 0);
  await waitFor('the object sealed', async () => (await gf.object.headObject('gf-replicated', 'o.bin')).objectInfo.objectStatus === 1);
  const bob = await createClient({ chain: { rpcUrl, chainId: plan.chainId }, account: { privateKey: key.privateKey } });
  t.true((await collect(bob.objects.get('gf-replicated', 'o.bin'))).equals(data), 'the project\'s SDK reads what greenfield-js-sdk stored');
});

serial('with one of four validators killed, uploads, reads and payments go on; it catches up to the same app hash', async (t) => {
  // Validator 1's RPC is the first every client and node tries.
  await net.stopValidator(1, { kill: true });
  const data = randomBytes(120_000);
  t.is((await alice.objects.put('replicated', 'during-outage.bin', data)).status, 'sealed');
  t.true((await collect(alice.objects.get('replicated', 'during-outage.bin'))).equals(data));
  await alice.chain.advanceTime(86_400);
  const reached = await height(net.rpcUrls[1]!);
  await net.startValidator(1);
  await waitFor('validator 1 to catch up', async () => (await height(net.rpcUrls[0]!)) > reached);
  const hashes = await Promise.all(net.rpcUrls.map((u) => appHashAfter(u, reached)));
  t.is(new Set(hashes).size, 1, `app hash after block ${reached} on every validator: ${hashes.join(' ')}`);
});

serial('every validator refuses a forged transaction in CheckTx', async (t) => {
  const [a, b] = plan.accounts;
  const reader = await createChainClient({ rpcUrl, chainId: plan.chainId, privateKey: a!.privateKey });
  const acct = await reader.getAccount(b!.address);
  const before = acct.balance;
  const forged = signTx({ address: b!.address, privateKey: b!.privateKey }, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: b!.address, toAddress: a!.address, amount: [{ denom: 'BNB', amount: '1000' }] } }],
    { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: String(evmChainId(plan.chainId)), signWith: { address: a!.address, privateKey: a!.privateKey } });
  for (const url of net.rpcUrls) {
    const r = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(forged).toString('base64') });
    t.is(r.code, chainCodeNumber('ERR_TX_SIGNATURE'), url);
  }
  await reader.transfer(a!.address, 1n);
  t.is((await reader.getAccount(b!.address)).balance, before, 'the forged transfer moved nothing');
});

serial('with two of four validators stopped the chain halts (ERR_CHAIN_UNAVAILABLE) and resumes when one returns', async (t) => {
  const client = await createChainClient({ rpcUrl, chainId: plan.chainId, privateKey: plan.accounts[1]!.privateKey, txTimeoutMs: 8000 });
  const nonceBefore = (await client.getAccount(plan.accounts[1]!.address)).nonce;
  await net.stopValidator(3);
  await net.stopValidator(4);
  const halted = await t.throwsAsync(client.transfer(plan.accounts[0]!.address, 1n));
  t.is((halted as { code?: string }).code, 'ERR_CHAIN_UNAVAILABLE', String(halted?.message));
  const stuck = await height(net.rpcUrls[0]!);
  await net.startValidator(3);
  await waitFor('blocks again', async () => (await height(net.rpcUrls[0]!)) > stuck + 1n);
  // The transfer sent during the halt was kept in the mempool and lands now; the next one follows it.
  const b = await waitFor('the halted transfer to land', async () => {
    const acct = await client.getAccount(plan.accounts[1]!.address);
    return acct.nonce > nonceBefore ? acct : undefined;
  });
  t.is(b.nonce, nonceBefore + 1n);
  t.true((await client.transfer(plan.accounts[0]!.address, 1n)).height > stuck);
  await net.startValidator(4);
  const h = await height(net.rpcUrls[2]!);
  await waitFor('validator 4 to catch up', async () => (await height(net.rpcUrls[3]!)) > h);
  const hashes = await Promise.all(net.rpcUrls.map((u) => appHashAfter(u, h)));
  t.is(new Set(hashes).size, 1, 'every validator agrees');
});
