// Interop: unmodified @bnb-chain/greenfield-js-sdk against insitu's chain and storage nodes. The
// tests are written once, against what any network offers (an RPC, the chain id, funded
// accounts), and run against both chain modes: the embedded chain (greenfield-js-sdk.test.ts)
// and 4 CometBFT validators driving chain/src/abci (greenfield-js-sdk-replicated.test.ts).
// The modes run in separate test files, each process with one chain: greenfield-js-sdk keeps its
// RPC URL in one process-wide container (tsyringe) and resolves its transaction client from it
// lazily, at first use, so two chains in one process would cross.
// greenfield-js-sdk reaches nodes as {bucket}.localhost:<port>; the test files resolve
// *.localhost to 127.0.0.1 (name resolution is test environment, not a change to the SDK).

import type { ExecutionContext } from 'ava';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { createClient } from '@insitu/sdk';
import { computeChecksums, chainCodeNumber } from '@insitu/protocol';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const { Client, VisibilityType, RedundancyType, Long } = require('@bnb-chain/greenfield-js-sdk') as any;

/** What a test needs of a network, whichever chain runs it. */
export interface InteropNet {
  /** The RPC greenfield-js-sdk talks to (one URL: it knows no failover). */
  gfRpcUrl: string;
  /** The RPC(s) insitu's SDK talks to (comma-separated: it fails over between them). */
  rpcUrl: string;
  chainId: string;
  /** The EIP-155 chain id greenfield-js-sdk signs with. */
  evmChainId: string;
  accounts: { address: string; privateKey: string }[];
}

export interface InteropTest {
  title: string;
  run(t: ExecutionContext, net: InteropNet): Promise<void>;
}

async function send(tx: { simulate(o: object): Promise<{ gasLimit: bigint; gasPrice: string }>; broadcast(o: object): Promise<{ code: number; rawLog?: string; transactionHash: string }> }, key: { address: string; privateKey: string }) {
  const sim = await tx.simulate({ denom: 'BNB' });
  return tx.broadcast({ denom: 'BNB', gasLimit: Number(sim.gasLimit), gasPrice: sim.gasPrice, payer: key.address, granter: '', privateKey: key.privateKey });
}

async function readBody(res: { body?: unknown }): Promise<Buffer> {
  const body = res.body as { arrayBuffer?: () => Promise<ArrayBuffer> } | undefined;
  if (body?.arrayBuffer) return Buffer.from(await body.arrayBuffer());
  return Buffer.from(body as Uint8Array);
}

