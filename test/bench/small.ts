// Small-object uploads through a devnet of child processes (the chain and 7 storage nodes, as
// `insitu devnet up` runs them): 4 KiB objects from 32 concurrent clients of 4 accounts, and the
// earlier measurement's shape (1 KiB, 8 clients of one account), with uploads per second, upload
// latency p50/p99 and each role's CPU seconds (in all and per upload), beside the figure measured before pipelined
// transactions and batched seals (about 9 uploads/s of 1 KiB with 8 clients).
//
// `npm run bench -- small [1000obj] [validators]`: the number of objects per run (default 1000;
// the 1 KiB row uploads half as many);
// `validators` runs the same against 4 CometBFT validators (needs node scripts/install-cometbft.mjs).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type InsituClient } from '@insitu/sdk';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { devnetUp, type Devnet } from '@insitu/cli/devnet';
import { findCometbft } from '@insitu/chain/network';
import type { BenchContext } from './index.ts';
import { cpuSecondsOf, failureSummary, percentile, SMALL_WARM_UPLOADS, smallUploads } from '../src/bench-support.ts';

export const name = 'small';

/** Uploads per second of 1 KiB objects with 8 concurrent clients, measured before. */
const BASELINE_PER_S = 9;

/** Warm-up uploads through CometBFT, whose blocks take a second (SMALL_WARM_UPLOADS on the embedded chain). */
const WARM_UPLOADS_VALIDATORS = 300;



interface Run { perS: number; p50: number; p99: number; failed: string; cpu: Record<string, number>; done: number }

async function uploads(clients: InsituClient[], buckets: string[], count: number, concurrency: number, size: number, prefix: string, roles: Record<string, number[]>): Promise<Run> {
  const cpu0 = Object.fromEntries(await Promise.all(Object.entries(roles).map(async ([r, pids]) => [r, (await Promise.all(pids.map(cpuSecondsOf))).reduce((a, b) => a + b, 0)] as const)));
  const t0 = performance.now();
  const { latencies: lat, failures } = await smallUploads({ clients, buckets, count, writers: concurrency, size, nameOf: (i) => `${prefix}-${i}` });
  const seconds = (performance.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  for (const [r, pids] of Object.entries(roles)) cpu[r] = (await Promise.all(pids.map(cpuSecondsOf))).reduce((a, b) => a + b, 0) - cpu0[r]!;
  return {
    perS: lat.length / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99),
    failed: failureSummary(failures), cpu, done: lat.length,
  };
}

async function onDevnet(ctx: BenchContext, label: string, validators: number, count: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-bench-small-'));
  let devnet: Devnet | undefined;
  try {
    // A busy machine starts eight tsx processes slowly.
    devnet = await devnetUp({ dir: join(dir, 'devnet'), nodes: 7, startTimeoutMs: 180_000, ...(validators ? { validators } : {}) });
    const { rpcUrl, chainId, account } = devnet.file;
    const st = devnet.status();
    const roles: Record<string, number[]> = {
      client: [process.pid],
      chain: validators ? [] : [st.chain.pid!],
      'nodes (7)': st.nodes.map((n) => n.pid!),
    };
    const first = await createClient({ chain: { rpcUrl, chainId }, account: { privateKey: account.privateKey } });
    const keys = [account.privateKey, ...Array.from({ length: 3 }, () => generatePrivateKey())];
    for (const k of keys.slice(1)) await first.chain.transfer(privateKeyToAddress(k), 10n ** 20n);
    const clients = await Promise.all(keys.map((k) => createClient({ chain: { rpcUrl, chainId }, account: { privateKey: k } })));
    const buckets = keys.map((_, i) => `small-${i}`);
    await Promise.all(clients.map((c, i) => c.buckets.create(buckets[i]!)));

    const rows: Record<string, string | number>[] = [];
    const row = (what: string, r: Run, goal: string): void => {
      rows.push({
        what, 'uploads/s': r.perS.toFixed(1), [`vs ${BASELINE_PER_S}/s before`]: `${(r.perS / BASELINE_PER_S).toFixed(1)}×`, 'p50 ms': Math.round(r.p50), 'p99 ms': Math.round(r.p99),
        failed: r.failed, 'CPU s client/chain/nodes': `${r.cpu.client!.toFixed(1)}/${(r.cpu.chain ?? 0).toFixed(1)}/${r.cpu['nodes (7)']!.toFixed(1)}`,
        // Per upload: on a machine shared with other work, steadier than the rate.
        'CPU ms/upload client/chain/nodes': ['client', 'chain', 'nodes (7)'].map((k) => Math.round(((r.cpu[k] ?? 0) * 1000) / Math.max(1, r.done))).join('/'), goal,
      });
    };
    // Unmeasured: the processes' first uploads compile their code paths (SMALL_WARM_UPLOADS).
    await uploads(clients, buckets, validators ? WARM_UPLOADS_VALIDATORS : SMALL_WARM_UPLOADS, 32, 4096, 'warm', roles);
    row('1 KiB, 8 clients, 1 account', await uploads([clients[0]!], [buckets[0]!], Math.max(40, Math.round(count / 2)), 8, 1024, 'a', roles), '>= 45/s (5×)');
    row('4 KiB, 32 clients, 4 accounts', await uploads(clients, buckets, count, 32, 4096, 'b', roles), '>= 200/s, p50 <= 150, p99 <= 1000');
    ctx.table(`small-object uploads, ${label}, 7 nodes as child processes`, rows);
  } finally {
    await devnet?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const args = process.argv.slice(2);
  const count = Number(/^(\d+)obj$/.exec(args.find((a) => /^\d+obj$/.test(a)) ?? '')?.[1] ?? 1000);
  await onDevnet(ctx, 'embedded chain', 0, count);
  if (args.includes('validators')) {
    if (findCometbft()) await onDevnet(ctx, '4 CometBFT validators', 4, count);
    else ctx.note('4 CometBFT validators: not measured, CometBFT is not installed (node scripts/install-cometbft.mjs, needs Go)');
  }
}
