// The data path end to end, every figure beside its baseline measured in the same run: an upload
// and a download through the devnet (chain and 7 nodes as child processes on 127.0.0.1, as
// `insitu devnet up` runs them) against a plain HTTP PUT/GET of the same file to one Node server
// writing to disk; a degraded download (primary stopped); CPU seconds per GiB per role; every
// process's RSS idle and under load; small objects from concurrent clients; reads and uploads
// around a node frozen with SIGSTOP.
//
// `npm run bench -- e2e [64MiB] [400obj]`: the object size (default 1GiB) and the number of
// 4 KiB objects (default 2000); `npm run bench -- e2e 64MiB 300obj` takes under a minute.

import type { ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { createClient, type InsituClient } from '@insitu/sdk';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { devnetUp, type Devnet } from '@insitu/cli/devnet';
import type { BenchContext } from './index.ts';
import { startPlainServer } from '../src/plain-server.ts';
import { cpuSecondsOf, failureSummary, percentile, SMALL_WARM_UPLOADS, smallUploads } from '../src/bench-support.ts';

export const name = 'e2e';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const UNITS: Record<string, number> = { B: 1, KiB, MiB, GiB };

function arg<T>(re: RegExp, parse: (m: RegExpExecArray) => T, dflt: T): T {
  for (const a of process.argv.slice(2)) {
    const m = re.exec(a);
    if (m) return parse(m);
  }
  return dflt;
}


async function rssOf(pid: number): Promise<number> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * KiB : 0;
  } catch {
    return 0;
  }
}

interface Role { name: string; pid: number }

/** Samples every role's RSS while `fn` runs; returns the peaks and each role's CPU seconds. */
async function measure<T>(roles: Role[], fn: () => Promise<T>): Promise<{ value: T; ms: number; cpu: Map<string, number>; peak: Map<string, number> }> {
  const cpu0 = await Promise.all(roles.map((r) => (r.pid === process.pid ? process.cpuUsage() : cpuSecondsOf(r.pid))));
  const peak = new Map<string, number>(roles.map((r) => [r.name, 0]));
  const sample = async (): Promise<void> => {
    for (const r of roles) peak.set(r.name, Math.max(peak.get(r.name)!, r.pid === process.pid ? process.memoryUsage.rss() : await rssOf(r.pid)));
  };
  const timer = setInterval(() => void sample(), 100);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    await sample();
    const cpu1 = await Promise.all(roles.map((r) => (r.pid === process.pid ? process.cpuUsage(cpu0[roles.indexOf(r)] as NodeJS.CpuUsage) : cpuSecondsOf(r.pid))));
    const cpu = new Map(roles.map((r, i) => {
      const a = cpu0[i]!;
      const b = cpu1[i]!;
      return [r.name, typeof b === 'number' ? b - (a as number) : ((b.user + b.system) / 1e6)];
    }));
    return { value, ms, cpu, peak };
  } finally {
    clearInterval(timer);
  }
}

const mbps = (bytes: number, ms: number): number => Math.round(bytes / MiB / (ms / 1000));
const mib = (b: number): number => Math.round(b / MiB);


/**
 * Downloads read as `insitu get` does: each chunk is done with once the next is asked for, so the
 * read reuses its buffers (reuseBuffers; a download that keeps its chunks gets new memory for each).
 */
const asCli = { reuseBuffers: true } as const;

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