async function uploadsReadsAndShares(t: ExecutionContext, net: InteropNet): Promise<void> {
  const [alice, bob] = net.accounts;
  const gf = Client.create(net.gfRpcUrl, net.evmChainId);
  const sps = await gf.sp.getStorageProviders();
  t.is(sps.length, 7);
  const created = await send(await gf.bucket.createBucket({
    bucketName: 'gf-interop', creator: alice!.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: sps[0].operatorAddress, paymentAddress: alice!.address,
  }), alice!);
  t.is(created.code, 0);

  const data = randomBytes(100_000);
  const { checksums } = await computeChecksums(data);
  const createTx = await send(await gf.object.createObject({
    bucketName: 'gf-interop', objectName: 'from-js-sdk.bin', creator: alice!.address, visibility: VisibilityType.VISIBILITY_TYPE_INHERIT,
    contentType: 'application/octet-stream', redundancyType: RedundancyType.REDUNDANCY_EC_TYPE, payloadSize: Long.fromInt(data.length), expectChecksums: checksums,
  }), alice!);
  t.is(createTx.code, 0);
  const upload = await gf.object.uploadObject({
    bucketName: 'gf-interop', objectName: 'from-js-sdk.bin',
    body: { name: 'from-js-sdk.bin', type: 'application/octet-stream', size: data.length, content: data },
    txnHash: createTx.transactionHash,
  }, { type: 'ECDSA', privateKey: alice!.privateKey });
  t.is(upload.code, 0, JSON.stringify(upload).slice(0, 300));
  const head = await gf.object.headObject('gf-interop', 'from-js-sdk.bin');
  t.is(head.objectInfo.objectStatus, 1, 'sealed');

  const download = await gf.object.getObject({ bucketName: 'gf-interop', objectName: 'from-js-sdk.bin' }, { type: 'ECDSA', privateKey: alice!.privateKey });
  t.is(download.code, 0);
  t.true((await readBody(download)).equals(data));

  // A policy put with greenfield-js-sdk lets Bob read through greenfield-js-sdk.
  const policy = await send(await gf.object.putObjectPolicy('gf-interop', 'from-js-sdk.bin', {
    operator: alice!.address, principal: { type: 1, value: bob!.address }, statements: [{ effect: 1, actions: [6], resources: [] }], expirationTime: undefined,
  }), alice!);
  t.is(policy.code, 0);
  const bobRead = await gf.object.getObject({ bucketName: 'gf-interop', objectName: 'from-js-sdk.bin' }, { type: 'ECDSA', privateKey: bob!.privateKey });
  t.is(bobRead.code, 0);
  t.true((await readBody(bobRead)).equals(data));

  // insitu reads what greenfield-js-sdk wrote, and greenfield-js-sdk what insitu wrote.
  const insitu = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: alice!.privateKey } });
  const parts: Uint8Array[] = [];
  for await (const c of insitu.objects.get('gf-interop', 'from-js-sdk.bin')) parts.push(c);
  t.true(Buffer.concat(parts).equals(data));
  const mine = randomBytes(70_000);
  await insitu.objects.put('gf-interop', 'from-insitu.bin', mine);
  const back = await gf.object.getObject({ bucketName: 'gf-interop', objectName: 'from-insitu.bin' }, { type: 'ECDSA', privateKey: alice!.privateKey });
  t.is(back.code, 0);
  t.true((await readBody(back)).equals(mine));

  // Stream payments through greenfield-js-sdk's own messages and queries: the sealed objects
  // stream from Alice; a payment account is created and funded, then made non-refundable.
  const record = (await gf.payment.getStreamRecord(alice!.address)).streamRecord!;
  t.true(BigInt(record.netflowRate) < 0n, 'Alice pays for her objects');
  t.true(BigInt(record.bufferBalance) > 0n);
  t.is(record.status, 0);
  t.is((await send(await gf.account.createPaymentAccount({ creator: alice!.address }), alice!)).code, 0);
  const [pa] = (await gf.account.getPaymentAccountsByOwner(alice!.address)).paymentAccounts;
  t.truthy(pa);
  t.is((await send(await gf.payment.deposit({ creator: alice!.address, to: pa!, amount: String(10n ** 16n) }), alice!)).code, 0);
  t.is((await insitu.payments.view(pa as `0x${string}`)).staticBalance, 10n ** 16n);
  t.is((await send(await gf.payment.withdraw({ creator: alice!.address, from: pa!, amount: String(10n ** 15n) }), alice!)).code, 0);
  t.is((await send(await gf.payment.disableRefund({ owner: alice!.address, addr: pa! }), alice!)).code, 0);
  const view = await insitu.payments.view(pa as `0x${string}`);
  t.is(view.paymentAccount!.refundable, false);
  t.is(view.staticBalance, 9n * 10n ** 15n);
}

async function groups(t: ExecutionContext, net: InteropNet): Promise<void> {
  const [alice, bob] = net.accounts;
  const gf = Client.create(net.gfRpcUrl, net.evmChainId);
  const { toTimestamp } = require('@bnb-chain/greenfield-cosmos-types/helpers') as { toTimestamp(d: Date): unknown };
  const insitu = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: alice!.privateKey } });
  const secret = randomBytes(5000);
  await insitu.buckets.create('gf-groups');
  await insitu.objects.put('gf-groups', 'team.bin', secret);
  const bobReads = async () => (await gf.object.getObject({ bucketName: 'gf-groups', objectName: 'team.bin' }, { type: 'ECDSA', privateKey: bob!.privateKey })).code;
  t.not(await bobReads(), 0, 'private to begin with');

  t.is((await send(await gf.group.createGroup({ creator: alice!.address, groupName: 'gf-readers', extra: '' }), alice!)).code, 0);
  const groupId = String((await gf.group.headGroup('gf-readers', alice!.address)).groupInfo.id);
  const added = await send(await gf.group.updateGroupMember({
    operator: alice!.address, groupOwner: alice!.address, groupName: 'gf-readers',
    membersToAdd: [{ member: bob!.address, expirationTime: toTimestamp(new Date(Date.now() + 86_400_000)) }], membersToDelete: [],
  }), alice!);
  t.is(added.code, 0);
  const policy = await send(await gf.object.putObjectPolicy('gf-groups', 'team.bin', {
    operator: alice!.address, principal: { type: 2, value: groupId }, statements: [{ effect: 1, actions: [6], resources: [] }], expirationTime: undefined,
  }), alice!);
  t.is(policy.code, 0);
  t.is(await bobReads(), 0, 'a member of the group reads');
  // The primary's read-quota answer, as greenfield-js-sdk reads it: Bob's 5000 bytes came out of the free quota.
  const quota = await gf.bucket.getBucketReadQuota({ bucketName: 'gf-groups' }, { type: 'ECDSA', privateKey: alice!.privateKey });
  t.is(quota.code, 0, quota.message);
  t.is(quota.body.freeQuota, 1024 ** 3);
  t.is(quota.body.freeConsumedSize, 5000);
  t.is(quota.body.readQuota, 0);
  t.is((await send(await gf.group.updateGroupExtra({ operator: alice!.address, groupOwner: alice!.address, groupName: 'gf-readers', extra: 'readers of team.bin' }), alice!)).code, 0);
  t.is((await insitu.groups.list()).find((g) => g.name === 'gf-readers')!.extra, 'readers of team.bin');
  t.is((await send(await gf.group.leaveGroup(bob!.address, { member: bob!.address, groupOwner: alice!.address, groupName: 'gf-readers' }), bob!)).code, 0);
  t.not(await bobReads(), 0, 'after leaving, no more');
  t.is((await send(await gf.group.deleteGroup({ operator: alice!.address, groupName: 'gf-readers' }), alice!)).code, 0);
  t.false((await insitu.groups.list()).some((g) => g.name === 'gf-readers'));
}

