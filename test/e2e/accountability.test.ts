// Providers that cannot cheat, on a real testnet: a provider's key reads only what its chain role
// needs, piece reads count against the bucket's read quota, storage challenges pass for a node
// that holds its data and slash one that lost a piece (which is then repaired), and a provider
// that lies to challengers ends slashed while nobody honest loses money.

import test from 'ava';
import { truncate } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { generatePrivateKey, privateKeyToAddress, type Hex } from '@insitu/protocol';
import { createChainClient } from '@insitu/sdk/chain';
import type { ChainClient, ChallengeInfo } from '@insitu/protocol/chain';
import { getObject, getPiece, getPieceHashes, getChallengePiece, readQuota, spDispatcher } from '@insitu/sdk/sp';
import { generateBlsKey, blsPublicKey, blsProofOfPossession } from '@insitu/protocol';
import type { InsituClient } from '@insitu/sdk';
import { freePort } from '@insitu/cli/devnet';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { createHttpProxy, type HttpProxy } from '../src/proxy.ts';
import { seeded } from '../src/random.ts';
import { outcome, waitFor as waitUntil } from '../src/wait.ts';

const MIN_DEPOSIT = 10n ** 19n;
const SLASH_MIN = 10n ** 16n;
const BUCKET = 'accountable';
const LIAR = 4; // node index behind a proxy that corrupts its challenge answers

let net: Testnet;
let proxy: HttpProxy;
let alice: InsituClient;
let carol: InsituClient;
let data: Buffer;
let head: Awaited<ReturnType<InsituClient['objects']['head']>>;
let lying = false;
/** The self-registered provider of the first test (admitted there): it holds no data anywhere. */
let wouldBe: { chain: ChainClient; id: number; key: Hex } | undefined;

const code = outcome;

const waitFor = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => waitUntil(what, check, 90_000, 200);

const decided = (chain: ChainClient, id: number): Promise<ChallengeInfo> =>
  waitFor(`challenge ${id} to be decided`, async () => {
    const c = await chain.challenge(id);
    return c.status === 'open' ? undefined : c;
  });

const deposits = async (chain: ChainClient): Promise<Map<number, bigint>> => new Map((await chain.listStorageProviders()).map((p) => [p.id, p.deposit ?? 0n]));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test.before(async (t) => {
  const { bytes } = seeded((l) => t.log(l));
  net = await createTestnet({ nodes: 7, accounts: 3, randomChallenges: true });
  // The liar's node behind a proxy on its registered port: it answers challenges with a flipped byte when told to.
  const port = await freePort();
  await net.stopNode(LIAR);
  proxy = await createHttpProxy({
    port: net.plan.nodes[LIAR]!.port,
    upstream: `http://127.0.0.1:${port}`,
    hooks: {
      response(req, res) {
        if (!lying || !req.url.startsWith('/greenfield/admin/v1/challenge') || res.status !== 200 || res.body.length === 0) return;
        const body = Buffer.from(res.body);
        body[0] = body[0]! ^ 0xff;
        return { ...res, body };
      },
    },
  });
  await net.startNode(LIAR, { port });
  alice = await net.client(0);
  carol = await net.client(2);
  await alice.buckets.create(BUCKET, { primarySp: net.plan.nodes[0]!.operatorAddress });
  data = bytes(120_000);
  await alice.objects.put(BUCKET, 'secret.bin', data);
  head = await alice.objects.head(BUCKET, 'secret.bin');
});
test.after.always(async () => {
  await net?.stop();
  await proxy?.stop();
});

