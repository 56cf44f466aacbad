// Repair that starts at once, in order of risk: a node that lost its disk compares what the chain
// says it holds with what it has as soon as it starts, reports not ready (with counts) and
// rebuilds everything with the default settings while reads go on; objects with fewer healthy
// pieces left are rebuilt first; a read that meets a missing piece gets it rebuilt; data of an
// upload that never sealed is removed after the timeout (chain time).

import test from 'ava';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import type { InsituClient } from '@insitu/sdk';
import { getPieceHashes, replicatePiece, spDispatcher } from '@insitu/sdk/sp';
import { computeChecksums } from '@insitu/protocol';
import { createErasureCodec } from '@insitu/protocol/codec';
import { DEFAULT_RECOVERY } from '@insitu/storage-node';
import { createTestnet, type Testnet } from '../src/testnet.ts';

const read = async (c: InsituClient, bucket: string, name: string): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const chunk of c.objects.get(bucket, name)) parts.push(chunk);
  return Buffer.concat(parts);
};

const until = async (what: string | (() => string), fn: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

async function readyz(endpoint: string): Promise<{ status: number; body: { ready?: boolean; checks?: Record<string, string> } } | null> {
  try {
    const res = await request(new URL('/readyz', endpoint), { dispatcher: spDispatcher, signal: AbortSignal.timeout(5000) });
    return { status: res.statusCode, body: (await res.body.json()) as { ready?: boolean; checks?: Record<string, string> } };
  } catch {
    return null;
  }
}

/** Stops node n (1-based), removes its whole data directory, and starts it again. */
async function wipe(net: Testnet, spId: number): Promise<void> {
  await net.stopNode(spId - 1);
  await rm(join(net.dir, `node-${spId}`), { recursive: true, force: true });
}

test('a node that lost its disk heals at once with the default settings, is not ready meanwhile, and no read fails', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1, recovery: { ...DEFAULT_RECOVERY } });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('wipe');
  const objects = [17 * 1024 * 1024 + 5, 3 * 1024 * 1024, 1000].map((size, i) => ({ name: `o${i}`, data: randomBytes(size) }));
  for (const o of objects) await alice.objects.put('wipe', o.name, o.data);
  const bytes = objects.reduce((s, o) => s + o.data.length, 0);
  // The primary holds every whole object: the most to rebuild, and every read meets it first.
  const primary = (await alice.objects.head('wipe', 'o0')).placement[0]!;
  await wipe(net, primary.spId);

  // Readiness is watched from before the node listens until it holds everything again.
  const seen: { status: number; holdings: string }[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const r = await readyz(primary.endpoint);
      if (r) seen.push({ status: r.status, holdings: r.body.checks?.holdings ?? '' });
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  let reads = 0;
  const failures: string[] = [];
  let reading = true;
  const traffic = (async () => {
    while (reading) {
      for (const o of objects) {
        try {
          if (!(await read(alice, 'wipe', o.name)).equals(o.data)) failures.push(`${o.name}: wrong bytes`);
        } catch (e) {
          failures.push(`${o.name}: ${(e as Error).message}`);
        }
        reads++;
      }
    }
  })();
  const restartedAt = Date.now();
  await net.startNode(primary.spId - 1);
  const node = net.nodes[primary.spId - 1]!;
  // The bound follows from the data: a fixed allowance plus 1 MiB/s, far below what the defaults allow.
  const boundMs = 30_000 + (bytes / 2 ** 20) * 1000;
  await until(() => `the wiped node to hold everything again (${JSON.stringify(node.recovery?.status().holdings)})`,
    async () => node.recovery?.status().holdings.state === 'complete' && (await readyz(primary.endpoint))?.status === 200, boundMs);
  const healedMs = Date.now() - restartedAt;
  reading = false;
  watching = false;
  await Promise.all([traffic, watcher]);

  const h = node.recovery!.status().holdings;
  t.is(h.found.entries, objects.length, 'every copy was found missing at start');
  t.is(h.found.bytes, bytes);
  t.is(h.missing.entries, 0);
  t.true(h.healMs <= boundMs, `healed in ${h.healMs} ms, bound ${boundMs} ms`);
  const notReady = seen.filter((s) => s.status === 503 && /missing|comparing|not started/.test(s.holdings));
  t.true(notReady.length > 0, `reported not ready while it healed (${seen.length} answers seen)`);
  t.true(seen.some((s) => /entries missing \(/.test(s.holdings)), 'with counts of what is missing');
  t.deepEqual(failures, [], 'no read failed');
  t.true(reads > 0);
  for (const o of objects) t.true((await read(alice, 'wipe', o.name)).equals(o.data));
  // insitu node status tells the operator what was rebuilt and how long it took, and how scrubbing goes.
  const { run } = await import('@insitu/cli');
  let out = '';
  const io = { stdout: { write: (x: string | Uint8Array) => { out += String(x); return true; } }, stderr: { write: () => true }, env: {}, cwd: net.dir };
  t.is(await run(['node', 'status', '--sp', String(primary.spId), '--rpc', net.rpcUrl, '--chain-id', net.chainId], io as never), 0);
  t.regex(out, /holdings all 3 entries .*; 3 rebuilt at start \(20\.0 MiB\) in \d/);
  t.regex(out, /scrub +32\.0 MiB\/s, /);
  t.log(`${bytes} B healed in ${h.healMs} ms (ready after ${healedMs} ms); ${reads} reads meanwhile; readiness seen: ${notReady.length} not ready, e.g. "${notReady.find((s) => /entries missing/.test(s.holdings))?.holdings ?? notReady[0]?.holdings}"`);
});

