// Durability: nodes scrub what they hold against the chain and rebuild what is corrupt or
// missing; a read that meets a bad piece gets it rebuilt; a provider gone for longer than the
// threshold is forced out by its peers and successors rebuild its places while reads and jobs
// go on.

import test from 'ava';
import { open, readFile } from 'node:fs/promises';
import { randomBytes, createHash } from 'node:crypto';
import type { InsituClient } from '@insitu/sdk';
import { getPieceHashes } from '@insitu/sdk/sp/index.ts';
import { hashOfHashes } from '@insitu/sdk/integrity/index.ts';
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

const until = async (what: string, fn: () => Promise<boolean>, ms = 30_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
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
  await net.nodes[s2!.spId - 1]!.store.delete(obj.id);

  const r0 = await net.nodes[s0!.spId - 1]!.recovery!.scrubOnce();
  t.like(r0, { corrupt: 1, missing: 0, repaired: 1, failed: 0 });
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
  await until('the primary to rebuild its copy', async () => primary.recovery!.status().repairsOk >= 1);
  const located = await primary.store.locate({ objectId: obj.id, index: -1 });
  t.is(createHash('sha256').update(await readFile((located as { path: string }).path)).digest('hex'), createHash('sha256').update(data).digest('hex'));
});