export async function run(ctx: BenchContext): Promise<void> {
  const size = arg(/^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)$/, (m) => Math.round(Number(m[1]) * UNITS[m[2]!]!), GiB);
  const smallCount = arg(/^(\d+)obj$/, (m) => Number(m[1]), 2000);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-bench-e2e-'));
  let devnet: Devnet | undefined;
  let plain: ChildProcess | undefined;
  const stopped: number[] = [];
  try {
    // The object, on disk (a file source: what `insitu put <file>` uploads).
    const file = join(dir, 'object.bin');
    {
      const fh = await open(file, 'w');
      const block = randomBytes(4 * MiB);
      for (let at = 0; at < size; at += block.length) await fh.write(block, 0, Math.min(block.length, size - at));
      await fh.close();
    }
    ctx.note(`object: ${mib(size)} MiB; small objects: ${smallCount} × 4 KiB`);

    // Baseline: the same file over plain HTTP to one Node server writing to disk.
    const server = await startPlainServer(dir);
    plain = server.child;
    const agent = new Agent({ keepAliveTimeout: 10_000 });
    const plainRoles = [{ name: 'client', pid: process.pid }, { name: 'server', pid: server.child.pid! }];
    const plainPut = await measure(plainRoles, async () => {
      const res = await request(`${server.url}/obj`, { method: 'PUT', body: createReadStream(file, { highWaterMark: 1 << 20 }), headers: { 'content-length': String(size) }, dispatcher: agent });
      await res.body.dump();
    });
    const plainGet = await measure(plainRoles, async () => {
      const res = await request(`${server.url}/obj`, { method: 'GET', dispatcher: agent });
      return drain(res.body);
    });
    plain.kill();
    plain = undefined;
    await agent.close();

    // A busy machine can take a while to load every process: start them with patience.
    devnet = await devnetUp({ dir: join(dir, 'devnet'), nodes: 7, startTimeoutMs: 300_000 });
    // Memory and CPU figures depend on it: tsx adds its loader thread and source maps to every process.
    ctx.note(`devnet processes ran ${devnet.programs.built ? 'the built JavaScript (dist/ matches the sources)' : `the TypeScript sources through tsx: ${devnet.programs.reason}`}`);
    const st = devnet.status();
    const nodePids = st.nodes.map((n) => n.pid!);
    const client = await createClient({ chain: { rpcUrl: devnet.file.rpcUrl, chainId: devnet.file.chainId }, account: { privateKey: devnet.file.account.privateKey } });
    await client.buckets.create('bench');
    await client.buckets.buyQuota('bench', BigInt(20 * size));
    const bucket = await client.buckets.head('bench');
    const primarySp = await client.chain.getStorageProvider(bucket.primarySpId);
    const primaryIdx = devnet.file.nodes.findIndex((n) => n.operatorAddress.toLowerCase() === primarySp.operatorAddress.toLowerCase());
    const roles: Role[] = [
      { name: 'client', pid: process.pid },
      { name: 'chain', pid: st.chain.pid! },
      ...nodePids.map((pid, i) => ({ name: i === primaryIdx ? `node-${i + 1} (primary)` : `node-${i + 1}`, pid })),
    ];
    const idle = new Map(await Promise.all(roles.map(async (r) => [r.name, r.pid === process.pid ? process.memoryUsage.rss() : await rssOf(r.pid)] as const)));

    // The client's memory against the object's size: the same upload and download of a quarter of
    // it first (RSS only grows), then of the whole.
    const quarterFile = join(dir, 'quarter.bin');
    {
      const src = await open(file, 'r');
      const dst = await open(quarterFile, 'w');
      const buf = new Uint8Array(4 * MiB);
      for (let at = 0; at < Math.ceil(size / 4);) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, Math.ceil(size / 4) - at), at);
        await dst.write(buf, 0, bytesRead);
        at += bytesRead;
      }
      await src.close();
      await dst.close();
    }
    const clientOnly = [{ name: 'client', pid: process.pid }];
    const upQuarter = await measure(clientOnly, () => client.objects.put('bench', 'quarter', quarterFile));
    const downQuarter = await measure(clientOnly, () => drain(client.objects.get('bench', 'quarter', asCli)));

    // The first byte out marks the end of what the client does alone (checksums, creating the object).
    let firstByte: number | undefined;
    const up = await measure(roles, () => client.objects.put('bench', 'big', file, { onProgress: () => void (firstByte ??= performance.now()) }));
    const upStart = performance.now() - up.ms;
    const down = await measure(roles, () => drain(client.objects.get('bench', 'big', asCli)));
    if (down.value !== size) throw new Error(`download returned ${down.value} of ${size} bytes`);
    const conc = await measure(roles, () => Promise.all(Array.from({ length: 10 }, () => drain(client.objects.get('bench', 'big', asCli)))));

    // Degraded: the primary stopped, the read rebuilt from the secondaries.
    await devnet.stopNode(primaryIdx);
    stopped.push(primaryIdx);
    const degRoles = roles.filter((r) => r.pid !== nodePids[primaryIdx]);
    const degraded = await measure(degRoles, () => drain(client.objects.get('bench', 'big', { ...asCli, onDegraded: () => {} })));
    await devnet.startNode(primaryIdx);
    stopped.pop();
    nodePids[primaryIdx] = devnet.status().nodes[primaryIdx]!.pid!;

    ctx.table(`Throughput, ${mib(size)} MiB object (MB/s = MiB/s)`, [
      { what: 'plain HTTP PUT to one Node server (baseline)', 'MiB/s': mbps(size, plainPut.ms), ms: Math.round(plainPut.ms), ratio: '1.00', goal: '' },
      { what: 'insitu put through the devnet', 'MiB/s': mbps(size, up.ms), ms: Math.round(up.ms), ratio: (plainPut.ms / up.ms).toFixed(2), goal: '>= 0.25' },
      { what: 'plain HTTP GET (baseline)', 'MiB/s': mbps(size, plainGet.ms), ms: Math.round(plainGet.ms), ratio: '1.00', goal: '' },
      { what: 'insitu get from the primary', 'MiB/s': mbps(size, down.ms), ms: Math.round(down.ms), ratio: (plainGet.ms / down.ms).toFixed(2), goal: '>= 0.5' },
      { what: 'insitu get, primary stopped (degraded)', 'MiB/s': mbps(size, degraded.ms), ms: Math.round(degraded.ms), ratio: (plainGet.ms / degraded.ms).toFixed(2), goal: '>= 0.35' },
      { what: '10 concurrent insitu gets', 'MiB/s': mbps(10 * size, conc.ms), ms: Math.round(conc.ms), ratio: '', goal: '' },
    ]);
    const perGiB = (m: Map<string, number>, r: string): string => ((m.get(r) ?? 0) / (size / GiB)).toFixed(2);
    ctx.table('CPU seconds per GiB, per role', [
      { role: 'plain client / server', upload: `${perGiB(plainPut.cpu, 'client')} / ${perGiB(plainPut.cpu, 'server')}`, download: `${perGiB(plainGet.cpu, 'client')} / ${perGiB(plainGet.cpu, 'server')}`, degraded: '' },
      ...roles.map((r) => ({ role: r.name, upload: perGiB(up.cpu, r.name), download: perGiB(down.cpu, r.name), degraded: degRoles.includes(r) ? perGiB(degraded.cpu, r.name) : 'stopped' })),
    ]);
    // Where the upload's time went: the primary's 'object sealed' log line has its own phases.
    const sealedLine = (await readFile(join(dir, 'devnet', 'logs', `node-${primaryIdx + 1}.log`), 'utf8').catch(() => ''))
      .split('\n').filter((l) => l.includes('"object sealed"') && l.includes('"object":"big"')).at(-1);
    const phases = sealedLine ? (JSON.parse(sealedLine) as Record<string, number>) : {};
    const alone = firstByte === undefined ? NaN : firstByte - upStart;
    const pct = (ms: number): string => (Number.isFinite(ms) ? `${Math.round((100 * ms) / up.ms)}%` : '?');
    const phaseRows = [
      { phase: 'client alone: checksums (two threads), object created on chain', ms: alone },
      { phase: 'primary: receiving, storing, encoding, streaming to secondaries', ms: phases.receiveMs ?? NaN },
      { phase: 'primary: waiting for the secondaries\' approvals', ms: phases.approvalsMs ?? NaN },
      { phase: 'primary: checking approvals, sealing on chain', ms: (phases.checkMs ?? NaN) + (phases.sealMs ?? NaN) },
    ];
    ctx.table(`Where the upload's ${Math.round(up.ms)} ms went`, phaseRows.map((r) => ({ phase: r.phase, ms: Number.isFinite(r.ms) ? Math.round(r.ms) : '?', share: pct(r.ms) })));
    ctx.table('Client RSS (MiB) against the object\'s size: peak during one upload and one download', [
      { size: `${mib(Math.ceil(size / 4))} MiB`, upload: mib(upQuarter.peak.get('client')!), download: mib(downQuarter.peak.get('client')!), goal: 'flat in size' },
      { size: `${mib(size)} MiB`, upload: mib(up.peak.get('client')!), download: mib(down.peak.get('client')!), goal: '' },
    ]);
    ctx.table('RSS (MiB): idle, peak during the upload, peak during 10 concurrent downloads', roles.map((r) => ({
      role: r.name, idle: mib(idle.get(r.name)!), upload: mib(up.peak.get(r.name)!), '10 downloads': mib(conc.peak.get(r.name)!), goal: r.name === 'client' ? 'flat in size' : '<= 200 / 350',
    })));

    // Small objects: 32 concurrent writers from 4 accounts, 4 KiB each.
    const accounts = [devnet.file.account.privateKey, ...Array.from({ length: 3 }, () => generatePrivateKey())];
    for (const key of accounts.slice(1)) await client.chain.transfer(privateKeyToAddress(key), 10n ** 20n);
    const clients: InsituClient[] = await Promise.all(accounts.map((k) => createClient({ chain: { rpcUrl: devnet!.file.rpcUrl, chainId: devnet!.file.chainId }, account: { privateKey: k } })));
    await Promise.all(clients.map((c, i) => c.buckets.create(`small-${i}`)));
    // Unmeasured first: the processes' code warms (SMALL_WARM_UPLOADS; a short run of fewer than 1000 warms with as many as it measures).
    await smallUploads({ clients, buckets: clients.map((_, i) => `small-${i}`), count: smallCount >= 1000 ? SMALL_WARM_UPLOADS : smallCount, writers: 32, size: 4 * KiB, nameOf: (i) => `w-${i}` });
    const small = await measure(roles, () => smallUploads({ clients, buckets: clients.map((_, i) => `small-${i}`), count: smallCount, writers: 32, size: 4 * KiB, nameOf: (i) => `o-${i}` }));
    const { latencies: lat, failures } = small.value;
    ctx.table('4 KiB uploads, 32 concurrent clients from 4 accounts, embedded chain', [{
      'objects/s': Math.round(lat.length / (small.ms / 1000)), failed: failureSummary(failures), 'p50 ms': Math.round(percentile(lat, 50)), 'p99 ms': Math.round(percentile(lat, 99)),
      goal: '>= 200/s, p50 <= 150, p99 <= 1000', 'chain CPU s': small.cpu.get('chain')!.toFixed(1), 'client CPU s': small.cpu.get('client')!.toFixed(1),
    }]);

    // A node frozen (SIGSTOP: connections stay open, nothing answers).
    const some = randomBytes(8 * MiB);
    await client.objects.put('bench', 'frozen-test', some);
    process.kill(nodePids[primaryIdx]!, 'SIGSTOP');
    stopped.push(primaryIdx);
    const frozenRead = await measure([], () => drain(client.objects.get('bench', 'frozen-test', { onDegraded: () => {} })));
    process.kill(nodePids[primaryIdx]!, 'SIGCONT');
    stopped.pop();
    const secondary = primaryIdx === 0 ? 1 : 0;
    process.kill(nodePids[secondary]!, 'SIGSTOP');
    stopped.push(secondary);
    const t0 = performance.now();
    const failed = await client.objects.put('bench', 'frozen-upload', randomBytes(8 * MiB)).then(() => 'sealed (the frozen node is not in the group)', (e: { code?: string }) => e.code ?? String(e));
    const frozenUploadMs = performance.now() - t0;
    process.kill(nodePids[secondary]!, 'SIGCONT');
    stopped.pop();
    ctx.table('A node frozen with SIGSTOP', [
      { what: 'read of 8 MiB, primary frozen', ms: Math.round(frozenRead.ms), outcome: 'read from the secondaries', goal: '~2 s' },
      { what: 'upload of 8 MiB, a secondary frozen', ms: Math.round(frozenUploadMs), outcome: failed, goal: '~2 s, ERR_REPLICATION_FAILED' },
    ]);
  } finally {
    for (const i of stopped) {
      const pid = devnet?.status().nodes[i]?.pid;
      if (pid) process.kill(pid, 'SIGCONT');
    }
    plain?.kill();
    await devnet?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