test.serial('a self-registered provider reads no private object, admitted or not; admission without the deposit is refused', async (t) => {
  const key = generatePrivateKey();
  const mallory = privateKeyToAddress(key);
  await alice.chain.transfer(mallory, 3n * MIN_DEPOSIT);
  const mal = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: key });
  const bls = generateBlsKey();
  const reg = (deposit: bigint) => mal.registerProvider({
    fundingAddress: mallory, sealAddress: mallory, approvalAddress: mallory, gcAddress: mallory, blsKey: blsPublicKey(bls), blsProof: blsProofOfPossession(bls),
    endpoint: 'http://127.0.0.1:1', moniker: 'mallory', storePrice: 1n, readPrice: 1n, computePrice: 1n, deposit,
  });
  t.is(await code(reg(0n)), 'ERR_INVALID_ARGUMENT', 'no deposit');
  t.is(await code(reg(MIN_DEPOSIT - 1n)), 'ERR_INVALID_ARGUMENT', 'below the minimum');
  t.is((await alice.chain.listStorageProviders()).length, 7, 'nothing registered');
  const { provider } = await reg(MIN_DEPOSIT);
  t.is(provider.status, 'in-maintenance');
  t.false(provider.admitted);
  t.is(await code(mal.admitProvider(provider.id)), 'ERR_PERMISSION_DENIED', 'it cannot admit itself');

  const primary = head.placement[0]!;
  const secondary = head.placement[1]!;
  const attempts = async (): Promise<string[]> => [
    await code(getObject({ endpoint: primary.endpoint, bucket: BUCKET, object: 'secret.bin', privateKey: key }).then((r) => r.body[Symbol.asyncIterator]().next())),
    await code(getPiece({ endpoint: primary.endpoint, objectId: head.id, index: -1, segment: 0, privateKey: key })),
    await code(getPieceHashes({ endpoint: secondary.endpoint, objectId: head.id, index: 0, privateKey: key })),
    await code(getPiece({ endpoint: secondary.endpoint, objectId: head.id, index: 0, segment: 0, privateKey: key })),
    // Claimed roles the chain does not give it: a job it does not run, a challenge it was not named for.
    await code(getPiece({ endpoint: primary.endpoint, objectId: head.id, index: -1, segment: 0, privateKey: key, role: { jobId: 1n } })),
    await code(getChallengePiece({ endpoint: secondary.endpoint, objectId: head.id, index: 0, segment: 0, privateKey: key, role: { challengeId: 1 } })),
  ];
  t.deepEqual(await attempts(), Array(6).fill('ERR_PERMISSION_DENIED'));
  // Admitted (the admin was fooled): still no role over this object, still nothing.
  await alice.chain.admitProvider(provider.id);
  wouldBe = { chain: mal, id: provider.id, key };
  t.is((await alice.chain.getStorageProvider(provider.id)).status, 'in-service');
  t.deepEqual(await attempts(), Array(6).fill('ERR_PERMISSION_DENIED'));
  // A member of the object's group reads for its role.
  const member = net.plan.nodes.find((n) => n.operatorAddress === secondary.operatorAddress)!;
  const piece = await getPiece({ endpoint: primary.endpoint, objectId: head.id, index: -1, segment: 0, privateKey: member.operatorKey });
  t.is(sha(piece), sha(data));
  for (const p of [primary, secondary]) t.is((await request(new URL('/healthz', p.endpoint), { dispatcher: spDispatcher })).statusCode, 200);
});

test.serial('piece reads count against the read quota: the primary\'s whole-object pieces and degraded reads from secondaries, not providers\' role reads', async (t) => {
  const primary = head.placement[0]!;
  const secondary = head.placement[2]!;
  const used = async (endpoint: string) => BigInt((await readQuota({ endpoint, bucket: BUCKET, privateKey: net.accounts[0]!.privateKey })).totalConsumedSize);
  const p0 = await used(primary.endpoint);
  const s0 = await used(secondary.endpoint);
  const whole = await getPiece({ endpoint: primary.endpoint, objectId: head.id, index: -1, segment: 0, privateKey: net.accounts[0]!.privateKey });
  t.is(await used(primary.endpoint), p0 + BigInt(whole.length), 'the whole object through the piece endpoint is counted');
  const one = await getPiece({ endpoint: secondary.endpoint, objectId: head.id, index: 1, segment: 0, privateKey: net.accounts[0]!.privateKey });
  t.is(await used(secondary.endpoint), s0 + BigInt(one.length), 'a degraded read\'s piece is counted where it is served');
  // A group member rebuilding is not the bucket's reader.
  const member = net.plan.nodes.find((n) => n.operatorAddress === secondary.operatorAddress)!;
  await getPiece({ endpoint: primary.endpoint, objectId: head.id, index: -1, segment: 0, privateKey: member.operatorKey });
  t.is(await used(primary.endpoint), p0 + BigInt(whole.length));
});

test.serial('the chain issues a random challenge once per interval of chain time; the providers it names check it and it passes', async (t) => {
  const known = async (): Promise<number> => {
    let id = 0;
    while (await alice.chain.challenge(id + 1).then(() => true, () => false)) id++;
    return id;
  };
  const before = await known();
  await alice.chain.advanceTime(11 * 60);
  const id = await waitFor('a random challenge', async () => ((await known()) > before ? before + 1 : undefined));
  const c = await alice.chain.challenge(id);
  t.is(c.challengers.length, 3);
  t.false(c.challengers.includes(c.spId));
  t.is((await decided(alice.chain, id)).status, 'passed');
});

