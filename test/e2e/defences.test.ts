// The integrity and authorization defences, each attacked with its worst input so that removing
// the defence makes a test here fail:
// - hostile providers: every node sits behind a real HTTP proxy registered as its endpoint, which
//   can flip bytes of what the node serves (object bytes, pieces) or lie consistently (flipped
//   bytes and a hash list that matches them); the client's own checks must catch every lie and
//   either recover (degraded read) or fail with a checksum code — never return wrong bytes;
// - strangers calling the piece endpoints;
// - uploads and replicated pieces that disagree with the chain, and replication signed by anyone
//   but the object's primary;
// - rounds of small objects: a piece one secondary refuses, an object its uploader cancels
//   mid-round — each fails its own upload only, the rest of the round is sealed.
// Replay with the seed it prints: INSITU_TEST_SEED=<seed> npx ava test/e2e/defences.test.ts

import test from 'ava';
import { createHash } from 'node:crypto';
import type { InsituClient } from '@insitu/sdk';
import { createErasureCodec } from '@insitu/protocol/codec';
import { computeChecksums } from '@insitu/protocol';
import { getPiece, getPieceHashes, nodeStatus, putObject, replicatePiece, spDispatcher } from '@insitu/sdk/sp';
import { signRequest } from '@insitu/protocol/auth';
import { request } from 'undici';
import { privateKeyToAddress, blsVerify, type Hex } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc } from '@insitu/protocol/chain';
import { freePort } from '@insitu/cli/devnet';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { createHttpProxy, type HttpProxy, type UpstreamResponse } from '../src/proxy.ts';
import { seeded } from '../src/random.ts';
import { outcome } from '../src/wait.ts';

type Mode = 'honest' | 'flip' | 'liar' | 'down';
const BUCKET = 'vault';
const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const flipFirst = (b: Uint8Array): Buffer => {
  const out = Buffer.from(b);
  out[0] = out[0]! ^ 0xff;
  return out;
};

let net: Testnet;
let alice: InsituClient;
let bob: InsituClient;
const proxies: HttpProxy[] = [];
const modes: Mode[] = [];
/** Lies each proxy has told (answers it changed or cut). */
const lies: number[] = [];
let rand: (n: number) => number;
let bytes: (n: number) => Buffer;
let data: Buffer;
/** Per index (-1 = the primary's segment, 0..5 = pieces): the hash of the flipped unit, for consistent lies. */
const liedHash = new Map<number, Buffer>();
/** spId → node index in net.nodes. */
const nodeOf = new Map<number, number>();
let placement: { index: number; spId: number; endpoint: string }[] = [];
let objectId: bigint;
let gvgId: number;
/** Approval requests (PUT /insitu/v1/replicate-pieces?approve=…) the proxies forwarded: their object lists. */
const approvalsSeen: string[] = [];
/** A piece to corrupt on its way from the primary to one secondary: the node behind that proxy and the object. */
let corrupt: { node: number; objectId: bigint } | undefined;
/** The secondaries' answers to the round replicating this object, held until all six are in and allIn() has run. */
let holdRound: { objectId: bigint; lists: string[]; allIn(): Promise<void>; released: Promise<void> } | undefined;

