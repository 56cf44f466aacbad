// The client side of the simulated-network scenario, run inside the client's network namespace
// (`ip netns exec <ns> node --import tsx netns-client.ts '<json>'`): it starts the devnet with the
// chain and every node in namespaces of their own (the supervisor runs here, its children through
// `ip netns exec`), drives it as a user would, and writes one JSON line per result to stdout:
// {"table": title, "rows": […]}, {"note": text}, or {"check": {…}} for the test. The devnet is
// stopped before it exits, whatever happens.
//
// Modes: "bench" (upload, download, degraded download, small-object rate, near-data job against
// download-then-compute, each beside what the bandwidth and round trips allow) and "check" (one
// small upload, a verified read and a job, for the test).

import { createHash, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { Agent, request } from 'undici';
import { createClient, type InsituClient } from '@insitu/sdk';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { devnetUp, type Devnet } from '@insitu/cli/devnet';
import { rng, seededBytes } from './random.ts';
import { startPlainServer } from './plain-server.ts';
import { failureSummary, percentile, smallUploads } from './bench-support.ts';

export interface ClientConfig {
  mode: 'bench' | 'check';
  dir: string;
  /** Per process name ('chain', 'node-1', …): its address and the prefix that runs it in its namespace. */
  placement: Record<string, { host: string; prefix: string[] }>;
  delayMs: number;
  rateMbit: number;
  /** bench: the large object's size, the number of 4 KiB objects, the near-data object's size. */
  size?: number;
  smallCount?: number;
  jobSize?: number;
  /** check: the seed of the object's bytes. */
  seed?: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const WC = new URL('../../wasm-jobs/build/wc.wasm', import.meta.url);

const emit = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);

/** The time a TCP connection takes to open: one round trip on the simulated network. */
async function connectMs(host: string, port: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, host, () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
  return performance.now() - t0;
}

async function measuredRtt(rpcUrl: string): Promise<number> {
  const u = new URL(rpcUrl);
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) samples.push(await connectMs(u.hostname, Number(u.port)));
  return samples.sort((a, b) => a - b)[3]!;
}