async function refusals(t: ExecutionContext, net: InteropNet): Promise<void> {
  const [alice, bob] = net.accounts;
  const gf = Client.create(net.gfRpcUrl, net.evmChainId);
  const insitu = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: alice!.privateKey } });
  await insitu.buckets.create('gf-taken');
  const sps = await gf.sp.getStorageProviders();
  const createBucket = (name: string) => gf.bucket.createBucket({ bucketName: name, creator: bob!.address, visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
    chargedReadQuota: Long.fromString('0'), primarySpAddress: sps[0].operatorAddress, paymentAddress: bob!.address });
  const balance = async (): Promise<bigint> => BigInt((await gf.account.getAccountBalance({ address: bob!.address, denom: 'BNB' })).balance.amount);
  const bucketExists = async (name: string): Promise<boolean> => gf.bucket.headBucket(name).then(() => true, () => false);

  // A taken bucket name: simulation runs the message, as the block would, and foresees the
  // refusal with its code before anything is paid.
  const taken = await createBucket('gf-taken');
  const before = await balance();
  const foreseen = await t.throwsAsync(taken.simulate({ denom: 'BNB' }) as Promise<unknown>);
  t.regex(String(foreseen?.message), /ERR_BUCKET_EXISTS/);
  t.is(await balance(), before, 'a simulation costs nothing');
  // Broadcast anyway (with the gas of a valid bucket creation), the block refuses it with its
  // code, and only the fee is paid.
  const gas = await (await createBucket('gf-bob-1')).simulate({ denom: 'BNB' });
  const fee = BigInt(gas.gasLimit) * BigInt(gas.gasPrice);
  const refused = await taken.broadcast({ denom: 'BNB', gasLimit: Number(gas.gasLimit), gasPrice: gas.gasPrice, payer: bob!.address, granter: '', privateKey: bob!.privateKey });
  t.is(refused.code, chainCodeNumber('ERR_BUCKET_EXISTS'));
  t.regex(refused.rawLog, /ERR_BUCKET_EXISTS/);
  t.is(await balance(), before - fee, 'the fee and nothing else');
  t.is((await gf.bucket.headBucket('gf-taken')).bucketInfo.owner, alice!.address, 'the bucket stays Alice\'s');

  // Two transactions built on one account sequence: the first lands, the second is turned away
  // by CheckTx before any block, costs nothing and creates nothing.
  const first = await createBucket('gf-bob-1');
  const second = await createBucket('gf-bob-2');
  t.is((await send(first, bob!)).code, 0);
  const afterFirst = await balance();
  const stale = await t.throwsAsync(second.broadcast({ denom: 'BNB', gasLimit: Number(gas.gasLimit), gasPrice: gas.gasPrice, payer: bob!.address, granter: '', privateKey: bob!.privateKey }));
  t.is((stale as { code?: number }).code, chainCodeNumber('ERR_TX_NONCE'), String(stale?.message));
  t.regex(String(stale?.message), /ERR_TX_NONCE/);
  t.is(await balance(), afterFirst);
  t.true(await bucketExists('gf-bob-1'));
  t.false(await bucketExists('gf-bob-2'));
}

/** Every interop test, in the order a file runs them (each on its own buckets and groups). */
export const interopTests: InteropTest[] = [
  { title: 'greenfield-js-sdk uploads, reads and shares through insitu nodes, and the two SDKs read each other\'s objects', run: uploadsReadsAndShares },
  { title: 'groups through greenfield-js-sdk: create, add a member with expiry, a policy naming the group, extra, leave, delete', run: groups },
  { title: 'greenfield-js-sdk sees refusals as Greenfield reports them: simulation foresees a taken bucket name with its code, and a block refuses it and charges only the fee; a stale sequence is turned away by CheckTx', run: refusals },
];
