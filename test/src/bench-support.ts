// What the benchmarks measure with: a process's CPU seconds, percentiles, and N writers uploading
// small objects as fast as they can, with each upload's latency and each failure's code.

import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { InsituClient } from '@insitu/sdk';

/** CPU seconds (user + system) a process has used: this one's from Node, another's from /proc (0 once it is gone). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  // utime and stime, in clock ticks (USER_HZ, 100 on Linux), after the command's closing parenthesis.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11] ?? 0) + Number(f[12] ?? 0)) / 100;
}

/** The p-th percentile of xs (0 for none). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/**
 * Small uploads before a measured row of them, to warm the processes' code. V8 optimises a
 * function after many calls, and a secondary's round code runs once per round of about eight
 * uploads: after 700 uploads V8's optimising compiler still took a fifth of every process's CPU
 * (perf, per thread), after 3,000 a twentieth. A node runs for days; the rows measure it warm.
 */
export const SMALL_WARM_UPLOADS = 3000;

export interface SmallUploads {
  /** Each successful upload's time, ms. */
  latencies: number[];
  /** Failed uploads by error code. */
  failures: Map<string, number>;
}

/**
 * `count` uploads of `size` random bytes by `writers` concurrent writers; writer w uses client
 * w mod clients and that client's bucket, and upload i is named nameOf(i).
 */
export async function smallUploads(o: { clients: InsituClient[]; buckets: string[]; count: number; writers: number; size: number; nameOf(i: number): string }): Promise<SmallUploads> {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: o.writers }, async (_, w) => {
    const k = w % o.clients.length;
    for (let i = next++; i < o.count; i = next++) {
      const at = performance.now();
      try {
        await o.clients[k]!.objects.put(o.buckets[k]!, o.nameOf(i), randomBytes(o.size));
        latencies.push(performance.now() - at);
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e).slice(0, 40);
        if (!failures.has(code) && process.env.INSITU_BENCH_VERBOSE) process.stderr.write(`${code}: ${(e as Error).message}\n`);
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  }));
  return { latencies, failures };
}

/** "3 ERR_X, 1 ERR_Y", or '0'. */
export const failureSummary = (failures: Map<string, number>): string => [...failures].map(([c, n]) => `${n} ${c}`).join(', ') || '0';
