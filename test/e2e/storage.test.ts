// The storage spine end to end, in process: a real chain and 7 real storage nodes on 127.0.0.1.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { seeded } from '../src/random.ts';
import { Readable } from 'node:stream';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { createClient, type InsituClient } from '@insitu/sdk';
import { signRequest } from '@insitu/protocol/auth';
import { getPieceStream, spDispatcher } from '@insitu/sdk/sp';
import { generatePrivateKey } from '@insitu/protocol';
import { computeChecksums } from '@insitu/protocol';
import { createTestnet, type Testnet } from '../src/testnet.ts';

const MiB = 1024 * 1024;
let net: Testnet;
let alice: InsituClient;
let bob: InsituClient;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 2 });
  alice = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
  bob = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[1]!.privateKey } });
  await alice.buckets.create('spine');
});

test.after.always(async () => {
  await net?.stop();
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

test.serial('objects of random sizes round-trip byte for byte and register the checksums they were uploaded with', async (t) => {
  const { rand, bytes } = seeded((l) => t.log(l));
  const S = 16 * MiB;
  const sizes = [0, 1, 2 + rand(200_000 - 2), S - 1, S, S + 1, 40 * MiB + rand(MiB)];
  for (const size of sizes) {
    const data = bytes(size);
    const info = await alice.objects.put('spine', `size-${size}`, data);
    t.is(info.status, 'sealed');
    t.is(info.payloadSize, BigInt(size));
    t.deepEqual(info.checksums.map((c) => Buffer.from(c).toString('hex')), (await computeChecksums(data)).checksums.map((c) => Buffer.from(c).toString('hex')));
    t.true((await collect(alice.objects.get('spine', `size-${size}`))).equals(data), `size ${size}`);
  }
  const listed = await alice.objects.list('spine');
  t.is(listed.length, sizes.length);
});

test.serial('a Node stream and an async iterable upload like bytes do', async (t) => {
  const { rand, bytes } = seeded((l) => t.log(l));
  const chunks = Array.from({ length: 30 }, () => bytes(1 + rand(200_000 - 1)));
  const whole = Buffer.concat(chunks);
  await alice.objects.put('spine', 'from-readable', Readable.from(chunks));
  await alice.objects.put('spine', 'from-iterable', (async function* () { yield* chunks; })());
  t.true((await collect(alice.objects.get('spine', 'from-readable'))).equals(whole));
  t.true((await collect(alice.objects.get('spine', 'from-iterable'))).equals(whole));
  // The same bytes again under the same name are already there: the call returns the object.
  // Neither that nor other bytes under a taken name sends a transaction (which would cost a fee).
  const sequence = async (): Promise<unknown> => (await alice.chain.getAccount(net.accounts[0]!.address)).nonce;
  const before = await sequence();
  t.is((await alice.objects.put('spine', 'from-readable', whole)).status, 'sealed');
  const e = await t.throwsAsync(alice.objects.put('spine', 'from-readable', randomBytes(10)));
  t.is((e as { code?: string }).code, 'ERR_OBJECT_EXISTS');
  t.is(await sequence(), before, 'no transaction sent for a taken name');
});

test.serial('range reads at segment boundaries return exactly the asked bytes', async (t) => {
  const data = randomBytes(2 * 16 * MiB + 100);
  await alice.objects.put('spine', 'ranges', data);
  const S = 16 * MiB;
  for (const [start, end] of [[0, 0], [S - 1, S], [S - 10, S + 10], [S, 2 * S - 1], [2 * S - 1, 2 * S + 99], [5, data.length - 1]] as const) {
    const got = await collect(alice.objects.get('spine', 'ranges', { range: { start, end } }));
    t.true(got.equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
  }
  await t.throwsAsync(collect(alice.objects.get('spine', 'ranges', { range: { start: data.length, end: data.length + 5 } })), { any: true, message: /outside/ });
});

test.serial('reads survive the primary and any two secondaries being down, and fail cleanly with three', async (t) => {
  const data = randomBytes(300_000);
  const info = await alice.objects.head('spine', 'size-1');
  t.is(info.placement.length, 7);
  await alice.objects.put('spine', 'degraded', data);
  const placement = (await alice.objects.head('spine', 'degraded')).placement;
  const primary = placement[0]!.spId - 1;
  const secondaries = placement.slice(1).map((p) => p.spId - 1);
  let combos = 0;
  for (let a = 0; a < 6; a++) {
    for (let b = a + 1; b < 6; b++) {
      const down = [primary, secondaries[a]!, secondaries[b]!];
      await Promise.all(down.map((i) => net.stopNode(i)));
      let degraded = false;
      const got = await collect(alice.objects.get('spine', 'degraded', { onDegraded: () => (degraded = true) }));
      t.true(got.equals(data), `down: primary + secondaries ${a},${b}`);
      t.true(degraded);
      await Promise.all(down.map((i) => net.startNode(i)));
      combos++;
    }
  }
  t.is(combos, 15);
  const down = [primary, secondaries[0]!, secondaries[3]!, secondaries[5]!];
  await Promise.all(down.map((i) => net.stopNode(i)));
  const e = await t.throwsAsync(collect(alice.objects.get('spine', 'degraded')));
  t.is((e as { code?: string }).code, 'ERR_NOT_ENOUGH_PIECES');
  await Promise.all(down.map((i) => net.startNode(i)));
});

test.serial('degraded reads span segments and serve ranges at segment boundaries', async (t) => {
  const S = 16 * MiB;
  const data = randomBytes(S + 300_000);
  await alice.objects.put('spine', 'degraded-multi', data);
  const placement = (await alice.objects.head('spine', 'degraded-multi')).placement;
  // The primary and a data piece's holder down: every segment is decoded with parity.
  const down = [placement[0]!.spId - 1, placement[2]!.spId - 1];
  await Promise.all(down.map((i) => net.stopNode(i)));
  try {
    let reasons = 0;
    t.true((await collect(alice.objects.get('spine', 'degraded-multi', { onDegraded: () => reasons++ }))).equals(data));
    t.is(reasons, 1);
    for (const [start, end] of [[S - 5, S + 5], [0, 0], [S, S], [data.length - 10, data.length - 1], [12_345, S + 123_456]] as const) {
      const got = await collect(alice.objects.get('spine', 'degraded-multi', { range: { start, end } }));
      t.true(got.equals(data.subarray(start, end + 1)), `degraded range ${start}-${end}`);
    }
  } finally {
    await Promise.all(down.map((i) => net.startNode(i)));
  }
});

test.serial('a read that reuses its buffers hands each chunk on until the next is asked for, from the primary and from the secondaries, and every byte is the object\'s', async (t) => {
  const S = 16 * MiB;
  const data = randomBytes(3 * S + 1000);
  await alice.objects.put('spine', 'reused', data);
  /** The bytes of each chunk as it was handed on, and the memory each chunk was in. */
  const read = async (opts: Parameters<InsituClient['objects']['get']>[2]): Promise<{ bytes: Buffer; memory: Set<ArrayBufferLike>; chunks: number }> => {
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    for await (const c of alice.objects.get('spine', 'reused', opts)) {
      parts.push(Buffer.from(c));
      memory.add(c.buffer);
    }
    return { bytes: Buffer.concat(parts), memory, chunks: parts.length };
  };
  const fresh = await read({});
  t.true(fresh.bytes.equals(data));
  t.is(fresh.memory.size, fresh.chunks, 'by default every chunk is new memory');
  const reused = await read({ reuseBuffers: true });
  t.true(reused.bytes.equals(data));
  t.is(reused.chunks, 4);
  t.true(reused.memory.size <= 2, `four segments read into ${reused.memory.size} buffers`);
  const ranged = await read({ reuseBuffers: true, range: { start: S - 7, end: 3 * S + 9 } });
  t.true(ranged.bytes.equals(data.subarray(S - 7, 3 * S + 10)));
  const placement = (await alice.objects.head('spine', 'reused')).placement;
  // The primary down: the data pieces are handed on as they came, from reused buffers.
  await net.stopNode(placement[0]!.spId - 1);
  try {
    const degraded = await read({ reuseBuffers: true, onDegraded: () => {} });
    t.true(degraded.bytes.equals(data));
    t.true(degraded.memory.size < degraded.chunks, `${degraded.chunks} pieces handed on from ${degraded.memory.size} buffers`);
    // A data piece's holder down too: segments decoded from reused pieces.
    await net.stopNode(placement[2]!.spId - 1);
    try {
      t.true((await read({ reuseBuffers: true, onDegraded: () => {} })).bytes.equals(data));
    } finally {
      await net.startNode(placement[2]!.spId - 1);
    }
  } finally {
    await net.startNode(placement[0]!.spId - 1);
  }
});

test.serial('a secondary streams its pieces of a range of segments, refuses ranges the object lacks, and ends short at a corrupt piece', async (t) => {
  const S = 16 * MiB;
  const data = randomBytes(S + 300_000);
  const obj = await alice.objects.put('spine', 'piece-stream', data);
  const holder = (await alice.objects.head('spine', 'piece-stream')).placement.find((p) => p.index === 0)!;
  const input = { endpoint: holder.endpoint, objectId: obj.id, index: 0, privateKey: net.accounts[0]!.privateKey };
  // Piece 0 of each segment: the first quarter of it (the last segment's rounded up).
  const expected = Buffer.concat([data.subarray(0, S / 4), data.subarray(S, S + 75_000)]);
  t.true((await collect(await getPieceStream({ ...input, first: 0, last: 1 }))).equals(expected));
  t.true((await collect(await getPieceStream({ ...input, first: 1, last: 1 }))).equals(expected.subarray(S / 4)));
  for (const [first, last] of [[0, 2], [1, 0], [0, -1], [2, 3]] as const) {
    const e = await t.throwsAsync(getPieceStream({ ...input, first, last }), { any: true });
    t.is((e as { code?: string }).code, 'ERR_INVALID_RANGE', `segments ${first}-${last}`);
  }
  // Segment 1's piece corrupted on disk: segment 0's piece still arrives whole, then the answer breaks off.
  const path = join(net.dir, `node-${holder.spId}`, 'pieces', `${obj.id}.0`);
  const bytes = await readFile(path);
  bytes[S / 4 + 10] = bytes[S / 4 + 10]! ^ 0xff;
  await writeFile(path, bytes);
  let got = 0;
  await t.throwsAsync(async () => {
    for await (const c of await getPieceStream({ ...input, first: 0, last: 1 })) got += c.length;
  });
  t.is(got, S / 4);
  const health = await request(new URL('/healthz', holder.endpoint), { dispatcher: spDispatcher });
  t.is(health.statusCode, 200);
  await health.body.dump();
});

test.serial('a corrupted copy on disk is detected by its hash and the read routes around it', async (t) => {
  const data = randomBytes(200_000);
  const obj = await alice.objects.put('spine', 'corrupt-me', data);
  const placement = (await alice.objects.head('spine', 'corrupt-me')).placement;
  const flip = async (nodeIndex: number, file: string): Promise<void> => {
    const path = join(net.dir, `node-${nodeIndex + 1}`, 'pieces', file);
    const bytes = await readFile(path);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(path, bytes);
  };
  await flip(placement[0]!.spId - 1, `${obj.id}.p`);
  let degraded = '';
  t.true((await collect(alice.objects.get('spine', 'corrupt-me', { onDegraded: (r) => (degraded = r) }))).equals(data));
  t.regex(degraded, /corrupt|hash/);
  // A corrupt data piece on a secondary as well: the other pieces still rebuild the bytes.
  await flip(placement[1]!.spId - 1, `${obj.id}.0`);
  t.true((await collect(alice.objects.get('spine', 'corrupt-me'))).equals(data));

  // A segment of several send chunks, corrupt in its first: the primary sends as it hashes but
  // holds the segment's last chunk back, so even a plain HTTP client never gets a whole answer.
  const big = randomBytes(3 * MiB);
  const bigObj = await alice.objects.put('spine', 'corrupt-big', big);
  await flip(placement[0]!.spId - 1, `${bigObj.id}.p`);
  const url = new URL(`/spine/corrupt-big`, placement[0]!.endpoint);
  const res = await request(url, { headers: signRequest({ method: 'GET', url, privateKey: net.accounts[0]!.privateKey }), dispatcher: spDispatcher });
  t.is(res.statusCode, 200);
  await t.throwsAsync(res.body.arrayBuffer());
  degraded = '';
  t.true((await collect(alice.objects.get('spine', 'corrupt-big', { onDegraded: (r) => (degraded = r) }))).equals(big));
  t.regex(degraded, /hash/);
});

test.serial('requests are authenticated and authorised by the chain', async (t) => {
  const data = randomBytes(1000);
  await alice.objects.put('spine', 'private.txt', data);
  const placement = (await alice.objects.head('spine', 'private.txt')).placement;
  const url = new URL('/spine/private.txt', placement[0]!.endpoint);
  const fetchWith = async (headers: Record<string, string>, target = url) => {
    const res = await request(target, { method: 'GET', dispatcher: spDispatcher, headers: { ...headers, host: target.host } });
    const text = await res.body.text();
    return { status: res.statusCode, code: res.headers['x-insitu-error-code'], text };
  };
  const unsigned = await fetchWith({});
  t.is(unsigned.status, 401);
  t.is(unsigned.code, 'ERR_UNAUTHENTICATED');
  t.regex(unsigned.text, /<Error><Code>ERR_UNAUTHENTICATED<\/Code>/);
  const stranger = await fetchWith(signRequest({ method: 'GET', url, privateKey: generatePrivateKey() }));
  t.is(stranger.status, 403);
  t.is(stranger.code, 'ERR_PERMISSION_DENIED');
  const expired = await fetchWith(signRequest({ method: 'GET', url, privateKey: net.accounts[0]!.privateKey, now: Date.now() - 2 * 3600_000 }));
  t.is(expired.code, 'ERR_SIGNATURE_EXPIRED');
  const forged = signRequest({ method: 'GET', url, privateKey: net.accounts[0]!.privateKey });
  forged.authorization = forged.authorization!.replace(/.{8}$/, '00000000');
  t.true([401, 403].includes((await fetchWith(forged)).status));
  // A signature for another object, replayed here, recovers a different signer: refused.
  const other = new URL('/spine/size-1', placement[0]!.endpoint);
  const retargeted = await fetchWith(signRequest({ method: 'GET', url: other, privateKey: net.accounts[0]!.privateKey }));
  t.true([401, 403].includes(retargeted.status));
  t.is((await fetchWith(signRequest({ method: 'GET', url, privateKey: net.accounts[0]!.privateKey }))).status, 200);
  // Bob may not read until Alice grants him get; then he may, until she revokes it.
  const denied = await t.throwsAsync(collect(bob.objects.get('spine', 'private.txt')));
  t.is((denied as { code?: string }).code, 'ERR_PERMISSION_DENIED');
  await alice.policies.grant({ bucket: 'spine', object: 'private.txt' }, bob.address, ['get-object']);
  t.true((await collect(bob.objects.get('spine', 'private.txt'))).equals(data));
  await alice.policies.revoke({ bucket: 'spine', object: 'private.txt' }, bob.address);
  await t.throwsAsync(collect(bob.objects.get('spine', 'private.txt')));
  // Only the object's primary may push pieces to a secondary.
  const rep = new URL('/greenfield/receiver/v1/replicate-piece', placement[1]!.endpoint);
  const res = await request(rep, { method: 'PUT', body: 'x', dispatcher: spDispatcher, headers: { ...signRequest({ method: 'PUT', url: rep, privateKey: net.accounts[0]!.privateKey, headers: { 'x-gnfd-object-id': '1', 'x-gnfd-redundancy-index': '0' } }) } });
  await res.body.dump();
  t.true([403, 409].includes(res.statusCode));
  // Bad names never reach a node.
  await t.throwsAsync(alice.objects.put('spine', '../escape', data), { any: true, message: /\.\./ });
});

test.serial('a client that dies mid-upload leaves nothing readable, and a retry of the same name works', async (t) => {
  const data = randomBytes(20 * MiB);
  const ac = new AbortController();
  // The source is a plain file so the abort hits the network upload, not the spooling.
  const file = join(net.dir, 'big.bin');
  await writeFile(file, data);
  const upload = alice.objects.put('spine', 'interrupted', file, { signal: ac.signal, onProgress: (sent) => { if (sent >= 8n * BigInt(MiB)) ac.abort(); } });
  const aborted = await t.throwsAsync(upload);
  t.is((aborted as { code?: string }).code, 'ERR_ABORTED');
  const stale = await alice.chain.headObject('spine', 'interrupted');
  t.is(stale.status, 'created');
  await t.throwsAsync(collect(alice.objects.get('spine', 'interrupted')), { any: true, message: /not sealed/ });
  const info = await alice.objects.put('spine', 'interrupted', file);
  t.is(info.status, 'sealed');
  t.true((await collect(alice.objects.get('spine', 'interrupted'))).equals(data));
  // Different content under a stale name needs an explicit cancel.
  const first = randomBytes(1000);
  const { checksums } = await computeChecksums(first);
  await alice.chain.createObject({ bucket: 'spine', name: 'stale', payloadSize: 1000n, checksums });
  const second = randomBytes(1000);
  const e = await t.throwsAsync(alice.objects.put('spine', 'stale', second));
  t.is((e as { code?: string }).code, 'ERR_OBJECT_EXISTS');
  t.regex((e as Error).message, /insitu cancel spine\/stale/);
  await alice.objects.cancel('spine', 'stale');
  t.is((await alice.objects.put('spine', 'stale', second)).status, 'sealed');
  // Or the upload replaces the stale object itself when asked to.
  const third = randomBytes(2000);
  await alice.chain.createObject({ bucket: 'spine', name: 'stale-2', payloadSize: 1000n, checksums });
  const replaced = await alice.objects.put('spine', 'stale-2', third, { replaceStale: true });
  t.is(replaced.status, 'sealed');
  t.true((await collect(alice.objects.get('spine', 'stale-2'))).equals(third));
});

test.serial('the chain and every node restart with all data intact', async (t) => {
  const data = randomBytes(3 * MiB);
  await alice.objects.put('spine', 'durable', data);
  await Promise.all(net.nodes.map((_, i) => net.stopNode(i)));
  await net.restartChain();
  await Promise.all(net.nodes.map((_, i) => net.startNode(i)));
  t.true((await collect(alice.objects.get('spine', 'durable'))).equals(data));
  t.true((await collect(alice.objects.get('spine', 'size-1'))).length === 1);
  const info = await alice.objects.put('spine', 'after-restart', data.subarray(0, 1000));
  t.is(info.status, 'sealed');
});

test.serial('Greenfield\'s challenge endpoint answers a piece with its hash list', async (t) => {
  const data = randomBytes(50_000);
  const obj = await alice.objects.put('spine', 'challenged', data);
  const placement = (await alice.objects.head('spine', 'challenged')).placement;
  const url = new URL('/greenfield/admin/v1/challenge', placement[3]!.endpoint);
  const headers = signRequest({ method: 'GET', url, privateKey: net.accounts[0]!.privateKey, headers: { 'x-gnfd-object-id': obj.id.toString(), 'x-gnfd-redundancy-index': '2', 'x-gnfd-piece-index': '0' } });
  const res = await request(url, { method: 'GET', dispatcher: spDispatcher, headers });
  const piece = Buffer.from(await res.body.arrayBuffer());
  t.is(res.statusCode, 200);
  t.true(piece.equals(data.subarray(2 * 12_500, 3 * 12_500)), 'piece 2 of a systematic code is the object\'s own third quarter');
  const hashes = String(res.headers['x-gnfd-piece-hash']).split(',').map((h) => Buffer.from(h, 'hex'));
  const { createHash } = await import('node:crypto');
  t.true(createHash('sha256').update(Buffer.concat(hashes)).digest().equals(Buffer.from(obj.checksums[3]!)));
});

test.serial('visibility changes after creation: public-read, private, and objects that inherit their bucket\'s', async (t) => {
  await alice.buckets.create('vis');
  await alice.objects.put('vis', 'a.txt', Buffer.from('now you see me\n'));
  const url = new URL('/vis/a.txt', (await alice.objects.head('vis', 'a.txt')).placement[0]!.endpoint);
  const anonymous = async () => {
    const res = await request(url, { method: 'GET', dispatcher: spDispatcher, headers: { host: url.host } });
    return { status: res.statusCode, text: await res.body.text() };
  };
  t.is((await anonymous()).status, 401, 'private by default');
  await alice.buckets.update('vis', { visibility: 'public-read' });
  await alice.objects.update('vis', 'a.txt', { visibility: 'inherit' });
  t.deepEqual(await anonymous(), { status: 200, text: 'now you see me\n' }, 'inherits the public bucket');
  t.is((await alice.objects.head('vis', 'a.txt')).visibility, 'inherit');
  await alice.objects.update('vis', 'a.txt', { visibility: 'private' });
  t.is((await anonymous()).status, 401, 'the object\'s own setting wins over its bucket\'s');
  await alice.objects.update('vis', 'a.txt', { visibility: 'public-read' });
  await alice.buckets.update('vis', { visibility: 'private' });
  t.is((await anonymous()).status, 200, 'a public object in a private bucket');
  const bad = await t.throwsAsync(alice.buckets.update('vis', { visibility: 'inherit' }));
  t.is((bad as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
  const denied = await t.throwsAsync(bob.objects.update('vis', 'a.txt', { visibility: 'private' }));
  t.is((denied as { code?: string }).code, 'ERR_PERMISSION_DENIED');
});
