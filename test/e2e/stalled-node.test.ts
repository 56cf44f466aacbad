// A node that stops answering without closing its connections (SIGSTOP: the process is frozen,
// the kernel still holds its sockets open) must not hold a read or an upload for the minute an
// HTTP client waits by default: reads go around it, an upload fails with ERR_REPLICATION_FAILED,
// and once the node is thawed everything works again. The devnet runs as child processes so a
// node can really be frozen. Each operation runs under a 30 s abort signal: well above the 2 s
// stall deadline (a busy machine), well below the minute the frozen node would otherwise cost.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type InsituClient } from '@insitu/sdk';
import { devnetUp, type Devnet } from '@insitu/cli/devnet';
import { rng, testSeed } from '../src/random.ts';

const MiB = 1024 * 1024;
const BOUND_MS = 30_000;

let devnet: Devnet;
let dir: string;
let client: InsituClient;
const frozen = new Set<number>();

const bytes = (seed: number, n: number): Buffer => {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r(256);
  return b;
};

const read = async (name: string, onDegraded?: (reason: string) => void): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const c of client.objects.get('frozen', name, { signal: AbortSignal.timeout(BOUND_MS), ...(onDegraded ? { onDegraded } : {}) })) parts.push(c);
  return Buffer.concat(parts);
};

/** The devnet's node index (0-based) of a provider id. */
async function nodeOf(spId: number): Promise<number> {
  const sp = await client.chain.getStorageProvider(spId);
  return devnet.file.nodes.findIndex((n) => n.operatorAddress.toLowerCase() === sp.operatorAddress.toLowerCase());
}

const freeze = (i: number): void => {
  process.kill(devnet.status().nodes[i]!.pid!, 'SIGSTOP');
  frozen.add(i);
};
const thaw = (i: number): void => {
  const pid = devnet.status().nodes[i]?.pid;
  if (pid) process.kill(pid, 'SIGCONT');
  frozen.delete(i);
};

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-stalled-'));
  devnet = await devnetUp({ dir, nodes: 7 });
  client = await createClient({ chain: { rpcUrl: devnet.file.rpcUrl, chainId: devnet.file.chainId }, account: { privateKey: devnet.file.account.privateKey } });
  await client.buckets.create('frozen');
});

test.after.always(async () => {
  for (const i of [...frozen]) thaw(i);
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.serial('a read goes around a frozen primary, and fails with ERR_NOT_ENOUGH_PIECES when frozen secondaries leave too few pieces', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed}`);
  const data = bytes(seed, 20 * MiB + 12_345); // two segments
  await client.objects.put('frozen', 'read-me', data);
  const bucket = await client.buckets.head('frozen');
  const primary = await nodeOf(bucket.primarySpId);
  freeze(primary);
  try {
    const reasons: string[] = [];
    const got = await read('read-me', (r) => reasons.push(r));
    t.true(got.equals(data), 'the bytes read around the frozen primary are the object');
    t.is(reasons.length, 1, 'the read reported that it went to the secondaries');
    const obj = await client.chain.headObject('frozen', 'read-me');
    const gvg = await client.chain.getGlobalVirtualGroup(obj.gvgId);
    // Two secondaries frozen: four pieces of six are left, enough.
    const secondaries = await Promise.all(gvg.secondarySpIds.map(nodeOf));
    freeze(secondaries[0]!);
    freeze(secondaries[5]!);
    t.true((await read('read-me')).equals(data), 'four live pieces of six rebuild the object');
    // A third: too few pieces, reported as such rather than waited on.
    freeze(secondaries[2]!);
    const err = await t.throwsAsync(read('read-me'));
    t.is((err as { code?: string }).code, 'ERR_NOT_ENOUGH_PIECES', String(err));
  } finally {
    for (const i of [...frozen]) thaw(i);
  }
  t.true((await read('read-me')).equals(data), 'thawed, the primary serves the object again');
});

test.serial('an upload with a frozen secondary fails with ERR_REPLICATION_FAILED, and succeeds once it is thawed', async (t) => {
  const seed = testSeed();
  t.log(`seed ${seed}`);
  // With 7 nodes every group of the bucket's primary has all 6 others as its secondaries.
  const primary = await nodeOf((await client.buckets.head('frozen')).primarySpId);
  const secondary = (primary + 3) % 7;
  for (const [name, size] of [['small', 1 * MiB], ['large', 40 * MiB]] as const) {
    const data = bytes(seed + size, size);
    freeze(secondary);
    try {
      const err = await t.throwsAsync(client.objects.put('frozen', name, data, { signal: AbortSignal.timeout(BOUND_MS) }));
      t.is((err as { code?: string }).code, 'ERR_REPLICATION_FAILED', `${name}: ${String(err)}`);
      t.is((await client.chain.headObject('frozen', name)).status, 'created', 'the object is not sealed');
    } finally {
      thaw(secondary);
    }
    // The same bytes again resume the registered upload and seal it.
    const info = await client.objects.put('frozen', name, data);
    t.is(info.status, 'sealed');
    t.true((await read(name)).equals(data), `${name} reads back`);
  }
});