const hostile = (node: number) => ({
  request: (req: { method: string; url: string; headers: Record<string, unknown>; body: Buffer }) => {
    if (modes[node] === 'down') {
      lies[node]!++;
      return 'drop' as const;
    }
    const url = new URL(req.url, 'http://proxy');
    if (req.method !== 'PUT' || url.pathname !== '/insitu/v1/replicate-pieces') return;
    if (url.searchParams.has('approve')) approvalsSeen.push(url.searchParams.get('approve')!);
    const pieces = url.searchParams.get('pieces');
    if (!corrupt || corrupt.node !== node || !pieces) return;
    // One byte of the object's piece changed in the round's body: the secondary must refuse that piece alone.
    let at = 0;
    for (const part of pieces.split('_')) {
      const [id, , size] = part.split('.');
      if (BigInt(id!) === corrupt.objectId) {
        const body = Buffer.from(req.body);
        body[at + Number(size) - 1] = body[at + Number(size) - 1]! ^ 0xff;
        lies[node]!++;
        return proxies[node]!.forward({ ...req, body } as Parameters<HttpProxy['forward']>[0]);
      }
      at += Number(size);
    }
  },
  response: (req: { method: string; url: string }, res: UpstreamResponse): Promise<void> | UpstreamResponse | void => {
    const held = holdRound;
    if (held && req.method === 'PUT') {
      const pieces = new URL(req.url, 'http://proxy').searchParams.get('pieces');
      if (pieces?.split('_').some((p) => p.startsWith(`${held.objectId}.`))) {
        // Every secondary's answer to the round is held until all six are in and the object cancelled.
        held.lists.push(pieces);
        if (held.lists.length === 6) void held.allIn();
        return held.released;
      }
    }
    const mode = modes[node];
    if (mode === 'honest' || req.method !== 'GET' || (res.status !== 200 && res.status !== 206)) return;
    const url = new URL(req.url, 'http://proxy');
    if (url.pathname === '/insitu/v1/piece' || url.pathname.startsWith(`/${BUCKET}/`)) {
      lies[node]!++;
      return { ...res, body: flipFirst(res.body) };
    }
    if (url.pathname === '/insitu/v1/piece-hashes' && mode === 'liar') {
      const doc = JSON.parse(res.body.toString()) as { hashes: string[] };
      const index = Number(url.searchParams.get('index'));
      // One segment: the lie is the hash of the flipped unit, so the list and the bytes agree.
      doc.hashes = [liedHash.get(index)!.toString('hex')];
      lies[node]!++;
      return { ...res, body: Buffer.from(JSON.stringify(doc)) };
    }
  },
});

const readAll = async (c: InsituClient, opts: { range?: { start: number; end: number } } = {}): Promise<{ bytes?: Buffer; code?: string; degraded: boolean }> => {
  let degraded = false;
  try {
    const parts: Uint8Array[] = [];
    for await (const chunk of c.objects.get(BUCKET, 'secret.bin', { ...opts, onDegraded: () => (degraded = true) })) parts.push(chunk);
    return { bytes: Buffer.concat(parts), degraded };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e), degraded };
  }
};

const nodeAt = (index: number): number => nodeOf.get(placement.find((p) => p.index === index)!.spId)!;
const setModes = (m: Record<number, Mode>): void => {
  modes.fill('honest');
  lies.fill(0);
  for (const [index, mode] of Object.entries(m)) modes[nodeAt(Number(index))] = mode;
};
/** `count` distinct piece indices below `below`, chosen by the seed. */
const pick = (count: number, below: number): number[] => {
  const all = Array.from({ length: below }, (_, i) => i);
  const out: number[] = [];
  while (out.length < count) out.push(all.splice(rand(all.length), 1)[0]!);
  return out.sort();
};
const code = outcome;

test.before(async (t) => {
  ({ rand, bytes } = seeded((l) => t.log(l)));
  net = await createTestnet({ nodes: 8, accounts: 3 });
  // Every node behind a proxy on its registered port: clients and other nodes reach it through it.
  for (const [i, n] of net.plan.nodes.entries()) {
    const port = await freePort();
    await net.stopNode(i);
    modes.push('honest');
    lies.push(0);
    proxies.push(await createHttpProxy({ port: n.port, upstream: `http://127.0.0.1:${port}`, hooks: hostile(i) }));
    await net.startNode(i, { port });
    nodeOf.set(net.nodes[i]!.spId, i);
  }
  [alice, bob] = (await Promise.all([0, 1].map((i) => net.client(i)))) as [InsituClient, InsituClient];
  await alice.buckets.create(BUCKET, { primarySp: net.plan.nodes[0]!.operatorAddress });
  data = bytes(150_000 + rand(100_000));
  await alice.objects.put(BUCKET, 'secret.bin', data);
  const head = await alice.objects.head(BUCKET, 'secret.bin');
  placement = head.placement;
  objectId = head.id;
  gvgId = (await alice.chain.headObject(BUCKET, 'secret.bin')).gvgId;
  liedHash.set(-1, sha(flipFirst(data)));
  createErasureCodec().encode(data).forEach((p, j) => liedHash.set(j, sha(flipFirst(p))));
});
test.after.always(async () => {
  await net?.stop();
  await Promise.all(proxies.map((p) => p.stop()));
});

