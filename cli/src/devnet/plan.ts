// Planning a devnet: keys for every storage provider (operator and BLS), free ports on
// 127.0.0.1, funded accounts and the genesis that registers it all. Used by `insitu devnet up`
// and by the in-process test network.

import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { generatePrivateKey, privateKeyToAddress, toHex, type Hex } from '@insitu/protocol';
import { generateBlsKey, blsPublicKey } from '@insitu/protocol';
import { createDevnetGenesis, DEFAULT_CHAIN_ID, type Genesis } from '@insitu/chain/genesis';

export interface PlannedNode {
  index: number;
  operatorKey: Hex;
  operatorAddress: Hex;
  blsKey: Hex;
  port: number;
  endpoint: string;
}

export interface PlannedAccount {
  address: Hex;
  privateKey: Hex;
}

export interface DevnetPlan {
  chainId: string;
  genesis: Genesis;
  nodes: PlannedNode[];
  accounts: PlannedAccount[];
}

/** 1000 BNB in base units for every funded account. */
export const DEVNET_BALANCE = 10n ** 21n;

/**
 * A port that is free now, picked below the kernel's ephemeral range: ports from `listen(0)`
 * come from that range, where any outgoing connection on the machine may take one between
 * planning a node and the node listening on it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const top = Math.max(low, 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (top - 10_000));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a && b && a > 10_000) return [a, b];
  } catch {
    // not Linux: fall back to the IANA dynamic range
  }
  return [49152, 65535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function planDevnet(opts: {
  nodes?: number; accounts?: number; chainId?: string; storePrice?: bigint; readPrice?: bigint; computePrice?: bigint; freeReadQuota?: bigint;
  /** The address node i (0-based) listens on and is registered at (default: node-<i+1>.localhost, i.e. 127.0.0.1). */
  nodeHost?: (index: number) => string;
} = {}): Promise<DevnetPlan> {
  const count = opts.nodes ?? 7;
  const nodes: PlannedNode[] = [];
  for (let i = 0; i < count; i++) {
    const operatorKey = generatePrivateKey();
    const port = await freePort();
    nodes.push({
      index: i,
      operatorKey,
      operatorAddress: privateKeyToAddress(operatorKey),
      blsKey: toHex(generateBlsKey()),
      port,
      // A dotted host name: greenfield-js-sdk requires one, and addresses buckets as {bucket}.{host}.
      endpoint: opts.nodeHost ? `http://${opts.nodeHost(i)}:${port}` : `http://node-${i + 1}.localhost:${port}`,
    });
  }
  const accounts = Array.from({ length: opts.accounts ?? 2 }, () => {
    const privateKey = generatePrivateKey();
    return { privateKey, address: privateKeyToAddress(privateKey) };
  });
  const genesis = createDevnetGenesis({
    chainId: opts.chainId ?? DEFAULT_CHAIN_ID,
    accounts: [...accounts.map((a) => ({ address: a.address, balance: DEVNET_BALANCE })), ...nodes.map((n) => ({ address: n.operatorAddress, balance: DEVNET_BALANCE }))],
    providers: nodes.map((n) => ({
      operatorAddress: n.operatorAddress, fundingAddress: n.operatorAddress, sealAddress: n.operatorAddress,
      approvalAddress: n.operatorAddress, gcAddress: n.operatorAddress,
      blsKey: toHex(blsPublicKey(Buffer.from(n.blsKey.slice(2), 'hex'))),
      endpoint: n.endpoint, moniker: `node-${n.index + 1}`,
      storePrice: String(opts.storePrice ?? 10n), readPrice: String(opts.readPrice ?? 1n), computePrice: String(opts.computePrice ?? 1000n),
      ...(opts.freeReadQuota !== undefined ? { freeReadQuota: String(opts.freeReadQuota) } : {}),
    })),
    // A devnet's clock may be moved by the accounts it hands out (insitu devnet advance).
    devClockAuthorities: accounts.map((a) => a.address),
  });
  return { chainId: genesis.chainId, genesis, nodes, accounts };
}