test.serial('a storage challenge passes; after a piece\'s bytes are lost on disk the next one fails: slashed, challengers paid, piece repaired', async (t) => {
  const target = head.placement.find((p) => p.index === 2)!;
  const at = net.plan.nodes.findIndex((n) => n.operatorAddress === target.operatorAddress);
  t.not(at, LIAR);
  const node = net.nodes[at]!;
  const total = (await alice.chain.holdings()).total;
  const before = await deposits(alice.chain);
  const ok = await carol.chain.submitChallenge({ provider: target.operatorAddress, bucket: BUCKET, object: 'secret.bin', segment: 0 });
  const passed = await decided(alice.chain, ok.challengeId);
  t.is(passed.status, 'passed');
  t.is(passed.redundancyIndex, 2);
  t.deepEqual(await deposits(alice.chain), before, 'nobody slashed');

  const loc = await node.store.locate({ objectId: head.id, index: 2 });
  if (!('path' in loc)) return t.fail('the piece is a file on disk');
  // Its bytes are lost on disk under the running node (emptied: unlinking would not lose them while
  // the node holds the file open, and a restarted node finds missing files and rebuilds them itself).
  await truncate(loc.path, 0);
  const carolBefore = (await carol.chain.getAccount(carol.address)).balance;
  const challengers = new Map<number, bigint>();
  const bad = await carol.chain.submitChallenge({ provider: target.operatorAddress, bucket: BUCKET, object: 'secret.bin', segment: 0 });
  const open = await alice.chain.challenge(bad.challengeId);
  for (const id of open.challengers) challengers.set(id, (await alice.chain.getAccount((await alice.chain.getStorageProvider(id)).fundingAddress)).balance);
  const failed = await decided(alice.chain, bad.challengeId);
  t.is(failed.status, 'failed');
  t.is(failed.slashed, SLASH_MIN);
  const after = await deposits(alice.chain);
  t.is(after.get(target.spId), before.get(target.spId)! - SLASH_MIN, 'the provider that lost the piece is slashed');
  for (const [id, d] of after) if (id !== target.spId) t.is(d, before.get(id) ?? 0n, `provider ${id} keeps its deposit`);
  const voters = failed.challengers.filter((id) => failed.votes[String(id)] === false);
  t.true(voters.length >= 2);
  for (const id of voters) t.true((await alice.chain.getAccount((await alice.chain.getStorageProvider(id)).fundingAddress)).balance > challengers.get(id)! - 10n ** 15n, `challenger ${id} is paid for its work`);
  t.true((await carol.chain.getAccount(carol.address)).balance > carolBefore, 'the requester gets its fee back and a share of the slash');
  t.is((await alice.chain.holdings()).total, total, 'no money created or lost');

  // The chain marked the piece; its node rebuilds it and the next challenge passes.
  await waitFor('the piece to be repaired', async () => {
    const meta = await node.store.meta({ objectId: head.id, index: 2 });
    if (!meta) return undefined;
    const bytes = await node.store.read({ objectId: head.id, index: 2 }, 0, meta.sizes[0]!).catch(() => undefined);
    return bytes && bytes.length === meta.sizes[0] && createHash('sha256').update(bytes).digest().equals(Buffer.from(meta.hashes[0]!)) ? true : undefined;
  });
  const again = await carol.chain.submitChallenge({ provider: target.operatorAddress, bucket: BUCKET, object: 'secret.bin', segment: 0 });
  t.is((await decided(alice.chain, again.challengeId)).status, 'passed');
});

test.serial('a provider that lies to challengers ends slashed, and no honest party loses money', async (t) => {
  const liar = net.plan.nodes[LIAR]!;
  const liarId = (await alice.chain.getStorageProvider(liar.operatorAddress as Hex)).id;
  const total = (await alice.chain.holdings()).total;
  const before = await deposits(alice.chain);
  const aliceBefore = (await alice.chain.getAccount(alice.address)).balance;
  lying = true;
  const carolBefore = (await carol.chain.getAccount(carol.address)).balance;
  const c = await carol.chain.submitChallenge({ provider: liar.operatorAddress as Hex, bucket: BUCKET, object: 'secret.bin' });
  const done = await decided(alice.chain, c.challengeId);
  lying = false;
  t.is(done.status, 'failed', 'a corrupt answer fails');
  const after = await deposits(alice.chain);
  t.true(after.get(liarId)! < before.get(liarId)!, 'the liar is slashed');
  for (const [id, d] of after) if (id !== liarId) t.true(d >= (before.get(id) ?? 0n), `provider ${id} lost nothing`);
  t.true((await carol.chain.getAccount(carol.address)).balance > carolBefore, 'the requester comes out ahead');
  t.is((await alice.chain.getAccount(alice.address)).balance, aliceBefore, 'the owner pays nothing for it');
  t.is((await alice.chain.holdings()).total, total, 'no money created or lost');
  // The data is intact for its owner.
  const parts: Uint8Array[] = [];
  for await (const chunk of alice.objects.get(BUCKET, 'secret.bin')) parts.push(chunk);
  t.is(sha(Buffer.concat(parts)), sha(data));
});