test.serial('a primary that flips bytes is caught by the per-segment hash; the read completes from the secondaries', async (t) => {
  setModes({ [-1]: 'flip' });
  const r = await readAll(alice);
  t.true(lies[nodeAt(-1)]! > 0, 'the primary served flipped bytes');
  t.true(r.degraded, 'the read fell back to the secondaries');
  t.true(r.bytes?.equals(data), `the right bytes (got ${r.code ?? r.bytes?.length})`);
});

test.serial('a primary that lies consistently (flipped bytes and a hash list to match) is caught against the chain', async (t) => {
  setModes({ [-1]: 'liar' });
  const r = await readAll(alice, { range: { start: 0, end: 999 } });
  t.true(lies[nodeAt(-1)]! > 0);
  t.true(r.degraded);
  t.true(r.bytes?.equals(data.subarray(0, 1000)), `the right bytes (got ${r.code ?? r.bytes?.length})`);
});

test.serial('with the primary down, data pieces with flipped bytes are skipped and the segment decodes from the others', async (t) => {
  const bad = pick(2, 4);
  t.log(`flipping pieces ${bad.join(', ')}`);
  setModes({ [-1]: 'down', [bad[0]!]: 'flip', [bad[1]!]: 'flip' });
  const r = await readAll(alice);
  for (const j of bad) t.true(lies[nodeAt(j)]! > 0, `secondary ${j} served a flipped piece`);
  t.true(r.bytes?.equals(data), `the right bytes (got ${r.code ?? r.bytes?.length})`);
});

test.serial('with the primary down, data pieces that lie consistently are caught against the chain\'s piece checksums', async (t) => {
  const bad = pick(2, 4);
  t.log(`lying pieces ${bad.join(', ')}`);
  setModes({ [-1]: 'down', [bad[0]!]: 'liar', [bad[1]!]: 'liar' });
  const r = await readAll(alice);
  for (const j of bad) t.true(lies[nodeAt(j)]! > 0, `secondary ${j} lied`);
  t.true(r.bytes?.equals(data), `the right bytes (got ${r.code ?? r.bytes?.length})`);
});

test.serial('a lying primary and three lying secondaries leave too few pieces: an error, never wrong bytes', async (t) => {
  for (const mode of ['flip', 'liar'] as const) {
    const bad = pick(3, 6);
    setModes({ [-1]: mode, [bad[0]!]: mode, [bad[1]!]: mode, [bad[2]!]: mode });
    const r = await readAll(alice);
    t.is(r.bytes, undefined, `${mode}: no bytes (pieces ${bad.join(', ')} bad)`);
    t.is(r.code, 'ERR_NOT_ENOUGH_PIECES', mode);
  }
  setModes({});
  t.true((await readAll(alice)).bytes?.equals(data), 'honest again: the object reads back');
});