test('with two disks lost at once, objects left at 4 of 6 pieces are rebuilt before those at 5 of 6', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1, recovery: { ...DEFAULT_RECOVERY, repairConcurrency: 1 } });
  t.teardown(() => net.stop());
  const alice = await net.client();
  const [a, b, p] = [2, 3, 5];
  // Bucket "on-a": node a is its primary, so losing a and b leaves its objects 5 of 6 pieces (and
  // no copy); bucket "on-p": a and b are both secondaries, so its objects are left 4 of 6.
  const objects: { bucket: string; name: string; data: Buffer }[] = [];
  for (const primary of [a, p]) {
    const bucket = `on-${primary === a ? 'a' : 'p'}`;
    await alice.buckets.create(bucket, { primarySp: net.plan.nodes[primary - 1]!.operatorAddress });
    for (let i = 0; i < 3; i++) {
      const o = { bucket, name: `o${i}`, data: randomBytes(256 * 1024 + i) };
      await alice.objects.put(bucket, o.name, o.data);
      objects.push(o);
    }
  }
  const atRisk = new Set<string>();
  for (const o of objects) {
    const head = await alice.objects.head(o.bucket, o.name);
    const lost = head.placement.filter((x) => x.index >= 0 && (x.spId === a || x.spId === b)).length;
    if (lost === 2) atRisk.add(head.id.toString());
  }
  t.is(atRisk.size, 3);
  await wipe(net, a);
  await wipe(net, b);
  // b sizes up its losses while a is still down, then a comes back too.
  await net.startNode(b - 1);
  const nodeB = net.nodes[b - 1]!;
  await until('b to finish its start-up check', () => nodeB.recovery!.status().holdings.state !== 'checking');
  await net.startNode(a - 1);
  const nodeA = net.nodes[a - 1]!;
  await until(() => `both to hold everything (${JSON.stringify([nodeA.recovery?.status().holdings, nodeB.recovery?.status().holdings])})`,
    () => nodeA.recovery!.status().holdings.state === 'complete' && nodeB.recovery!.status().holdings.state === 'complete');
  const started = nodeB.recovery!.status().started.filter((s) => /start-up/.test(s.reason));
  t.is(started.length, 6, 'b rebuilt its six pieces');
  t.deepEqual(started.map((s) => s.healthy), [4, 4, 4, 5, 5, 5], 'fewest healthy pieces first');
  t.true(started.slice(0, 3).every((s) => atRisk.has(s.objectId)), 'the objects at 4 of 6 went first');
  for (const o of objects) t.true((await read(alice, o.bucket, o.name)).equals(o.data));
});