test.serial('a successor that holds none of the data cannot complete a swap-in: its challenge fails, it is slashed and the place stays', async (t) => {
  if (!wouldBe) return t.fail('the first test registers the would-be successor');
  const g = await alice.chain.getGlobalVirtualGroup(head.gvgId);
  const target = head.placement.find((p) => p.index === 4)!;
  t.not(net.plan.nodes.findIndex((n) => n.operatorAddress === target.operatorAddress), LIAR);
  const total = (await alice.chain.holdings()).total;
  const before = await deposits(alice.chain);
  await alice.chain.forceProviderExit(target.operatorAddress);
  await wouldBe.chain.reserveSwapIn({ targetSpId: target.spId, gvgId: g.id });
  await wouldBe.chain.completeSwapIn({ gvgId: g.id });
  const c = await waitFor('the swap-in challenge', async () => (await alice.chain.challenges({ spId: wouldBe!.id }))[0]);
  t.is(c.redundancyIndex, 4, 'the piece it would hold');
  const done = await decided(alice.chain, c.id);
  t.is(done.status, 'failed', 'no data, no answer');
  t.deepEqual((await alice.chain.getGlobalVirtualGroup(g.id)).secondarySpIds, g.secondarySpIds, 'the group is unchanged');
  t.deepEqual(await alice.chain.swapIns(), [], 'the reservation is dropped');
  t.true((await deposits(alice.chain)).get(wouldBe.id)! < before.get(wouldBe.id)!, 'the would-be successor is slashed');
  t.is((await alice.chain.holdings()).total, total);
});

test.serial('insitu node challenge asks for a challenge and reports the verdict; insitu node status shows the deposit', async (t) => {
  const { writeKeyFile } = await import('@insitu/protocol');
  const { run } = await import('@insitu/cli');
  const { join } = await import('node:path');
  const keyFile = join(net.dir, 'bob.key');
  await writeKeyFile(keyFile, net.accounts[1]!.privateKey);
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string | Uint8Array) => { out += String(s); return true; } }, stderr: { write: (s: string | Uint8Array) => { err += String(s); return true; } }, env: {}, cwd: net.dir };
  const sp = head.placement[0]!.spId;
  const globals = ['--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keyFile, '--json'];
  t.is(await run(['node', 'challenge', BUCKET, 'secret.bin', '--sp', String(sp), '--wait', ...globals], io as never), 0, err);
  const r = JSON.parse(out) as { challenge: { spId: number; redundancyIndex: number; status: string } };
  t.like(r.challenge, { spId: sp, redundancyIndex: -1, status: 'passed' });
  out = '';
  err = '';
  t.not(await run(['node', 'challenge', BUCKET, 'no-such-object', '--sp', String(sp), ...globals], io as never), 0);
  t.regex(err, /ERR_OBJECT_NOT_FOUND/);
  out = '';
  t.is(await run(['node', 'status', '--sp', String(sp), ...globals], io as never), 0, err);
  t.like(JSON.parse(out), { spId: sp, deposit: String(MIN_DEPOSIT), admitted: true });

  // The would-be successor (in no group) leaves: its deposit unbonds, still held for now.
  if (!wouldBe) return t.fail('the first test registers it');
  const leaverKey = join(net.dir, 'leaver.key');
  await writeKeyFile(leaverKey, wouldBe.key);
  out = '';
  err = '';
  t.not(await run(['node', 'exit', '--complete', '--key', leaverKey, ...globals], io as never), 0);
  t.regex(err, /ERR_INVALID_ARGUMENT/);
  t.regex(err, /is not exiting/);
  t.is(await run(['node', 'exit', '--key', leaverKey, ...globals], io as never), 0, err);
  out = '';
  t.is(await run(['node', 'exit', '--complete', '--key', leaverKey, ...globals], io as never), 0, err);
  t.like(JSON.parse(out), { unbondingHours: 168 });
  const held = (await alice.chain.getStorageProvider(wouldBe.id)).deposit!;
  t.true(held > 0n, 'still held while it unbonds');
});