test.serial('strangers get neither pieces nor piece hashes of a private object, from the primary or a secondary', async (t) => {
  setModes({});
  const stranger = `0x${bytes(32).toString('hex')}`;
  for (const p of placement.filter((x) => x.index === -1 || x.index === pick(1, 6)[0])) {
    const at = { endpoint: p.endpoint, objectId, index: p.index };
    for (const [who, key, want] of [['bob', net.accounts[1]!.privateKey, 'ERR_PERMISSION_DENIED'], ['an unfunded account', stranger, 'ERR_PERMISSION_DENIED'], ['an unsigned caller', undefined, 'ERR_UNAUTHENTICATED']] as const) {
      const k = key ? { privateKey: key } : {};
      t.is(await code(getPieceHashes({ ...at, ...k })), want, `${who}: hashes of index ${p.index}`);
      t.is(await code(getPiece({ ...at, segment: 0, ...k })), want, `${who}: piece of index ${p.index}`);
    }
    // The owner may: the refusals above are about who asks.
    const own = await getPiece({ ...at, segment: 0, privateKey: net.accounts[0]!.privateKey });
    t.true(sha(own).equals(p.index === -1 ? sha(data) : sha(createErasureCodec().encode(data)[p.index]!)), `the owner reads index ${p.index}`);
  }
});

/** Registers an object on chain (its checksums from `bytes`) without uploading it. */
async function pending(name: string, content: Buffer): Promise<bigint> {
  const { checksums, size } = await computeChecksums(content);
  const r = await alice.chain.createObject({ bucket: BUCKET, name, payloadSize: size, checksums });
  return r.object.id;
}
const held = async (id: bigint, index: number): Promise<boolean> => (await net.nodes[nodeAt(index)]!.store.meta({ objectId: id, index })) !== undefined;
// Pieces of the pending objects live on the bucket's group, the same as secret.bin's.
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

test.serial('a secondary refuses replicated pieces that disagree with the chain and keeps nothing', async (t) => {
  setModes({});
  const content = bytes(60_000 + rand(20_000));
  const id = await pending('replicated-wrong', content);
  const pieces = createErasureCodec().encode(content);
  const primaryKey = net.plan.nodes[nodeAt(-1)]!.operatorKey;
  const j = pick(1, 6)[0]!;
  const endpoint = placement.find((p) => p.index === j)!.endpoint;
  const wrong = Buffer.from(pieces[j]!);
  const at = rand(wrong.length);
  wrong[at] = wrong[at]! ^ (1 + rand(255));
  t.is(await code(replicatePiece({ endpoint, objectId: id, index: j, body: once(wrong), privateKey: primaryKey })), 'ERR_CHECKSUM_MISMATCH', `piece ${j} with one byte changed`);
  t.is(await code(replicatePiece({ endpoint, objectId: id, index: j, body: once(pieces[(j + 1) % 6]!), privateKey: primaryKey })), 'ERR_CHECKSUM_MISMATCH', 'another index\'s piece');
  t.false(await held(id, j), 'nothing kept');
  // The same secondary takes the right piece from the primary: the refusals were about the bytes.
  t.is(await code(replicatePiece({ endpoint, objectId: id, index: j, body: once(pieces[j]!), privateKey: primaryKey })), 'accepted');
  t.true(await held(id, j));
});

test.serial('replication is accepted only from the object\'s primary: not from another provider, not from an account', async (t) => {
  setModes({});
  const content = bytes(30_000 + rand(20_000));
  const id = await pending('replicated-by-others', content);
  const pieces = createErasureCodec().encode(content);
  const j = pick(1, 6)[0]!;
  const endpoint = placement.find((p) => p.index === j)!.endpoint;
  const inGroup = new Set(placement.map((p) => nodeOf.get(p.spId)!));
  const outsider = net.plan.nodes.findIndex((_, i) => !inGroup.has(i));
  const otherSecondary = nodeAt((j + 1) % 6);
  const randomKey: Hex = `0x${bytes(32).toString('hex')}`;
  for (const [who, key] of [
    [`provider ${outsider + 1} (outside the group)`, net.plan.nodes[outsider]!.operatorKey],
    [`provider ${otherSecondary + 1} (another secondary of the group)`, net.plan.nodes[otherSecondary]!.operatorKey],
    [`the object's owner`, net.accounts[0]!.privateKey],
    [`a random account ${privateKeyToAddress(randomKey)}`, randomKey],
  ] as const) {
    t.is(await code(replicatePiece({ endpoint, objectId: id, index: j, body: once(pieces[j]!), privateKey: key })), 'ERR_PERMISSION_DENIED', who);
    t.false(await held(id, j), `${who}: nothing kept`);
  }
  t.is(await code(replicatePiece({ endpoint, objectId: id, index: j, body: once(pieces[j]!), privateKey: net.plan.nodes[nodeAt(-1)]!.operatorKey })), 'accepted', 'the primary may');
});

