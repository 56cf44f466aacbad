// A simulated network on this machine: every host (chain, each node, the client) in a network
// namespace of its own with one veth into a bridge (itself in a namespace of its own, so nothing
// of it touches the machine's own network and two runs never collide), an address on 10.77.0.0/24,
// a one-way delay on everything a host sends and a rate limit on its link in both directions.
//
// The delay is tc netem's where the kernel has it. Kernels without netem (this one has only tbf,
// htb and fifo) get the same from netns-delay.py: a policy rule routes what a host sends into a
// tun device, the script holds each packet for the delay and sends it on through the veth. The
// rate is a tbf on both ends of each veth. Links then use a 65000-byte MTU, so the script handles
// about 2,000 packets per second per Gbit/s instead of 80,000, and it runs at real-time priority so
// a busy machine does not stretch the delay.
//
// Namespaces are named insitu-sim-<pid>-<host>: removeLeftovers() deletes those of runs whose
// process is gone (a crash, a SIGKILL), with what still runs in them.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuSecondsOf } from './bench-support.ts';

const run = promisify(execFile);
const PREFIX = 'insitu-sim-';
const SUBNET = '10.77.0';
const DELAY_SCRIPT = fileURLToPath(new URL('./netns-delay.py', import.meta.url));

export interface SimulatedNetwork {
  hosts: string[];
  /** One-way delay added to everything a host sends (a round trip between two hosts is twice it). */
  delayMs: number;
  /** Each host's link rate, in Mbit/s, each way. */
  rateMbit: number;
  /** How the delay is made: the kernel's netem, or netns-delay.py where netem is missing. */
  delayBy: 'netem' | 'tun';
  mtu: number;
  address(host: string): string;
  namespace(host: string): string;
  /** The command prefix that runs a program on the host. */
  exec(host: string): string[];
  /** CPU seconds the delay processes have used so far (0 with netem): the simulation's own cost. */
  delayCpuSeconds(): Promise<number>;
  /** Why the network no longer adds its delay (a delay process exited), or undefined while it does. */
  fault(): string | undefined;
  /** Deletes every namespace and stops what runs in them. Safe to call twice. */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args, { maxBuffer: 1 << 20 })).stdout;
}

async function inNs(ns: string, ...cmd: string[]): Promise<string> {
  return (await run('ip', ['netns', 'exec', ns, ...cmd], { maxBuffer: 1 << 20 })).stdout;
}

const python = (): string => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

