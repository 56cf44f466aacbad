// Time to full redundancy, with the default recovery settings, after one node loses its whole
// disk and after two do at once: from the restart to the last piece verified (the node's own
// holdings record), against the time this machine's disk and loopback network need to move the
// same bytes, measured in the same run. With two nodes lost, the objects left at 4 of 6 pieces
// are timed separately: they are rebuilt first. Size: `npm run bench -- durability 64MiB`
// (default 1 GiB, or INSITU_BENCH_DURABILITY_BYTES).

import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { DEFAULT_RECOVERY } from '@insitu/storage-node';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import type { BenchContext } from './index.ts';

export const name = 'durability';

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB };

function sizeArg(): number {
  const given = process.argv.slice(2).find((a) => /^\d+(\.\d+)?(B|KiB|MiB|GiB)$/.test(a)) ?? process.env.INSITU_BENCH_DURABILITY_BYTES;
  if (!given) return 1024 * MiB;
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)?$/.exec(given);
  if (!m) throw new TypeError(`size must look like 64MiB or 1GiB, not "${given}"`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'B']!);
}

/** Disk: write `bytes` in 16 MiB chunks and fsync, as a rebuild commits. */
async function diskMs(dir: string, bytes: number): Promise<number> {
  const file = join(dir, 'disk-probe');
  const chunk = randomBytes(Math.min(16 * MiB, bytes));
  const t0 = performance.now();
  const fh = await open(file, 'w');
  for (let at = 0; at < bytes; at += chunk.length) await fh.write(chunk, 0, Math.min(chunk.length, bytes - at));
  await fh.sync();
  await fh.close();
  const ms = performance.now() - t0;
  await rm(file, { force: true });
  return ms;
}

/** Network: stream `bytes` over loopback HTTP through undici, as nodes send pieces and copies. */
async function networkMs(bytes: number): Promise<number> {
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const chunk = randomBytes(Math.min(MiB, bytes));
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes; at += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, bytes - at));
  }
  const t0 = performance.now();
  const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'PUT', body: Readable.from(body()) });
  await res.body.text();
  const ms = performance.now() - t0;
  server.close();
  return ms;
}