/** A round's request to a secondary (PUT /insitu/v1/replicate-pieces): its pieces, or (approve) an approval of what it holds. */
async function round(endpoint: string, key: string, o: { pieces?: { id: bigint; index: number; bytes: Uint8Array; listed?: number }[]; approve?: { id: bigint; index: number }[]; body?: Uint8Array; gvg?: number | null }): Promise<{ code: string } | { results: string[]; signature?: string }> {
  const gvg = o.gvg === null ? '' : `gvg=${o.gvg ?? gvgId}&`;
  const list = o.approve ? `approve=${o.approve.map((p) => `${p.id}.${p.index}`).join('_')}` : `pieces=${o.pieces!.map((p) => `${p.id}.${p.index}.${p.listed ?? p.bytes.length}`).join('_')}`;
  const url = new URL(`/insitu/v1/replicate-pieces?${gvg}${list}`, endpoint);
  const res = await request(url, { method: 'PUT', headers: signRequest({ method: 'PUT', url, privateKey: key }), body: o.body ?? (o.pieces ? Buffer.concat(o.pieces.map((p) => p.bytes)) : ''), dispatcher: spDispatcher });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { code: String(res.headers['x-insitu-error-code']) };
  }
  const answer = (await res.body.json()) as { results: ({ ok: true } | { code: string })[]; signature?: string };
  return { results: answer.results.map((r) => ('ok' in r ? 'accepted' : r.code)), ...(answer.signature ? { signature: answer.signature } : {}) };
}

/** Sends pieces to a secondary in one batch request; the whole request's error code, or each piece's outcome. */
async function batch(endpoint: string, key: string, pieces: { id: bigint; index: number; bytes: Uint8Array; listed?: number }[], body?: Uint8Array): Promise<string | string[]> {
  const r = await round(endpoint, key, { pieces, ...(body ? { body } : {}) });
  return 'code' in r ? r.code : r.results;
}

test.serial('a batch of replicated pieces is checked piece by piece: against the chain, from the object\'s primary only, each refused alone', async (t) => {
  setModes({});
  const a = bytes(20_000 + rand(10_000));
  const b = bytes(20_000 + rand(10_000));
  const ids = [await pending('batched-a', a), await pending('batched-b', b)];
  const [pa, pb] = [createErasureCodec().encode(a), createErasureCodec().encode(b)];
  const j = pick(1, 6)[0]!;
  const endpoint = placement.find((p) => p.index === j)!.endpoint;
  const primaryKey = net.plan.nodes[nodeAt(-1)]!.operatorKey;
  const wrong = Buffer.from(pb[j]!);
  const at = rand(wrong.length);
  wrong[at] = wrong[at]! ^ (1 + rand(255));
  const inGroup = new Set(placement.map((p) => nodeOf.get(p.spId)!));
  const outsider = net.plan.nodes.findIndex((_, i) => !inGroup.has(i));
  const right = [{ id: ids[0]!, index: j, bytes: pa[j]! }, { id: ids[1]!, index: j, bytes: pb[j]! }];
  // Signed by anyone but the primary: every piece refused, nothing kept.
  t.deepEqual(await batch(endpoint, net.plan.nodes[outsider]!.operatorKey, right), ['ERR_PERMISSION_DENIED', 'ERR_PERMISSION_DENIED'], 'a provider outside the group');
  t.deepEqual(await batch(endpoint, net.plan.nodes[nodeAt((j + 1) % 6)]!.operatorKey, right), ['ERR_PERMISSION_DENIED', 'ERR_PERMISSION_DENIED'], 'another secondary of the group');
  t.is(await batch(endpoint, net.accounts[0]!.privateKey, right), 'ERR_PERMISSION_DENIED', 'an account that is no provider');
  // A body that is not the pieces listed, another index's place, or sizes listed wrong.
  t.is(await batch(endpoint, primaryKey, right, Buffer.concat([pa[j]!, pb[j]!]).subarray(1)), 'ERR_SIZE_MISMATCH', 'a body shorter than listed');
  t.deepEqual(await batch(endpoint, primaryKey, [right[0]!, { ...right[1]!, listed: pb[j]!.length - 1 }].map((p, i) => (i === 1 ? { ...p, bytes: pb[j]!.subarray(1) } : p))), ['accepted', 'ERR_SIZE_MISMATCH'], 'a piece listed at the wrong size');
  t.deepEqual(await batch(endpoint, primaryKey, [{ ...right[1]!, index: (j + 1) % 6 }]), ['ERR_BAD_REQUEST'], 'an index this node does not hold');
  t.is(await batch(endpoint, primaryKey, [right[0]!, right[0]!]), 'ERR_BAD_REQUEST', 'a piece listed twice');
  t.true(await held(ids[0]!, j), 'the right piece was kept');
  t.false(await held(ids[1]!, j), 'nothing kept of a refused piece');
  // From the primary, a changed byte refuses that piece alone; the right bytes then go through.
  t.deepEqual(await batch(endpoint, primaryKey, [right[0]!, { ...right[1]!, bytes: wrong }]), ['accepted', 'ERR_CHECKSUM_MISMATCH']);
  t.false(await held(ids[1]!, j));
  t.deepEqual(await batch(endpoint, primaryKey, right), ['accepted', 'accepted']);
  t.true(await held(ids[1]!, j));
});

