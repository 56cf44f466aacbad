// The storage nodes and clients of a test network, whichever chain it runs (the embedded one in
// ./testnet.ts, CometBFT validators in ./replicated-testnet.ts): real nodes in this process, each
// in its own data directory, that a test can stop and start again.

import { join } from 'node:path';
import { createStorageNode, type StorageNode, type RecoveryOptions } from '@insitu/storage-node';
import { createClient, type InsituClient } from '@insitu/sdk';
import type { DevnetPlan } from '@insitu/cli/devnet';

export interface TestNodes {
  nodes: (StorageNode | null)[];
  /** An SDK client signing as accounts[i] (default 0). */
  client(i?: number): Promise<InsituClient>;
  stopNode(i: number): Promise<void>;
  /** Starts node i; `port` makes it listen elsewhere than its registered endpoint (a proxy in front). */
  startNode(i: number, opts?: { port?: number }): Promise<void>;
}

export function testNodes(o: { dir: string; plan: DevnetPlan; rpcUrl: string; stallMs?: number; recovery?: RecoveryOptions }): TestNodes {
  const { dir, plan, rpcUrl } = o;
  const nodes: (StorageNode | null)[] = plan.nodes.map(() => null);
  return {
    nodes,
    async client(i = 0) {
      const account = plan.accounts[i];
      if (!account) throw new RangeError(`no account ${i}; the testnet has ${plan.accounts.length}`);
      // The client shares this process's event loop with the chain and the nodes, as the nodes do: their 10 s, not 2 s.
      return createClient({ chain: { rpcUrl, chainId: plan.chainId }, account: { privateKey: account.privateKey }, stallMs: o.stallMs ?? 10_000 });
    },
    async stopNode(i) {
      await nodes[i]?.stop();
      nodes[i] = null;
    },
    async startNode(i, opts) {
      if (nodes[i]) return;
      const n = plan.nodes[i]!;
      // 10 s stall deadline, not the nodes' 2 s: the chain's clients, the nodes and the test share one event loop here.
      const node = createStorageNode({ dataDir: join(dir, `node-${i + 1}`), rpcUrl, chainId: plan.chainId, operatorKey: n.operatorKey, blsKey: n.blsKey,
        port: opts?.port ?? n.port, jobWorkers: 1, stallMs: o.stallMs ?? 10_000,
        recovery: { scrubIntervalMs: 0, probeIntervalMs: 0, swapIntervalMs: 0, ...o.recovery } });
      await node.start();
      nodes[i] = node;
    },
  };
}
