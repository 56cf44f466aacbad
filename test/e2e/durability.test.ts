// Durability: nodes scrub what they hold against the chain and rebuild what is corrupt or
// missing; a read that meets a bad piece gets it rebuilt; a provider gone for longer than the
// threshold is forced out by its peers and successors rebuild its places while reads and jobs
// go on.

import test from 'ava';
import { open, readFile } from 'node:fs/promises';
import { randomBytes, createHash } from 'node:crypto';
import type { InsituClient } from '@insitu/sdk';
import { getPieceHashes } from '@insitu/sdk/sp';
import { hashOfHashes } from '@insitu/protocol';
import { createTestnet, type Testnet } from '../src/testnet.ts';

const read = async (c: InsituClient, bucket: string, name: string): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const chunk of c.objects.get(bucket, name)) parts.push(chunk);
  return Buffer.concat(parts);
};

async function corrupt(net: Testnet, spId: number, objectId: bigint, index: number): Promise<void> {
  const located = await net.nodes[spId - 1]!.store.locate({ objectId, index });
  if (!('path' in located)) throw new Error('expected a file');
  const fh = await open(located.path, 'r+');
  await fh.write(randomBytes(64), 0, 64, 1000);
  await fh.close();
}

const until = async (what: string | (() => string), fn: () => Promise<boolean>, ms = 30_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('a scrub pass finds corrupt and missing pieces and rebuilds them from the others', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('scrub');
  const data = randomBytes(20 * 1024 * 1024 + 123);
  await alice.objects.put('scrub', 'big.bin', data);
  const obj = await alice.objects.head('scrub', 'big.bin');
  const [primary, s0, , s2] = obj.placement;
  await corrupt(net, s0!.spId, obj.id, 0);
  const r0 = await net.nodes[s0!.spId - 1]!.recovery!.scrubOnce();
  t.like(r0, { corrupt: 1, missing: 0, repaired: 1, failed: 0 });
  // One at a time: a node sizing up a repair asks its peers for their hash lists, and a peer
  // asked for a piece it lacks checks and rebuilds it by itself.
  await net.nodes[s2!.spId - 1]!.store.delete(obj.id);
  const r2 = await net.nodes[s2!.spId - 1]!.recovery!.scrubOnce();
  t.like(r2, { missing: 1, repaired: 1, failed: 0 });
  // The primary's copy last (a secondary rebuilding reads through it, and would get it repaired first).
  await corrupt(net, primary!.spId, obj.id, -1);
  const rp = await net.nodes[primary!.spId - 1]!.recovery!.scrubOnce();
  t.like(rp, { corrupt: 1, repaired: 1 });
  for (const node of [s0, s2, primary]) {
    const again = await net.nodes[node!.spId - 1]!.recovery!.scrubOnce();
    t.like(again, { corrupt: 0, missing: 0, failed: 0 }, `node ${node!.spId} holds good data after the repair`);
    t.true(again.ok >= 1);
  }
  // Each secondary's piece list matches the chain again, and the object reads back byte for byte.
  for (const p of obj.placement.slice(1)) {
    const hashes = await getPieceHashes({ endpoint: p.endpoint, objectId: obj.id, index: p.index, privateKey: net.accounts[0]!.privateKey });
    t.true(Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(obj.checksums[1 + p.index]!)), `piece ${p.index}`);
  }
  t.true((await read(alice, 'scrub', 'big.bin')).equals(data));
});