test.serial('a secondary signs once per round, over the objects it accepted in order, and approves again only what it holds', async (t) => {
  setModes({});
  const contents = [bytes(5_000 + rand(5_000)), bytes(5_000 + rand(5_000)), bytes(5_000 + rand(5_000))];
  const ids = [await pending('round-a', contents[0]!), await pending('round-b', contents[1]!), await pending('round-c', contents[2]!)];
  const hashes = await Promise.all(contents.map(async (c) => checksumsHash((await computeChecksums(c)).checksums)));
  const pieces = contents.map((c) => createErasureCodec().encode(c));
  const j = pick(1, 6)[0]!;
  const { endpoint, spId } = placement.find((p) => p.index === j)!;
  const blsKey = (await alice.chain.listStorageProviders()).find((p) => p.id === spId)!.blsKey;
  const primaryKey = net.plan.nodes[nodeAt(-1)]!.operatorKey;
  const signs = (signature: string | undefined, which: number[]): boolean =>
    !!signature && blsVerify(Buffer.from(signature, 'hex'), sealObjectsSignDoc({ chainId: net.chainId, gvgId, objects: which.map((i) => ({ objectId: ids[i]!, checksumsHash: hashes[i]! })) }), blsKey);
  const wrong = Buffer.from(pieces[1]![j]!);
  const k = rand(wrong.length);
  wrong[k] = wrong[k]! ^ (1 + rand(255));
  // The round's request names its group; without one, or for another group, nothing is kept.
  t.deepEqual(await round(endpoint, primaryKey, { pieces: [{ id: ids[0]!, index: j, bytes: pieces[0]![j]! }], gvg: null }), { code: 'ERR_BAD_REQUEST' }, 'no group');
  t.deepEqual(await round(endpoint, primaryKey, { pieces: [{ id: ids[0]!, index: j, bytes: pieces[0]![j]! }], gvg: gvgId + 1 }), { results: ['ERR_BAD_REQUEST'] }, 'another group');
  t.false(await held(ids[0]!, j));
  const r = await round(endpoint, primaryKey, { pieces: [0, 1, 2].map((i) => ({ id: ids[i]!, index: j, bytes: i === 1 ? wrong : pieces[i]![j]! })) });
  t.deepEqual('results' in r ? r.results : r, ['accepted', 'ERR_CHECKSUM_MISMATCH', 'accepted']);
  const sig = 'signature' in r ? r.signature : undefined;
  t.true(signs(sig, [0, 2]), 'one signature over the two objects accepted, in order');
  t.false(signs(sig, [0, 1, 2]), 'not over the refused one');
  t.false(signs(sig, [2, 0]), 'not in another order');
  // Approvals of what it holds: signed again over any list of them; an object it does not hold is refused.
  const approve = (which: number[], key = primaryKey, extra: { gvg?: number; body?: Uint8Array } = {}) => round(endpoint, key, { approve: which.map((i) => ({ id: ids[i]!, index: j })), ...extra });
  const again = await approve([2, 0]);
  t.deepEqual('results' in again ? again.results : again, ['accepted', 'accepted']);
  t.true(signs('signature' in again ? again.signature : undefined, [2, 0]));
  const partly = await approve([0, 1]);
  t.deepEqual('results' in partly ? partly.results : partly, ['accepted', 'ERR_NOT_FOUND'], 'the refused piece was never kept');
  t.true(signs('signature' in partly ? partly.signature : undefined, [0]));
  const none = await approve([1]);
  t.deepEqual(none, { results: ['ERR_NOT_FOUND'] }, 'no signature when nothing is approved');
  const otherSecondary = net.plan.nodes[nodeAt((j + 1) % 6)]!.operatorKey;
  t.deepEqual(await approve([0, 2], otherSecondary), { results: ['ERR_PERMISSION_DENIED', 'ERR_PERMISSION_DENIED'] }, 'only the group\'s primary asks');
  t.deepEqual(await approve([0], net.accounts[0]!.privateKey), { code: 'ERR_PERMISSION_DENIED' }, 'an account that is no provider');
  t.deepEqual(await approve([0], primaryKey, { gvg: gvgId + 1 }), { results: ['ERR_BAD_REQUEST'] }, 'another group');
  t.deepEqual(await approve([0], primaryKey, { body: Buffer.from('x') }), { code: 'ERR_SIZE_MISMATCH' }, 'an approval with a body');
  t.deepEqual(await round(endpoint, primaryKey, { approve: [{ id: ids[0]!, index: j }, { id: ids[0]!, index: j }] }), { code: 'ERR_BAD_REQUEST' }, 'an object listed twice');
  t.truthy(await nodeStatus(endpoint), 'the secondary is still healthy');
});