async function drain(it: AsyncIterable<Uint8Array>, each?: (c: Uint8Array) => void): Promise<number> {
  let n = 0;
  for await (const c of it) {
    n += c.length;
    each?.(c);
  }
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

/** Text of `size` bytes in lines of 61 (a count job's input). */
function lines(size: number): { data: Buffer; count: number } {
  const line = Buffer.from(`${randomBytes(30).toString('hex')}\n`);
  const data = Buffer.concat(Array.from({ length: Math.ceil(size / line.length) }, () => line)).subarray(0, size);
  let count = 0;
  for (const b of data) if (b === 10) count++;
  return { data, count };
}

async function primaryIndex(devnet: Devnet, client: InsituClient, bucket: string): Promise<number> {
  const info = await client.buckets.head(bucket);
  const sp = await client.chain.getStorageProvider(info.primarySpId);
  return devnet.file.nodes.findIndex((n) => n.operatorAddress.toLowerCase() === sp.operatorAddress.toLowerCase());
}

async function check(cfg: ClientConfig, devnet: Devnet, client: InsituClient, rtt: number): Promise<void> {
  // Seeded text lines: bytes to verify on read and lines for the job to count.
  const rand = rng(cfg.seed ?? 1);
  const hex = seededBytes(rand, 128 * KiB).toString('hex');
  const data = Buffer.from(hex.replace(/(.{63})/g, '$1\n'));
  let expectedLines = 0;
  for (const b of data) if (b === 10) expectedLines++;
  await client.buckets.create('sim');
  const up = await timed(() => client.objects.put('sim', 'lines.txt', data));
  const parts: Uint8Array[] = [];
  const down = await timed(() => drain(client.objects.get('sim', 'lines.txt'), (c) => parts.push(c)));
  const read = Buffer.concat(parts);
  const module = await readFile(WC);
  const job = await timed(async () => {
    const r = await client.jobs.submit({ module, input: 'sim/lines.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 40n } });
    return Buffer.from(await client.jobs.output(r.id)).toString().trim();
  });
  emit({
    check: {
      rttMs: rtt,
      primary: await primaryIndex(devnet, client, 'sim'),
      endpoints: devnet.file.nodes.map((n) => n.endpoint),
      rpcUrl: devnet.file.rpcUrl,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      readSha256: createHash('sha256').update(read).digest('hex'),
      expectedLines,
      jobOutput: job.value,
      uploadMs: up.ms,
      downloadMs: down.ms,
      jobMs: job.ms,
    },
  });
}

async function bench(cfg: ClientConfig, devnet: Devnet, client: InsituClient, rtt: number): Promise<void> {
  const size = cfg.size ?? 256 * MiB;
  const smallCount = cfg.smallCount ?? 300;
  const jobSize = cfg.jobSize ?? 64 * MiB;
  const bytesPerMs = (cfg.rateMbit * 1e6) / 8 / 1000;
  const RTT = 2 * cfg.delayMs; // the configured round trip; the floors use it
  const mibs = (bytes: number, ms: number): string => (bytes / MiB / (ms / 1000)).toFixed(1);
  const row = (what: string, bytes: number, ms: number, floorMs: number, floor: string, plainMs?: number): Record<string, string | number> => ({
    what, ms: Math.round(ms), 'MiB/s': bytes ? mibs(bytes, ms) : '', 'floor ms': Math.round(floorMs), 'floor / measured': (floorMs / ms).toFixed(2), 'floor from': floor,
    ...(plainMs === undefined ? {} : { 'plain / measured': plainMs ? (plainMs / ms).toFixed(2) : '' }),
  });
  emit({ note: `simulated network: ${cfg.delayMs} ms each way (round trip ${RTT} ms; a TCP connect from the client to the chain measured ${rtt.toFixed(1)} ms), ${cfg.rateMbit} Mbit/s per host each way; object ${size / MiB} MiB` });

  const file = join(cfg.dir, 'object.bin');
  {
    const fh = await open(file, 'w');
    const block = randomBytes(4 * MiB);
    for (let at = 0; at < size; at += block.length) await fh.write(block, 0, Math.min(block.length, size - at));
    await fh.close();
  }
  await client.buckets.create('bench');
  await client.buckets.buyQuota('bench', BigInt(4 * (size + jobSize)));
  const primary = await primaryIndex(devnet, client, 'bench');

  // The baseline: the same file by plain HTTP to a server on the primary's host, and back.
  const plain = await startPlainServer(cfg.dir, cfg.placement[`node-${primary + 1}`]!);
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  let plainPut: { ms: number };
  let plainGet: { value: number; ms: number };
  try {
    plainPut = await timed(async () => {
      const res = await request(`${plain.url}/obj`, { method: 'PUT', body: createReadStream(file, { highWaterMark: 1 << 20 }), headers: { 'content-length': String(size) }, dispatcher: agent });
      await res.body.dump();
    });
    plainGet = await timed(async () => drain((await request(`${plain.url}/obj`, { method: 'GET', dispatcher: agent })).body));
  } finally {
    plain.child.kill();
    await agent.close();
  }
  if (plainGet.value !== size) throw new Error(`the plain GET returned ${plainGet.value} of ${size} bytes`);

  const up = await timed(() => client.objects.put('bench', 'big', file));
  const down = await timed(() => drain(client.objects.get('bench', 'big')));
  if (down.value !== size) throw new Error(`download returned ${down.value} of ${size} bytes`);
  await devnet.stopNode(primary);
  const degraded = await timed(() => drain(client.objects.get('bench', 'big', { onDegraded: () => {} })));
  await devnet.startNode(primary);
  if (degraded.value !== size) throw new Error(`degraded download returned ${degraded.value} of ${size} bytes`);
  // Upload: the client sends S to the primary while the primary sends 6 pieces of S/4 (1.5 S) to
  // the secondaries: the primary's outgoing link is the slowest. Round trips that cannot overlap
  // the bytes: before them, head object, create-object transaction sent and seen included (2),
  // connect to the primary; after them, the last piece's signature back to the primary, the seal
  // sent and seen included (2), the client seeing it sealed: 8.
  // Download: head object and the request (the connection to the primary may be open already): 2.
  // Degraded: the client takes 4 pieces of S/4 (S) from 4 secondaries at once; head object, the
  // primary's refused connect, connect to the secondaries, request: 4.
  emit({
    table: `${size / MiB} MiB object over the simulated network`,
    rows: [
      row('plain HTTP PUT to the primary\'s host (baseline)', size, plainPut.ms, size / bytesPerMs + 2 * RTT, 'S / rate + 2 RTT', 0),
      row('plain HTTP GET from it (baseline)', size, plainGet.ms, size / bytesPerMs + RTT, 'S / rate + 1 RTT', 0),
      row('upload (put, sealed)', size, up.ms, (1.5 * size) / bytesPerMs + 8 * RTT, '1.5 S / rate + 8 RTT', plainPut.ms),
      row('download (from the primary)', size, down.ms, size / bytesPerMs + 2 * RTT, 'S / rate + 2 RTT', plainGet.ms),
      row('degraded download (primary stopped)', size, degraded.ms, size / bytesPerMs + 4 * RTT, 'S / rate + 4 RTT', plainGet.ms),
    ],
  });

  // Small objects: 32 concurrent writers from 4 accounts, 4 KiB each; each upload is at least the
  // 8 round trips above, so 32 writers can finish at most 32 per 8 RTT.
  const accounts = [devnet.file.account.privateKey, ...Array.from({ length: 3 }, () => generatePrivateKey())];
  for (const key of accounts.slice(1)) await client.chain.transfer(privateKeyToAddress(key), 10n ** 20n);
  const clients = await Promise.all(accounts.map((k) => createClient({ chain: { rpcUrl: devnet.file.rpcUrl, chainId: devnet.file.chainId }, account: { privateKey: k } })));
  await Promise.all(clients.map((c, i) => c.buckets.create(`small-${i}`)));
  const small = await timed(() => smallUploads({ clients, buckets: clients.map((_, i) => `small-${i}`), count: smallCount, writers: 32, size: 4 * KiB, nameOf: (i) => `o-${i}` }));
  const { latencies: lat, failures } = small.value;
  const pct = (p: number): number => Math.round(percentile(lat, p));
  const rate = lat.length / (small.ms / 1000);
  const floorRate = 32 / ((8 * RTT) / 1000);
  emit({
    table: `${smallCount} × 4 KiB uploads, 32 concurrent writers from 4 accounts`,
    rows: [{
      'objects/s': rate.toFixed(1), 'floor objects/s': Math.round(floorRate), 'measured / floor': (rate / floorRate).toFixed(2),
      'p50 ms': pct(50), 'p99 ms': pct(99), 'floor ms': 8 * RTT, failed: failureSummary(failures),
    }],
  });

  // A job beside the data against downloading the object and computing here.
  const text = lines(jobSize);
  await client.objects.put('bench', 'lines.txt', text.data);
  const module = await readFile(WC);
  await client.jobs.submit({ module, input: 'bench/lines.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n } }); // stores the module once
  const job = await timed(async () => {
    const r = await client.jobs.submit({ module, input: 'bench/lines.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n } });
    return Buffer.from(await client.jobs.output(r.id)).toString().trim();
  });
  let counted = 0;
  const local = await timed(() => drain(client.objects.get('bench', 'lines.txt'), (c) => {
    for (const b of c) if (b === 10) counted++;
  }));
  if (job.value.split(/\s+/)[0] !== String(counted)) throw new Error(`the job counted "${job.value}" (lines words bytes), the download ${counted} lines`);
  // Job: submit transaction sent and seen included (2), connect to the executor, request with the
  // answer, output fetched: 5 round trips and the few KiB of receipt and output. Download then
  // compute: S / rate + 2 RTT. The computation itself is not in either floor.
  emit({
    table: `Counting the lines of a ${jobSize / MiB} MiB object`,
    rows: [
      { ...row('job beside the data (wc)', 0, job.ms, 5 * RTT, '5 RTT'), result: job.value },
      { ...row('download, then count here', jobSize, local.ms, jobSize / bytesPerMs + 2 * RTT, 'S / rate + 2 RTT'), result: `${counted} lines` },
    ],
  });
  emit({ note: `the job took ${(job.ms / local.ms).toFixed(2)}× the time of download-then-count; over this network the download alone needs at least ${Math.round(jobSize / bytesPerMs + 2 * RTT)} ms` });
}

const cfg = JSON.parse(process.argv[2]!) as ClientConfig;
let devnet: Devnet | undefined;
try {
  const t0 = performance.now();
  // Eight processes compiling and starting at once on a small busy machine may take over a minute.
  devnet = await devnetUp({ dir: join(cfg.dir, 'devnet'), nodes: 7, placement: (name) => cfg.placement[name]!, startTimeoutMs: 240_000, log: (line) => process.stderr.write(`${line}\n`) });
  emit({ note: `devnet up in ${((performance.now() - t0) / 1000).toFixed(1)} s` });
  const client = await createClient({ chain: { rpcUrl: devnet.file.rpcUrl, chainId: devnet.file.chainId }, account: { privateKey: devnet.file.account.privateKey } });
  const rtt = await measuredRtt(devnet.file.rpcUrl);
  if (cfg.mode === 'check') await check(cfg, devnet, client, rtt);
  else await bench(cfg, devnet, client, rtt);
} catch (e) {
  // A process that did not start names its log: its end says why.
  const log = /\(see ([^)]+\.log)\)/.exec(String((e as Error).message))?.[1];
  const tail = log ? (await readFile(log, 'utf8').catch(() => '')).slice(-3000) : '';
  emit({ error: `${(e as Error).stack ?? String(e)}${tail ? `\n--- end of ${log}:\n${tail}` : ''}`, code: (e as { code?: string }).code });
  process.exitCode = 1;
} finally {
  await devnet?.stop().catch(() => undefined);
}
process.exit();