test('a read that meets a missing piece gets it rebuilt; a node asked for a piece it does not hold changes nothing', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('holes');
  const data = randomBytes(2 * 1024 * 1024 + 7);
  await alice.objects.put('holes', 'f', data);
  const head = await alice.objects.head('holes', 'f');
  const [primary, s0, s1] = head.placement;
  const victim = net.nodes[s0!.spId - 1]!;
  await victim.store.delete(head.id);
  // A degraded read (primary down) asks every secondary for its piece: s0 has none any more.
  await net.stopNode(primary!.spId - 1);
  t.true((await read(alice, 'holes', 'f')).equals(data), 'read around the hole');
  // The piece is on disk a moment before the repair is counted: wait for both.
  await until(() => `s0 to rebuild its piece (${JSON.stringify(victim.recovery!.status())})`, async () =>
    (await victim.store.meta({ objectId: head.id, index: s0!.index })) !== undefined && victim.recovery!.status().repairsOk > 0);
  t.is(victim.recovery!.status().repairsOk, 1);
  // Asked for an index it does not hold (s1's), a node checks with the chain and rebuilds nothing.
  const other = net.nodes[s1!.spId - 1]!;
  await t.throwsAsync(getPieceHashes({ endpoint: s1!.endpoint, objectId: head.id, index: s0!.index, privateKey: net.accounts[0]!.privateKey }), { code: 'ERR_PIECE_NOT_FOUND' });
  await until('the request to be settled', () => other.recovery!.status().checking === 0 && other.recovery!.status().queueLength === 0 && other.recovery!.status().inProgress.length === 0);
  t.is(other.recovery!.status().repairsOk + other.recovery!.status().repairsFailed, 0);
  t.is(await other.store.meta({ objectId: head.id, index: s0!.index }), undefined);
  // The worst of it: a flood of requests naming hundreds of pieces the node does not hold. Each is
  // refused; the checks they trigger stay bounded (dropped past 20 a second) and rebuild nothing.
  let most = 0;
  const flood = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => {
    most = Math.max(most, other.recovery!.status().checking);
    return getPieceHashes({ endpoint: s1!.endpoint, objectId: head.id, index: 6 + i, privateKey: net.accounts[0]!.privateKey });
  }));
  t.true(flood.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_PIECE_NOT_FOUND'));
  await until('the flood\'s checks to settle', () => { most = Math.max(most, other.recovery!.status().checking); return other.recovery!.status().checking === 0; });
  t.true(most <= 16, `at most 16 checks at once (saw ${most})`);
  const after = other.recovery!.status();
  t.is(after.repairsOk + after.repairsFailed + after.queueLength, 0, 'nothing queued or rebuilt');
  t.is((await readyz(s1!.endpoint))?.status, 200, 'still ready');
  const own = await getPieceHashes({ endpoint: s1!.endpoint, objectId: head.id, index: s1!.index, privateKey: net.accounts[0]!.privateKey });
  t.true(own.length > 0, 'and serving its own piece');
});

