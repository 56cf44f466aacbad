// The data path over a simulated network instead of loopback: the chain, each of the 7 nodes and
// the client in network namespaces of their own, joined by veth pairs and a bridge, with 20 ms of
// delay each way and 1 Gbit/s per host (test/src/netns.ts). Measures an upload, a download, a
// degraded download (primary stopped), the 4 KiB upload rate and a near-data job against a
// download-then-compute, each beside what the bandwidth and the round trips allow.
//
// `npm run bench -- netns [256MiB] [300obj]` (as root). Where namespaces cannot be made it says
// why and measures nothing. The namespaces are removed when it ends, fails or is interrupted;
// those of a run that was killed are removed by the next.

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSimulatedNetwork, namespacesUnavailable, runClient, type SimulatedNetwork } from '../src/netns.ts';
import type { BenchContext } from './index.ts';

export const name = 'netns';

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function arg<T>(re: RegExp, parse: (m: RegExpExecArray) => T, dflt: T): T {
  for (const a of process.argv.slice(2)) {
    const m = re.exec(a);
    if (m) return parse(m);
  }
  return dflt;
}

export async function run(ctx: BenchContext): Promise<void> {
  const why = await namespacesUnavailable();
  if (why) {
    ctx.note(`SKIPPED, nothing measured: ${why}`);
    return;
  }
  const size = arg(/^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)$/, (m) => Math.round(Number(m[1]) * UNITS[m[2]!]!), 256 * UNITS.MiB!);
  const smallCount = arg(/^(\d+)obj$/, (m) => Number(m[1]), 300);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-bench-netns-'));
  let net: SimulatedNetwork | undefined;
  const interrupted = (): void => void net?.destroy().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    net = await createSimulatedNetwork({ hosts: ['chain', ...Array.from({ length: 7 }, (_, i) => `node-${i + 1}`), 'client'], delayMs: 20, rateMbit: 1000 });
    ctx.note(`hosts: ${net.hosts.map((h) => `${h} ${net!.address(h)}`).join(', ')}; delay by ${net.delayBy === 'netem' ? 'tc netem' : 'a tun device and netns-delay.py (this kernel has no netem)'}, rate by ${net.delayBy === 'netem' ? 'netem' : 'tbf'} and tbf on the bridge side, MTU ${net.mtu}`);
    const load0 = loadavg()[0]!;
    const delayCpu0 = await net.delayCpuSeconds();
    const result = await runClient(net, { mode: 'bench', dir, size, smallCount }, (msg) => {
      if (typeof msg.note === 'string') ctx.note(msg.note);
      if (typeof msg.table === 'string') ctx.table(msg.table, msg.rows as Record<string, string | number>[]);
    });
    const failed = result.lines.find((l) => l.error);
    if (failed || result.code !== 0) throw new Error(`the client side failed (exit ${result.code}): ${String(failed?.error ?? '')}\n${result.stderr}`);
    const delayCpu = (await net.delayCpuSeconds()) - delayCpu0;
    ctx.note(`load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (${cpus().length} cores); ${net.delayBy === 'tun' ? `the delay processes used ${delayCpu.toFixed(1)} CPU s` : 'netem adds the delay in the kernel'}${load0 > cpus().length ? '; the machine was busier than its cores, so the figures are bounded by CPU more than by the network' : ''}`);
    const fault = net.fault();
    if (fault) throw new Error(`the figures above are not valid: ${fault}`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await net?.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
