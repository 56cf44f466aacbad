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
import { spDispatcher } from '@insitu/sdk/sp/index.ts';
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
  t.is(seen.at(-1)?.status, 200);
  t.deepEqual(failures, [], 'no read failed');
  t.true(reads > 0);
  for (const o of objects) t.true((await read(alice, 'wipe', o.name)).equals(o.data));
  t.log(`${bytes} B healed in ${h.healMs} ms (ready after ${healedMs} ms); ${reads} reads meanwhile; readiness seen: ${notReady.length} not ready, e.g. "${notReady.find((s) => /entries missing/.test(s.holdings))?.holdings ?? notReady[0]?.holdings}"`);
});