test.serial('a piece one secondary refuses in a round fails its own upload only; the rest of the round is approved again and sealed', async (t) => {
  setModes({});
  const primary = placement.find((p) => p.index === -1)!.endpoint;
  const j = pick(1, 6)[0]!;
  // Uploads of one turn share a round, which the test cannot force: it tries until the refused
  // piece's round had others in it (the other secondaries were asked to approve them again).
  let shared = false;
  for (let attempt = 0; attempt < 6 && !shared; attempt++) {
    const contents = Array.from({ length: 8 }, () => bytes(2_000 + rand(8_000)));
    const names = contents.map((_, i) => `shared-${attempt}-${i}`);
    const ids = await Promise.all(contents.map((c, i) => pending(names[i]!, c)));
    const victim = rand(ids.length);
    corrupt = { node: nodeAt(j), objectId: ids[victim]! };
    approvalsSeen.length = 0;
    const outcomes = await Promise.all(contents.map((c, i) => code(putObject({ endpoint: primary, bucket: BUCKET, object: names[i]!, body: c, size: BigInt(c.length), privateKey: net.accounts[0]!.privateKey }))));
    corrupt = undefined;
    outcomes.forEach((o, i) => t.is(o, i === victim ? 'ERR_CHECKSUM_MISMATCH' : 'accepted', `${names[i]} (victim ${names[victim]})`));
    for (const [i, name] of names.entries()) t.is((await alice.objects.head(BUCKET, name)).status, i === victim ? 'created' : 'sealed', name);
    shared = approvalsSeen.some((list) => list.split('_').some((e) => ids.some((id, i) => i !== victim && e.startsWith(`${id}.`))));
    // The refused upload goes through once its bytes arrive unchanged.
    t.is(await code(putObject({ endpoint: primary, bucket: BUCKET, object: names[victim]!, body: contents[victim]!, size: BigInt(contents[victim]!.length), privateKey: net.accounts[0]!.privateKey })), 'accepted');
  }
  t.true(shared, 'a round held the refused piece and others');
});

