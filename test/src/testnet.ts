// An in-process test network: a real chain (LevelDB in a temp dir, JSON-RPC on 127.0.0.1) and
// real storage nodes (HTTP on 127.0.0.1, files + LevelDB), with funded accounts.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChain, type Chain } from '@insitu/chain';
import type { StorageNode } from '@insitu/storage-node';
import type { RecoveryOptions } from '@insitu/storage-node';
import type { InsituClient } from '@insitu/sdk';
import { freePort, planDevnet, type DevnetPlan } from '@insitu/cli/devnet';
import { testNodes } from './test-nodes.ts';

export interface Testnet {
  dir: string;
  plan: DevnetPlan;
  chain: Chain;
  rpcUrl: string;
  chainId: string;
  nodes: (StorageNode | null)[];
  accounts: DevnetPlan['accounts'];
  /** An SDK client signing as accounts[i] (default 0). */
  client(i?: number): Promise<InsituClient>;
  stopNode(i: number): Promise<void>;
  /** Starts node i; `port` makes it listen elsewhere than its registered endpoint (a proxy in front). */
  startNode(i: number, opts?: { port?: number }): Promise<void>;
  restartChain(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestnetOptions {
  nodes?: number;
  accounts?: number;
  /** Where the chain and nodes keep their data; kept on stop(). Default: a temp dir, removed on stop(). */
  dir?: string;
  /** Bytes each bucket may read per month for free (the providers' free read quota; default 1 GiB). */
  freeReadQuota?: bigint;
  /** The nodes' scrubbing, probing and swap-ins: off unless asked for (tests drive them). */
  recovery?: RecoveryOptions;
  /**
   * The chain's random storage challenges (one per 10 minutes of chain time): off unless asked
   * for, so that moving the clock does not make providers attest (and pay fees) behind a test's
   * back; requested challenges always work.
   */
  randomChallenges?: boolean;
  /**
   * The nodes' replication stall deadline (default here 10 s, not the nodes' 2 s: the chain, the
   * nodes and the test share one event loop in this process, so a live node can be slow to answer).
   */
  stallMs?: number;
}

export async function createTestnet(opts: TestnetOptions = {}): Promise<Testnet> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'insitu-testnet-')));
  if (!ownDir) await mkdir(dir, { recursive: true });
  const plan = await planDevnet({ nodes: opts.nodes ?? 7, accounts: opts.accounts ?? 3, ...(opts.freeReadQuota !== undefined ? { freeReadQuota: opts.freeReadQuota } : {}) });
  if (!opts.randomChallenges) plan.genesis.accountability = { ...plan.genesis.accountability, challengeIntervalMs: 0 };
  let chain = createChain({ dataDir: join(dir, 'chain'), genesis: plan.genesis, port: await freePort(), devClock: true });
  await chain.start();
  const rpcUrl = chain.rpcUrl;
  const parts = testNodes({ dir, plan, rpcUrl, ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}), ...(opts.recovery ? { recovery: opts.recovery } : {}) });
  const { nodes } = parts;
  const net: Testnet = {
    dir,
    plan,
    get chain() {
      return chain;
    },
    rpcUrl,
    chainId: plan.chainId,
    nodes,
    accounts: plan.accounts,
    client: parts.client,
    stopNode: parts.stopNode,
    startNode: parts.startNode,
    async restartChain() {
      await chain.stop();
      for (let attempt = 0; ; attempt++) {
        chain = createChain({ dataDir: join(dir, 'chain'), genesis: plan.genesis, port: Number(new URL(rpcUrl).port), devClock: true });
        try {
          await chain.start();
          return;
        } catch (e) {
          await chain.stop().catch(() => undefined);
          // While the chain was down another process may have taken its port for a moment (a
          // free-port probe or a server of a test file running beside this one): wait for it.
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 200) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop() {
      await Promise.all(nodes.map((_, i) => net.stopNode(i)));
      await chain.stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(plan.nodes.map((_, i) => net.startNode(i)));
  } catch (e) {
    await net.stop();
    throw e;
  }
  return net;
}