const waitFor = async (what: string, fn: () => Promise<boolean> | boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

async function wipeAndStop(net: Testnet, spId: number): Promise<void> {
  await net.stopNode(spId - 1);
  await rm(join(net.dir, `node-${spId}`), { recursive: true, force: true });
}

export async function run(ctx: BenchContext): Promise<void> {
  const total = sizeArg();
  const net = await createTestnet({ nodes: 7, accounts: 1, recovery: { ...DEFAULT_RECOVERY } });
  try {
    const client = await net.client();
    // Objects of up to 64 MiB in buckets on every node, so each node holds whole copies (as a
    // primary) and pieces (as a secondary).
    const objectSize = Math.max(MiB, Math.min(64 * MiB, Math.floor(total / 14)));
    const count = Math.max(1, Math.round(total / objectSize));
    for (let n = 1; n <= 7; n++) await client.buckets.create(`dur-${n}`, { primarySp: net.plan.nodes[n - 1]!.operatorAddress });
    const objects: { id: bigint; size: number; primarySpId: number; pieceOn: Map<number, number> }[] = [];
    const tUp = performance.now();
    for (let i = 0; i < count; i++) {
      const bucket = `dur-${(i % 7) + 1}`;
      const data = randomBytes(objectSize);
      await client.objects.put(bucket, `o${i}`, data);
      const head = await client.objects.head(bucket, `o${i}`);
      objects.push({ id: head.id, size: data.length, primarySpId: head.placement[0]!.spId, pieceOn: new Map(head.placement.slice(1).map((p) => [p.spId, p.index])) });
    }
    const stored = objects.reduce((s, o) => s + o.size, 0);
    ctx.note(`stored ${count} objects of ${(objectSize / MiB).toFixed(1)} MiB (${(stored / MiB).toFixed(0)} MiB, ${(stored * 2.5 / MiB).toFixed(0)} MiB on disk with the copies and pieces) in ${((performance.now() - tUp) / 1000).toFixed(1)} s`);
    const diskBps = (bytes: number, ms: number): number => bytes / (ms / 1000);
    const probe = Math.min(stored, 256 * MiB);
    const disk = diskBps(probe, await diskMs(net.dir, probe));
    const network = diskBps(probe, await networkMs(probe));
    ctx.note(`this machine: disk ${(disk / MiB).toFixed(0)} MiB/s (write + fsync), loopback HTTP ${(network / MiB).toFixed(0)} MiB/s; default repair bound ${(DEFAULT_RECOVERY.repairBytesPerSecond / MiB).toFixed(0)} MiB/s received, ${DEFAULT_RECOVERY.repairConcurrency} rebuilds at once`);

    const rows: Record<string, string | number>[] = [];
    const row = (what: string, ms: number, written: number, received: number): void => {
      const floorMs = Math.max(written / disk, received / network) * 1000;
      rows.push({
        case: what, 'written MiB': (written / MiB).toFixed(1), 'received MiB': (received / MiB).toFixed(1),
        'heal s': (ms / 1000).toFixed(2), 'disk+net floor s': (floorMs / 1000).toFixed(2), ratio: (ms / floorMs).toFixed(1),
      });
    };

    // One disk lost: node 2 restarts empty.
    const one = 2;
    await wipeAndStop(net, one);
    const restartedAt = Date.now();
    await net.startNode(one - 1);
    const node = net.nodes[one - 1]!;
    await waitFor('node 2 to hold everything again', () => node.recovery!.status().holdings.state === 'complete', 3_600_000);
    const h = node.recovery!.status().holdings;
    // A rebuild reads the whole object (from the primary, or 4 pieces), for a copy or a piece alike.
    const received1 = objects.filter((o) => o.primarySpId === one || o.pieceOn.has(one)).reduce((s, o) => s + o.size, 0);
    row('one node, whole disk', h.healedAt! - restartedAt, h.found.bytes, received1);

    // Two disks lost at once: nodes 3 and 4. Objects whose pieces were on both are at 4 of 6.
    const [a, b] = [3, 4];
    await Promise.all([wipeAndStop(net, a), wipeAndStop(net, b)]);
    const atRisk = objects.filter((o) => o.pieceOn.has(a) && o.pieceOn.has(b));
    const t0 = performance.now();
    await Promise.all([net.startNode(a - 1), net.startNode(b - 1)]);
    const na = net.nodes[a - 1]!;
    const nb = net.nodes[b - 1]!;
    const back = async (o: (typeof objects)[number]): Promise<boolean> =>
      (await na.store.meta({ objectId: o.id, index: o.pieceOn.get(a)! })) !== undefined || (await nb.store.meta({ objectId: o.id, index: o.pieceOn.get(b)! })) !== undefined;
    let riskMs = 0;
    await waitFor('the objects at 4 of 6 to be back at 5', async () => {
      for (const o of atRisk) if (!(await back(o))) return false;
      riskMs = performance.now() - t0;
      return true;
    }, 3_600_000);
    await waitFor('nodes 3 and 4 to hold everything again', () => na.recovery!.status().holdings.state === 'complete' && nb.recovery!.status().holdings.state === 'complete', 3_600_000);
    const allMs = performance.now() - t0;
    const ha = na.recovery!.status().holdings;
    const hb = nb.recovery!.status().holdings;
    const receivedBoth = [a, b].reduce((s, n) => s + objects.filter((o) => o.primarySpId === n || o.pieceOn.has(n)).reduce((x, o) => x + o.size, 0), 0);
    const atRiskWritten = atRisk.reduce((s, o) => s + Math.ceil(o.size / 4) * 2, 0);
    row(`two nodes: ${atRisk.length} objects at 4 of 6 back to 5`, riskMs, atRiskWritten / 2, atRisk.reduce((s, o) => s + o.size, 0));
    row('two nodes: everything', allMs, ha.found.bytes + hb.found.bytes, receivedBoth);
    ctx.table(`Time to full redundancy with the default recovery settings (${(stored / MiB).toFixed(0)} MiB stored, 7 nodes in one process)`, rows);
    ctx.note('heal = restart to the last piece verified (the node\'s holdings record); floor = the larger of writing the rebuilt bytes at the disk\'s rate and receiving the bytes a rebuild reads at loopback rate; ratio = heal / floor');
  } finally {
    await net.stop();
  }
}
