// Chain throughput, in one run: transactions per second and commit latency (broadcast to
// inclusion, p50/p95) for the embedded chain — one block per transaction as it used to run, and
// blocks of many — and for 4 CometBFT validators; then small-object uploads per second with 32
// concurrent uploads from 4 accounts on 7 storage nodes in both modes, as ratios against the
// embedded chain's earlier figure (about 9 uploads/s of 1 KiB with 8 concurrent clients).
// The replicated rows need CometBFT (node scripts/install-cometbft.mjs); without it they say so.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createChain } from '@insitu/chain';
import { createLocalNetwork } from '@insitu/chain/network';
import { findCometbft } from '@insitu/chain/network';
import { evmChainId } from '@insitu/chain/genesis';
import { jsonRpc } from '@insitu/sdk/chain';
import { createClient } from '@insitu/sdk';
import { createChainReader } from '@insitu/sdk/chain';
import { createStorageNode, type StorageNode } from '@insitu/storage-node';
import { freePort, planDevnet } from '@insitu/cli/devnet';
// Test keys and the signing helper from the chain's testing entry, which does not load ava.
import type { TestKey } from '@insitu/chain/testing';
import { signTx } from '@insitu/chain/testing';
import type { BenchContext } from './index.ts';
import { percentile } from '../src/bench-support.ts';

export const name = 'chain';

/** Small-object uploads per second before blocks of many transactions (1 KiB, 8 clients). */
const BASELINE_UPLOADS_PER_S = 9;

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pre-signed transfers, `perAccount` from each account in sequence order. */
async function presign(url: string, chainId: string, accounts: TestKey[], perAccount: number): Promise<Uint8Array[][]> {
  const evm = String(evmChainId(chainId));
  const out: Uint8Array[][] = [];
  for (const [i, a] of accounts.entries()) {
    const acct = await accountOf(url, chainId, a);
    const to = accounts[(i + 1) % accounts.length]!.address;
    out.push(Array.from({ length: perAccount }, (_, k) => signTx(a, [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: a.address, toAddress: to, amount: [{ denom: 'BNB', amount: '1' }] } }],
      { accountNumber: acct.accountNumber, sequence: acct.nonce + BigInt(k), evmChainId: evm })));
  }
  return out;
}

async function broadcast(url: string, tx: Uint8Array): Promise<string> {
  const r = await jsonRpc<Rec>(url, 'broadcast_tx_sync', { tx: Buffer.from(tx).toString('base64') });
  if (r.code !== 0) throw new Error(`broadcast refused: ${r.log}`);
  return Buffer.from(String(r.hash), 'hex').toString('base64');
}

async function included(url: string, hash: string): Promise<void> {
  while (!(await jsonRpc<Rec>(url, 'tx', { hash }).catch(() => undefined))) await sleep(5);
}

/**
 * Throughput: every account broadcasts all its transfers at once (in sequence order), then
 * waits for the last. Commit latency: each account sends one transfer at a time and waits for
 * it (broadcast to inclusion), all accounts at once.
 */
async function txRun(rpcUrls: string[], chainId: string, accounts: TestKey[], burst: number, serial: number): Promise<{ txs: number; seconds: number; latencies: number[] }> {
  const bursts = await presign(rpcUrls[0]!, chainId, accounts, burst);
  const t0 = performance.now();
  await Promise.all(bursts.map(async (txs, i) => {
    const url = rpcUrls[i % rpcUrls.length]!;
    let last = '';
    for (const tx of txs) last = await broadcast(url, tx);
    await included(url, last);
  }));
  const seconds = (performance.now() - t0) / 1000;
  const singles = await presign(rpcUrls[0]!, chainId, accounts, serial);
  const latencies: number[] = [];
  await Promise.all(singles.map(async (txs, i) => {
    const url = rpcUrls[i % rpcUrls.length]!;
    for (const tx of txs) {
      const at = performance.now();
      await included(url, await broadcast(url, tx));
      latencies.push(performance.now() - at);
    }
  }));
  return { txs: accounts.length * burst, seconds, latencies };
}

async function accountOf(url: string, chainId: string, a: TestKey): Promise<{ accountNumber: bigint; nonce: bigint }> {
  const acct = await (await createChainReader({ rpcUrl: url, chainId })).getAccount(a.address);
  return { accountNumber: acct.accountNumber, nonce: acct.nonce };
}

/** `concurrency` uploads at a time of 1 KiB objects, from the accounts in turn. */
async function uploadRun(rpcUrl: string, chainId: string, keys: string[], total: number, concurrency: number): Promise<number> {
  const clients = await Promise.all(keys.map((k) => createClient({ chain: { rpcUrl, chainId }, account: { privateKey: k } })));
  await Promise.all(clients.map((c, i) => c.buckets.create(`bench-${i}-${Date.now() % 100000}`).then(() => undefined)));
  const buckets = await Promise.all(clients.map(async (c) => (await c.buckets.list())[0]!.name));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    const k = w % clients.length;
    for (;;) {
      const n = next++;
      if (n >= total) return;
      await clients[k]!.objects.put(buckets[k]!, `o-${n}`, randomBytes(1024));
    }
  }));
  return total / ((performance.now() - t0) / 1000);
}

