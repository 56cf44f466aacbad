// A replicated test network: N CometBFT validators on 127.0.0.1 (each an app process, a CometBFT
// process and its own data directory) and real storage nodes in this process that, like the SDK
// clients, know every validator's RPC and fail over between them. The replicated counterpart of
// ./testnet.ts, for the tests that run against both chain modes.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalNetwork, type LocalNetwork } from '@insitu/chain/network';
import { evmChainId } from '@insitu/chain/genesis';
import type { StorageNode } from '@insitu/storage-node';
import type { InsituClient } from '@insitu/sdk';
import { jsonRpc } from '@insitu/sdk/chain';
import { freePort, planDevnet, type DevnetPlan } from '@insitu/cli/devnet';
import { waitFor } from './wait.ts';
import { testNodes } from './test-nodes.ts';

export interface ReplicatedTestnet {
  dir: string;
  plan: DevnetPlan;
  network: LocalNetwork;
  /** Every validator's CometBFT RPC, in validator order. */
  rpcUrls: string[];
  /** The same, comma-separated: what the SDK, the CLI and the nodes take to fail over. */
  rpcUrl: string;
  chainId: string;
  /** The EIP-155 chain id greenfield-js-sdk signs with. */
  evmChainId: string;
  nodes: (StorageNode | null)[];
  accounts: DevnetPlan['accounts'];
  /** An SDK client signing as accounts[i] (default 0), knowing every validator. */
  client(i?: number): Promise<InsituClient>;
  stopNode(i: number): Promise<void>;
  startNode(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicatedTestnetOptions {
  /** The cometbft binary (findCometbft()). */
  binary: string;
  validators?: number;
  nodes?: number;
  accounts?: number;
  /** The chain's random storage challenges: off unless asked for, as in ./testnet.ts. */
  randomChallenges?: boolean;
  /** The nodes' replication stall deadline; 10 s, since the nodes and the test share one event loop. */
  stallMs?: number;
}

const height = async (url: string): Promise<bigint> => BigInt((await jsonRpc<{ sync_info: { latest_block_height: string } }>(url, 'status', {})).sync_info.latest_block_height);

export async function createReplicatedTestnet(opts: ReplicatedTestnetOptions): Promise<ReplicatedTestnet> {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-replicated-'));
  const plan = await planDevnet({ nodes: opts.nodes ?? 7, accounts: opts.accounts ?? 2 });
  if (!opts.randomChallenges) plan.genesis.accountability = { ...plan.genesis.accountability, challengeIntervalMs: 0 };
  const network = await createLocalNetwork({ dir: join(dir, 'chain'), genesis: plan.genesis, validators: opts.validators ?? 4, binary: opts.binary, port: freePort });
  const rpcUrl = network.rpcUrls.join(',');
  const parts = testNodes({ dir, plan, rpcUrl, ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}) });
  const { nodes } = parts;
  const net: ReplicatedTestnet = {
    dir,
    plan,
    network,
    rpcUrls: network.rpcUrls,
    rpcUrl,
    chainId: plan.chainId,
    evmChainId: String(evmChainId(plan.chainId)),
    nodes,
    accounts: plan.accounts,
    client: parts.client,
    stopNode: parts.stopNode,
    startNode: (i) => parts.startNode(i),
    async stop() {
      await Promise.all(nodes.map((_, i) => net.stopNode(i).catch(() => undefined)));
      // Its data goes with it: no need to wait for a graceful shutdown.
      await Promise.all(network.validators.map((v) => network.stopValidator(v.index, { kill: true })));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await network.start();
    // Every validator has made the first block: the genesis is in force everywhere.
    await Promise.all(network.rpcUrls.map((url) => waitFor(`${url} at height 1`, async () => (await height(url)) >= 1n, 90_000, 150)));
    await Promise.all(plan.nodes.map((_, i) => net.startNode(i)));
  } catch (e) {
    await net.stop();
    throw e;
  }
  return net;
}