async function namespaces(): Promise<string[]> {
  return (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops what runs in a namespace of this scenario and deletes it. */
async function removeNamespace(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').map(Number).filter((p) => p > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined);
}

/** Deletes the namespaces of earlier runs whose process is gone. */
export async function removeLeftovers(): Promise<string[]> {
  const stale = (await namespaces().catch(() => [])).filter((ns) => {
    const pid = Number(/^insitu-sim-(\d+)-/.exec(ns)?.[1]);
    return !(pid > 0 && alive(pid));
  });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

/** How a delay can be added here: 'netem', 'tun', or why neither works. */
async function probe(): Promise<{ delayBy: 'netem' | 'tun' } | { reason: string }> {
  if (process.platform !== 'linux') return { reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { reason: 'network namespaces need root (ip netns add)' };
  const ns = `${PREFIX}${process.pid}-probe`;
  try {
    await ip('netns', 'add', ns);
  } catch (e) {
    return { reason: `"ip netns add" failed: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}` };
  }
  try {
    try {
      await ip('-n', ns, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'a1');
      await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'a0', 'root', 'tbf', 'rate', '1gbit', 'burst', '256kb', 'limit', '8mb');
    } catch (e) {
      return { reason: `veth pairs or tc tbf are not available: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}` };
    }
    try {
      await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'a1', 'root', 'netem', 'delay', '20ms', 'rate', '1gbit');
      return { delayBy: 'netem' };
    } catch {
      // no netem in this kernel: the tun delay instead
    }
    if (!existsSync('/dev/net/tun')) return { reason: 'the kernel has no tc netem and there is no /dev/net/tun for the delay' };
    try {
      await run(python(), ['-c', 'import fcntl, socket']);
    } catch {
      return { reason: 'the kernel has no tc netem, and the tun delay needs python3' };
    }
    return { delayBy: 'tun' };
  } finally {
    await ip('netns', 'del', ns).catch(() => undefined);
  }
}

/** Why a simulated network cannot be made here, or undefined when it can. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  const p = await probe();
  return 'reason' in p ? p.reason : undefined;
}

export async function createSimulatedNetwork(opts: { hosts: string[]; delayMs?: number; rateMbit?: number }): Promise<SimulatedNetwork> {
  await removeLeftovers();
  const how = await probe();
  if ('reason' in how) throw new Error(`no simulated network here: ${how.reason}`);
  const delayMs = opts.delayMs ?? 20;
  const rateMbit = opts.rateMbit ?? 1000;
  const mtu = how.delayBy === 'tun' ? 65000 : 1500;
  const base = `${PREFIX}${process.pid}-`;
  const bridge = `${base}br`;
  const ns = (h: string): string => `${base}${h}`;
  const addr = new Map(opts.hosts.map((h, i) => [h, `${SUBNET}.${10 + i}`]));
  const delayers: ChildProcess[] = [];
  let fault: string | undefined;
  // A rate limit with a queue of about one bandwidth-delay product, as a switch port has.
  const tbf = ['tbf', 'rate', `${rateMbit}mbit`, 'burst', mtu > 1500 ? '256kb' : '64kb', 'limit', `${Math.max(1, Math.round((rateMbit * delayMs * 4) / 8000))}mb`];

  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    for (const d of delayers) d.kill('SIGKILL');
    for (const n of [...opts.hosts.map(ns), bridge]) await removeNamespace(n);
  };

  try {
    await ip('netns', 'add', bridge);
    await ip('-n', bridge, 'link', 'add', 'br0', 'mtu', String(mtu), 'type', 'bridge');
    await ip('-n', bridge, 'link', 'set', 'br0', 'up');
    // Every host's set-up runs to its end before a failure is thrown, so destroy() sees all it made.
    const setUp = await Promise.allSettled(opts.hosts.map(async (h, i) => {
      const n = ns(h);
      const me = addr.get(h)!;
      await ip('netns', 'add', n);
      await ip('link', 'add', 'eth0', 'netns', n, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', bridge, 'mtu', String(mtu));
      await ip('-n', bridge, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      await inNs(bridge, 'tc', 'qdisc', 'add', 'dev', `p${i}`, 'root', ...tbf); // toward the host
      await ip('-n', n, 'link', 'set', 'lo', 'up');
      await ip('-n', n, 'addr', 'add', `${me}/24`, 'dev', 'eth0');
      await ip('-n', n, 'link', 'set', 'eth0', 'up');
      // TCP windows of a host tuned for a long fat link, so a single stream can fill it.
      await inNs(n, 'sh', '-c', 'echo 4096 131072 33554432 > /proc/sys/net/ipv4/tcp_rmem && echo 4096 16384 33554432 > /proc/sys/net/ipv4/tcp_wmem');
      if (how.delayBy === 'netem') {
        await inNs(n, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, 'rate', `${rateMbit}mbit`, 'limit', '100000');
        return;
      }
      await inNs(n, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', ...tbf); // from the host
      // Real-time priority (where chrt is): a busy machine must not stretch the simulated delay.
      const delay = ['ip', 'netns', 'exec', n, python(), DELAY_SCRIPT, 'dly0', String(delayMs)];
      const command = existsSync('/usr/bin/chrt') ? ['/usr/bin/chrt', '-f', '10', ...delay] : delay;
      const d = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
      delayers.push(d);
      // Without its delay process the host's packets would take the main table undelayed.
      d.once('exit', (code, signal) => void (destroyed || (fault ??= `the delay on ${h} exited (${signal ?? `code ${code}`})`)));
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: d.stdout! }).once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(`delay on ${h}: ${l}`))));
        d.once('exit', (code) => reject(new Error(`the delay on ${h} exited with code ${code}`)));
      });
      await ip('-n', n, 'link', 'set', 'dly0', 'mtu', String(mtu), 'up');
      // Everything the host sends to the subnet goes through the delay; what the delay sends on
      // carries mark 1 and takes the main table, out of eth0.
      await ip('-n', n, 'route', 'add', `${SUBNET}.0/24`, 'dev', 'dly0', 'src', me, 'table', '100');
      await ip('-n', n, 'rule', 'add', 'fwmark', '1', 'lookup', 'main', 'pref', '100');
      await ip('-n', n, 'rule', 'add', 'iif', 'lo', 'lookup', '100', 'pref', '200');
    }));
    const failed = setUp.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (e) {
    await destroy();
    throw e;
  }

  const need = (h: string): string => {
    const a = addr.get(h);
    if (!a) throw new Error(`no host ${h} on this simulated network`);
    return a;
  };
  return {
    hosts: opts.hosts,
    delayMs,
    rateMbit,
    delayBy: how.delayBy,
    mtu,
    fault: () => fault,
    async delayCpuSeconds() {
      let total = 0;
      for (const d of delayers) if (d.pid !== undefined) total += await cpuSecondsOf(d.pid);
      return total;
    },
    address: need,
    namespace: (h) => (need(h), ns(h)),
    exec: (h) => (need(h), ['ip', 'netns', 'exec', ns(h)]),
    destroy,
  };
}

export interface ClientRun {
  /** The JSON lines the client side wrote, in order. */
  lines: Record<string, unknown>[];
  code: number | null;
  /** The end of what it wrote to stderr (the devnet's log lines, a crash). */
  stderr: string;
}

const TSX = import.meta.resolve('tsx');
const CLIENT = fileURLToPath(new URL('./netns-client.ts', import.meta.url));

/**
 * Runs netns-client.ts on the network's 'client' host with the chain and nodes placed on the hosts
 * 'chain' and 'node-1'…'node-7'. `onLine` sees each result as it comes.
 */
export async function runClient(net: SimulatedNetwork, cfg: Record<string, unknown>, onLine: (msg: Record<string, unknown>) => void = () => {}): Promise<ClientRun> {
  const placement = Object.fromEntries(net.hosts.filter((h) => h !== 'client').map((h) => [h, { host: net.address(h), prefix: net.exec(h) }]));
  const full = { ...cfg, placement, delayMs: net.delayMs, rateMbit: net.rateMbit };
  const cmd = [...net.exec('client'), process.execPath, '--import', TSX, '--conditions=insitu-source', CLIENT, JSON.stringify(full)];
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      const msg = JSON.parse(l) as Record<string, unknown>;
      lines.push(msg);
      onLine(msg);
    } catch {
      stderr = `${stderr}${l}\n`.slice(-8000);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { lines, code, stderr };
}