/** 7 storage nodes on `rpcUrl` for the plan's providers; returns a stop function. */
async function startNodes(dir: string, plan: Awaited<ReturnType<typeof planDevnet>>, rpcUrl: string): Promise<() => Promise<void>> {
  const nodes: StorageNode[] = [];
  for (const [i, n] of plan.nodes.entries()) {
    // The chain, the nodes and the clients share this process's event loop: live nodes can be slow to answer.
    const node = createStorageNode({ dataDir: join(dir, `node-${i + 1}`), rpcUrl, chainId: plan.chainId, operatorKey: n.operatorKey, blsKey: n.blsKey, port: n.port, jobWorkers: 1, stallMs: 10_000,
      recovery: { scrubIntervalMs: 0, probeIntervalMs: 0, swapIntervalMs: 0 } });
    await node.start();
    nodes.push(node);
  }
  return async () => {
    for (const n of nodes) await n.stop();
  };
}

async function waitForBlocks(rpcUrl: string, height: number): Promise<void> {
  while (!(await jsonRpc<Rec>(rpcUrl, 'status', {}).then((s) => Number(s.sync_info.latest_block_height) >= height, () => false))) await sleep(100);
}

type ChainMode = { name: string; embedded?: { blockIntervalMs?: number; maxBlockTxs?: number }; validators?: number };

/** Runs `fn` against a fresh chain of the given mode (and 7 nodes when `withNodes`). */
async function onChain<T>(mode: ChainMode, opts: { accounts: number; withNodes: boolean }, fn: (rpcUrls: string[], plan: Awaited<ReturnType<typeof planDevnet>>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-bench-chain-'));
  const plan = await planDevnet({ nodes: 7, accounts: opts.accounts });
  const stops: (() => Promise<void>)[] = [];
  try {
    let rpcUrls: string[];
    if (mode.validators) {
      const net = await createLocalNetwork({ dir: join(dir, 'chain'), genesis: plan.genesis, validators: mode.validators, binary: findCometbft()!, port: freePort });
      stops.push(() => net.stop());
      await net.start();
      rpcUrls = net.rpcUrls;
    } else {
      const chain = createChain({ dataDir: join(dir, 'chain'), genesis: plan.genesis, port: await freePort(), ...mode.embedded });
      stops.push(() => chain.stop());
      await chain.start();
      rpcUrls = [chain.rpcUrl];
    }
    // Validators: a block committed after genesis, so queries carry a height.
    await waitForBlocks(rpcUrls[0]!, mode.validators ? 2 : 1);
    if (opts.withNodes) stops.unshift(await startNodes(dir, plan, rpcUrls.join(',')));
    return await fn(rpcUrls, plan);
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const cometbft = findCometbft();
  const modes: ChainMode[] = [
    { name: 'embedded, one tx per block (as before)', embedded: { blockIntervalMs: 0, maxBlockTxs: 1 } },
    { name: 'embedded, blocks of many (10 ms)', embedded: {} },
    ...(cometbft ? [{ name: '4 CometBFT validators', validators: 4 }] : []),
  ];
  const rows: Record<string, string | number>[] = [];
  for (const mode of modes) {
    try {
      const r = await onChain(mode, { accounts: 8, withNodes: false }, (urls, plan) => {
        const keys = plan.accounts.map((a) => ({ address: a.address, privateKey: a.privateKey }));
        return txRun(urls, plan.chainId, keys, mode.embedded?.maxBlockTxs === 1 ? 10 : 40, 8);
      });
      rows.push({ mode: mode.name, txs: r.txs, 'tx/s': (r.txs / r.seconds).toFixed(1), 'commit p50 ms': percentile(r.latencies, 50).toFixed(0), 'commit p95 ms': percentile(r.latencies, 95).toFixed(0) });
    } catch (e) {
      rows.push({ mode: mode.name, txs: 'failed', 'tx/s': String((e as Error).message).slice(0, 60) });
      process.stderr.write(`${mode.name}: ${(e as Error).stack ?? String(e)}\n`);
    }
  }
  ctx.table('chain transactions: tx/s with 8 accounts each sending all at once; commit latency (broadcast to inclusion) with 8 accounts each sending one at a time', rows);
  if (!cometbft) ctx.note('4 CometBFT validators: not measured, CometBFT is not installed (node scripts/install-cometbft.mjs, needs Go)');

  const uploads: Record<string, string | number>[] = [];
  let before = 0;
  const total = 160;
  for (const [mode, clients] of [[modes[0]!, 8], [modes[1]!, 32], ...(modes[2] ? [[modes[2], 32]] : [])] as [ChainMode, number][]) {
    try {
      const perS = await onChain(mode, { accounts: 4, withNodes: true }, (urls, plan) => uploadRun(urls.join(','), plan.chainId, plan.accounts.map((a) => a.privateKey), clients === 8 ? 80 : total, clients));
      if (before === 0) before = perS;
      uploads.push({ mode: `${mode.name}, ${clients} at a time`, 'uploads/s': perS.toFixed(1), 'vs one tx per block': `${(perS / before).toFixed(1)}×`, [`vs ${BASELINE_UPLOADS_PER_S}/s measured before`]: `${(perS / BASELINE_UPLOADS_PER_S).toFixed(1)}×` });
    } catch (e) {
      uploads.push({ mode: `${mode.name}, ${clients} at a time`, 'uploads/s': `failed: ${String((e as Error).message).slice(0, 60)}` });
      process.stderr.write(`${mode.name}: ${(e as Error).stack ?? String(e)}\n`);
    }
  }
  ctx.table('small-object uploads (1 KiB, from 4 accounts, 7 nodes)', uploads);
}