test('a read that meets a corrupt copy is served from the pieces and the copy is rebuilt', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('heal');
  const data = randomBytes(3 * 1024 * 1024);
  await alice.objects.put('heal', 'file', data);
  const obj = await alice.objects.head('heal', 'file');
  const primary = net.nodes[obj.placement[0]!.spId - 1]!;
  await corrupt(net, primary.spId, obj.id, -1);
  t.true((await read(alice, 'heal', 'file')).equals(data), 'the reader routed around the bad copy');
  await until(() => `the primary to rebuild its copy (${JSON.stringify(primary.recovery!.status())})`, async () => primary.recovery!.status().repairsOk >= 1, 60_000);
  const located = await primary.store.locate({ objectId: obj.id, index: -1 });
  t.is(createHash('sha256').update(await readFile((located as { path: string }).path)).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('a provider gone longer than the threshold is replaced: successors rebuild its places while reads and jobs go on', async (t) => {
  const net = await createTestnet({ nodes: 8, accounts: 1, recovery: { probeIntervalMs: 200, downAfterMs: 1500, swapIntervalMs: 300, scrubIntervalMs: 0 } });
  t.teardown(() => net.stop());
  const alice = await net.client();
  const target = 3;
  // Buckets on several primaries, the leaving provider's among them; objects spread over its groups.
  const objects: { bucket: string; name: string; data: Buffer }[] = [];
  for (const primary of [target, 1, 5]) {
    const bucket = `on-${primary}`;
    await alice.buckets.create(bucket, { primarySp: net.plan.nodes[primary - 1]!.operatorAddress });
    for (let i = 0; i < 3; i++) {
      const data = randomBytes(1024 * 1024 * (1 + i) + i);
      await alice.objects.put(bucket, `o${i}`, data);
      objects.push({ bucket, name: `o${i}`, data });
    }
  }
  const wasIn = await alice.objects.head(objects[0]!.bucket, objects[0]!.name);
  t.is(wasIn.placement[0]!.spId, target);
  const wc = await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));
  // The module is stored before the outage (uploads into a group need all of its members).
  await alice.jobs.submit({ module: wc, input: `${objects[4]!.bucket}/${objects[4]!.name}`, maxFee: 10n ** 16n });
  const stoppedAt = Date.now();
  await net.stopNode(target - 1);

  // While the network heals: every object reads back and jobs run.
  let reads = 0;
  let jobs = 0;
  let healing = true;
  const chain = (await net.client()).chain;
  const traffic = (async () => {
    while (healing) {
      for (const o of objects) {
        t.true((await read(alice, o.bucket, o.name)).equals(o.data), `${o.bucket}/${o.name} during the rebuild`);
        reads++;
      }
      const run = await alice.jobs.submit({ module: wc, input: `${objects[4]!.bucket}/${objects[4]!.name}`, maxFee: 10n ** 16n });
      t.is(run.receipt.state, 'succeeded');
      jobs++;
    }
  })();
  await until('every place of the leaving provider to be taken over', async () => (await chain.listGlobalVirtualGroups(target)).length === 0, 90_000);
  const healedMs = Date.now() - stoppedAt;
  healing = false;
  await traffic;
  t.true(reads > 0 && jobs > 0);
  t.is((await chain.getStorageProvider(target)).status, 'force-exiting');
  const heals = net.nodes.flatMap((n) => n?.recovery?.status().heals ?? []);
  t.true(heals.length >= 1);
  t.log(`healed in ${healedMs} ms after the provider stopped (threshold 1500 ms); swaps: ${heals.map((h) => `group ${h.gvgId} ${h.objects} objects ${h.bytes} B in ${h.ms} ms`).join('; ')}; ${reads} reads and ${jobs} jobs meanwhile`);

  // The new members hold verified data: every piece list matches the chain, and reads work with
  // the (new) primary down, decoding from pieces that include the rebuilt ones.
  for (const o of objects) {
    const head = await alice.objects.head(o.bucket, o.name);
    t.false(head.placement.some((p) => p.spId === target), `${o.bucket}/${o.name} no longer placed on the provider that left`);
    for (const p of head.placement.slice(1)) {
      const hashes = await getPieceHashes({ endpoint: p.endpoint, objectId: head.id, index: p.index, privateKey: net.accounts[0]!.privateKey });
      t.true(Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(head.checksums[1 + p.index]!)), `${o.bucket}/${o.name} piece ${p.index} on ${p.spId}`);
    }
  }
  const moved = await alice.objects.head(objects[0]!.bucket, objects[0]!.name);
  t.not(moved.placement[0]!.spId, target, 'the family has a new primary');
  t.true((await read(alice, objects[0]!.bucket, objects[0]!.name)).equals(objects[0]!.data), 'served by the new primary');
  await net.stopNode(moved.placement[0]!.spId - 1);
  await net.stopNode(moved.placement[1]!.spId - 1);
  t.true((await read(alice, objects[0]!.bucket, objects[0]!.name)).equals(objects[0]!.data), 'decoded from pieces with the new primary and a secondary down');
});