test('data of an upload that never sealed is removed once it is older than the timeout in chain time, and only then', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('stale');
  const sealed = randomBytes(50_000);
  await alice.objects.put('stale', 'kept', sealed);
  // An upload that died after the primary replicated a piece: the piece is committed on its
  // secondary, the object stays unsealed on chain.
  const content = randomBytes(80_000);
  const { checksums, size } = await computeChecksums(content);
  const { object } = await alice.chain.createObject({ bucket: 'stale', name: 'left', payloadSize: size, checksums });
  const head = await alice.objects.head('stale', 'kept');
  const primaryKey = net.plan.nodes[head.placement[0]!.spId - 1]!.operatorKey;
  const s2 = head.placement.find((x) => x.index === 2)!;
  const node = net.nodes[s2.spId - 1]!;
  await replicatePiece({ endpoint: s2.endpoint, objectId: object.id, index: 2, body: (async function* () { yield createErasureCodec().encode(content)[2]!; })(), privateKey: primaryKey });
  t.truthy(await node.store.meta({ objectId: object.id, index: 2 }), 'the piece is held');

  t.like(await node.recovery!.gcOnce(), { removed: 0 }, 'not yet past the timeout');
  await alice.chain.advanceTime(DEFAULT_RECOVERY.unsealedTimeoutMs / 1000 - 3600);
  t.like(await node.recovery!.gcOnce(), { removed: 0 }, 'an hour before the timeout');
  // A chain that does not answer removes nothing.
  await net.chain.stop();
  await t.throwsAsync(node.recovery!.gcOnce());
  await net.restartChain();
  t.truthy(await node.store.meta({ objectId: object.id, index: 2 }));
  await alice.chain.advanceTime(2 * 3600);
  t.like(await node.recovery!.gcOnce(), { removed: 1 });
  t.is(await node.store.meta({ objectId: object.id, index: 2 }), undefined, 'the unsealed piece is gone');
  t.truthy(await node.store.meta({ objectId: head.id, index: 2 }), 'the sealed object\'s piece stays');
  t.true((await read(alice, 'stale', 'kept')).equals(sealed));
  t.is(node.recovery!.status().gc.removed, 1);
});

test('recovery flags: devnet up and node start refuse bad values before starting anything, and pass good ones to the nodes', async (t) => {
  const { run } = await import('@insitu/cli');
  const { recoveryArgs } = await import('@insitu/cli/devnet');
  const { mkdtemp, readdir } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'insitu-flags-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (x: string | Uint8Array) => { err += String(x); return true; } }, env: {}, cwd: dir };
  for (const [cmd, flag, value] of [['devnet', '--scrub-bytes-per-second', 'fast'], ['devnet', '--down-after-ms', '-5'], ['node', '--repair-concurrency', '0'], ['node', '--probe-interval-ms', '1e999']] as const) {
    err = '';
    const args = cmd === 'devnet' ? ['devnet', 'up', '--dir', join(dir, 'net'), flag, value] : ['node', 'start', '--dir', join(dir, 'node'), '--chain', 'http://127.0.0.1:9', '--key', join(dir, 'none.key'), '--port', '9', flag, value];
    t.is(await run(args, io as never), 1, `${cmd} ${flag} ${value}`);
    t.regex(err, new RegExp(`ERR_INVALID_ARGUMENT: ${flag}`));
  }
  t.deepEqual(await readdir(dir), [], 'nothing was created');
  t.deepEqual(recoveryArgs({ scrubBytesPerSecond: '1048576', downAfterMs: '5000', probeIntervalMs: '250', nodes: '7' }),
    ['--scrub-bytes-per-second', '1048576', '--probe-interval-ms', '250', '--down-after-ms', '5000']);
  // Every flag devnet up may pass is one the node process knows (it stops at the missing --dir, not at a flag).
  const { spawnSync } = await import('node:child_process');
  const all = recoveryArgs({ scrubBytesPerSecond: '1', scrubIntervalMs: '2', probeIntervalMs: '3', downAfterMs: '4', repairConcurrency: '5', repairBytesPerSecond: '6', unsealedTimeoutMs: '7' });
  t.is(all.length, 14);
  const bin = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=insitu-source', new URL('../../storage-node/src/bin.ts', import.meta.url).pathname, ...all], { encoding: 'utf8' });
  t.is(bin.status, 2, bin.stderr);
  t.regex(bin.stderr, /^usage: storage-node/);
});

