// An in-process test network: a real chain (LevelDB in a temp dir, JSON-RPC on 127.0.0.1) and
// real storage nodes (HTTP on 127.0.0.1, files + LevelDB), with funded accounts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChain, type Chain } from '@insitu/chain';
import { createStorageNode, type StorageNode } from '@insitu/storage-node';
import { planDevnet, type DevnetPlan } from '@insitu/cli/devnet/plan.ts';

export interface Testnet {
  dir: string;
  plan: DevnetPlan;
  chain: Chain;
  rpcUrl: string;
  chainId: string;
  nodes: (StorageNode | null)[];
  accounts: DevnetPlan['accounts'];
  stopNode(i: number): Promise<void>;
  startNode(i: number): Promise<void>;
  restartChain(): Promise<void>;
  stop(): Promise<void>;
}

export async function createTestnet(opts: { nodes?: number; accounts?: number } = {}): Promise<Testnet> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-testnet-'));
  const plan = await planDevnet({ nodes: opts.nodes ?? 7, accounts: opts.accounts ?? 3 });
  let chain = createChain({ dataDir: join(dir, 'chain'), genesis: plan.genesis });
  await chain.start();
  const rpcUrl = chain.rpcUrl;
  const makeNode = (i: number): StorageNode => {
    const n = plan.nodes[i]!;
    return createStorageNode({ dataDir: join(dir, `node-${i + 1}`), rpcUrl, chainId: plan.chainId, operatorKey: n.operatorKey, blsKey: n.blsKey, port: n.port, jobWorkers: 1 });
  };
  const nodes: (StorageNode | null)[] = plan.nodes.map(() => null);
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
    async stopNode(i) {
      await nodes[i]?.stop();
      nodes[i] = null;
    },
    async startNode(i) {
      if (nodes[i]) return;
      const node = makeNode(i);
      await node.start();
      nodes[i] = node;
    },
    async restartChain() {
      await chain.stop();
      chain = createChain({ dataDir: join(dir, 'chain'), genesis: plan.genesis, port: Number(new URL(rpcUrl).port) });
      await chain.start();
    },
    async stop() {
      await Promise.all(nodes.map((_, i) => net.stopNode(i)));
      await chain.stop();
      await rm(dir, { recursive: true, force: true });
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