test.serial('an object its uploader cancels once the secondaries approved its round is skipped by the chain; the rest of the round is sealed', async (t) => {
  setModes({});
  const primary = placement.find((p) => p.index === -1)!.endpoint;
  let shared = false;
  for (let attempt = 0; attempt < 6 && !shared; attempt++) {
    const contents = Array.from({ length: 8 }, () => bytes(2_000 + rand(8_000)));
    const names = contents.map((_, i) => `cancelled-${attempt}-${i}`);
    const ids = await Promise.all(contents.map((c, i) => pending(names[i]!, c)));
    const victim = rand(ids.length);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const trap = {
      objectId: ids[victim]!, lists: [] as string[], released,
      allIn: async () => {
        try {
          await alice.chain.cancelCreateObject(BUCKET, names[victim]!);
        } finally {
          release();
        }
      },
    };
    holdRound = trap;
    const outcomes = await Promise.all(contents.map((c, i) => code(putObject({ endpoint: primary, bucket: BUCKET, object: names[i]!, body: c, size: BigInt(c.length), privateKey: net.accounts[0]!.privateKey }))));
    holdRound = undefined;
    t.is(trap.lists.length, 6, 'each secondary answered the round once');
    const round = new Set(trap.lists[0]!.split('_').map((e) => BigInt(e.split('.')[0]!)));
    outcomes.forEach((o, i) => t.is(o, i === victim ? 'ERR_OBJECT_NOT_FOUND' : 'accepted', `${names[i]} (cancelled ${names[victim]})`));
    await t.throwsAsync(alice.objects.head(BUCKET, names[victim]!), undefined, 'the cancelled object is gone');
    for (const [i, name] of names.entries()) if (i !== victim) t.is((await alice.objects.head(BUCKET, name)).status, 'sealed', name);
    shared = [...round].some((id) => id !== ids[victim]);
  }
  t.true(shared, 'a round held the cancelled object and others');
});

test.serial('the primary refuses bytes of the right size that disagree with the chain; nothing is sealed or kept, and the right bytes still go through', async (t) => {
  setModes({});
  const content = bytes(80_000 + rand(20_000));
  const id = await pending('uploaded-wrong', content);
  const wrong = Buffer.from(content);
  const at = rand(wrong.length);
  wrong[at] = wrong[at]! ^ (1 + rand(255));
  const primary = placement.find((p) => p.index === -1)!.endpoint;
  t.is(await code(putObject({ endpoint: primary, bucket: BUCKET, object: 'uploaded-wrong', body: wrong, size: BigInt(wrong.length), privateKey: net.accounts[0]!.privateKey })), 'ERR_CHECKSUM_MISMATCH');
  t.is((await alice.objects.head(BUCKET, 'uploaded-wrong')).status, 'created', 'not sealed');
  for (const p of placement) t.false(await held(id, p.index), `index ${p.index} kept nothing`);
  // The upload resumes with the right bytes and reads back.
  await alice.objects.put(BUCKET, 'uploaded-wrong', content);
  const parts: Uint8Array[] = [];
  for await (const c of alice.objects.get(BUCKET, 'uploaded-wrong')) parts.push(c);
  t.true(Buffer.concat(parts).equals(content));
  // Every node is still healthy after all of the above.
  for (const p of placement) t.truthy(await nodeStatus(p.endpoint), `node at ${p.endpoint} answers`);
  t.is((await readAll(bob)).code, 'ERR_PERMISSION_DENIED', 'and the private object stays private');
});