test('put that loses the chain while the primary seals asks the chain first: "sealed" when the seal went through, the failure when it did not', async (t) => {
  const { createServer } = await import('node:http');
  const { createStorageNode } = await import('@insitu/storage-node');
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  const p = 1;
  await alice.buckets.create('blip', { primarySp: net.plan.nodes[p - 1]!.operatorAddress });
  // The primary reaches the chain through a proxy that can lose the answer to its next
  // transaction ('answer': the chain gets it, the primary hears nothing) or the transaction itself.
  let mode: 'pass' | 'answer' | 'tx' = 'pass';
  let cut = 0;
  const proxy = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    const body = Buffer.concat(parts);
    const isTx = body.includes('"broadcast_tx_sync"');
    if (isTx && mode === 'tx') {
      mode = 'pass';
      cut++;
      return req.socket.destroy();
    }
    let up: Awaited<ReturnType<typeof request>>;
    let answer: Buffer;
    try {
      up = await request(net.rpcUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      answer = Buffer.from(await up.body.arrayBuffer());
    } catch {
      // The chain went away (the network stopping at the end of the test): so does the answer.
      return req.socket.destroy();
    }
    if (isTx && mode === 'answer') {
      mode = 'pass';
      cut++;
      return req.socket.destroy();
    }
    res.writeHead(up.statusCode, { 'content-type': 'application/json' }).end(answer);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => proxy.close(() => r())));
  await net.stopNode(p - 1);
  const n = net.plan.nodes[p - 1]!;
  const primary = createStorageNode({ dataDir: join(net.dir, `node-${p}`), rpcUrl: `http://127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`, chainId: net.chainId,
    operatorKey: n.operatorKey, blsKey: n.blsKey, port: n.port, jobWorkers: 1, recovery: { scrubIntervalMs: 0, probeIntervalMs: 0, swapIntervalMs: 0 } });
  await primary.start();
  t.teardown(() => primary.stop());

  const sealed = randomBytes(300_000);
  mode = 'answer';
  const info = await alice.objects.put('blip', 'sealed-anyway', sealed);
  t.is(cut, 1, 'the primary lost the answer to its seal');
  t.is(info.status, 'sealed');
  t.true((await read(alice, 'blip', 'sealed-anyway')).equals(sealed));

  mode = 'tx';
  const err = await t.throwsAsync(alice.objects.put('blip', 'not-sealed', randomBytes(300_000), { sealTimeoutMs: 2000 }));
  t.is(cut, 2, 'the seal never reached the chain');
  t.is((err as { code?: string }).code, 'ERR_CHAIN_UNAVAILABLE');
  t.is((await alice.objects.head('blip', 'not-sealed')).status, 'created', 'reported as a failure because it is one');
});

test('continuous scrubbing finds an unread rotten piece and rebuilds it, with its progress in /metrics', async (t) => {
  const { open } = await import('node:fs/promises');
  const net = await createTestnet({ nodes: 7, accounts: 1, recovery: { scrubIntervalMs: 300 } });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('rot');
  const data = randomBytes(1024 * 1024 + 3);
  await alice.objects.put('rot', 'f', data);
  const head = await alice.objects.head('rot', 'f');
  const s3 = head.placement.find((x) => x.index === 3)!;
  const node = net.nodes[s3.spId - 1]!;
  const passes = node.recovery!.status().scrub.passes;
  const located = await node.store.locate({ objectId: head.id, index: 3 });
  const fh = await open((located as { path: string }).path, 'r+');
  await fh.write(randomBytes(32), 0, 32, 100);
  await fh.close();
  await until(() => `the scrubber to rebuild the rotten piece (${JSON.stringify(node.recovery!.status().scrub)})`, () => node.recovery!.status().repairsOk >= 1);
  const st = node.recovery!.status();
  t.true(st.scrub.passes > passes, 'found by a background pass, not by a read');
  t.is(st.scrub.bytesPerSecond, DEFAULT_RECOVERY.scrubBytesPerSecond);
  t.true((await read(alice, 'rot', 'f')).equals(data));
  const metrics = await (await request(new URL('/metrics', s3.endpoint), { dispatcher: spDispatcher })).body.text();
  for (const m of ['insitu_scrub_passes_total', 'insitu_scrub_bytes_total', 'insitu_scrub_pass_progress_ratio', 'insitu_scrub_oldest_unchecked_seconds', 'insitu_repair_queue_length', 'insitu_missing_bytes']) t.regex(metrics, new RegExp(`^${m} \\d`, 'm'), m);
  t.regex(metrics, /^insitu_scrub_pieces_total\{result="corrupt"\} [1-9]/m);
});
