// Keeping every sealed byte, one file per activity: the repair queue (queue.ts) rebuilds entries
// in order of risk; the start-up check (startup.ts) queues whatever a node should hold and does
// not; continuous scrubbing (scrub.ts) re-hashes what it holds at a bounded rate; health probes
// (probe.ts) report providers gone for too long; swap-ins (swap-in.ts) take over the places of
// providers that left; the unsealed-data collector (gc.ts) drops what interrupted uploads left.
// Reads and jobs go on meanwhile through the degraded read path.

import { setMaxListeners } from 'node:events';
import type { NodeContext, RecoveryPort } from '../context.ts';
import type { PieceKey } from '../store/types.ts';
import { resolveRecoveryOptions, type RecoveryOptions } from './options.ts';
import { createRepairQueue, type QueuedRepair, type RepairQueueStatus } from './queue.ts';
import { createScrubber, type ScrubReport, type ScrubStatus } from './scrub.ts';
import { createProber } from './probe.ts';
import { createSwapIns, type HealRecord, type SwapProgress } from './swap-in.ts';
import { createStartupCheck, type HoldingsStatus } from './startup.ts';
import { createUnsealedGc, type GcReport } from './gc.ts';
import { errorText, sleep } from './shared.ts';

export { DEFAULT_RECOVERY, resolveRecoveryOptions, type RecoveryOptions } from './options.ts';
export type { ScrubReport, ScrubStatus, HealRecord, HoldingsStatus, GcReport, QueuedRepair };

/** The repair queue (counts, waiting most urgent first, running, started) and the other activities. */
export interface RecoveryStatus extends RepairQueueStatus {
  /** What the node should hold against what it has (start-up check and its rebuilds). */
  holdings: HoldingsStatus;
  scrub: ScrubStatus;
  lastScrub: (ScrubReport & { at: number }) | null;
  swapsInProgress: SwapProgress[];
  heals: HealRecord[];
  down: { spId: number; since: number; reported: boolean }[];
  gc: { removed: number; lastRun: (GcReport & { at: number }) | null };
}

export interface Recovery extends RecoveryPort {
  /** Rebuilds and rewrites one entry this node should hold (deduplicated; resolves when done). */
  repair(key: PieceKey, reason: string): Promise<void>;
  /** Asks for a check of an entry (reads that met a missing or bad piece); never trusted: verified before any rebuild. */
  request(key: PieceKey, reason: string): void;
  scrubOnce(): Promise<ScrubReport>;
  /** Looks once for exiting providers this node should take over from, and does it. */
  takeOverOnce(): Promise<HealRecord[]>;
  /** Probes peers once, reporting those down for longer than the threshold. */
  probeOnce(): Promise<void>;
  /** Removes the data of objects unsealed past the timeout (chain time) or gone from the chain. */
  gcOnce(): Promise<GcReport>;
  /** Resolves once the start-up check has queued what is missing. */
  checked(): Promise<void>;
  /** For /readyz: 'ok (…)' once the node holds everything the chain says it should; throws otherwise. */
  readiness(): Promise<string>;
  status(): RecoveryStatus;
  stop(): Promise<void>;
}


/** For read paths that met an entry missing or unreadable: asks the node to check (and rebuild) it; returns the error to throw. */
export function reportMissing<E>(ctx: Pick<NodeContext, 'recovery'>, key: PieceKey, error: E): E {
  ctx.recovery?.request(key, 'a read found it missing');
  return error;
}

export function startRecovery(ctx: NodeContext, options: RecoveryOptions = {}): Recovery {
  const opts = resolveRecoveryOptions(options);
  const ac = new AbortController();
  // Every rebuild's reads listen on this signal.
  setMaxListeners(0, ac.signal);
  const deps = { ctx, opts, signal: ac.signal };
  const queue = createRepairQueue(deps);
  const startup = createStartupCheck(deps, queue);
  const scrubber = createScrubber(deps, queue);
  const prober = createProber(deps);
  const swapIns = createSwapIns(deps);
  const gc = createUnsealedGc(deps);

  const loop = (every: number, what: string, fn: () => Promise<unknown>): Promise<void> => (async () => {
    if (every <= 0) return;
    while (!ac.signal.aborted) {
      await sleep(every, ac.signal);
      if (ac.signal.aborted) break;
      try {
        await fn();
      } catch (e) {
        if (!ac.signal.aborted) ctx.logger.warn(`${what} failed; will retry`, { error: errorText(e) });
      }
    }
  })();

  // Back after a restart: withdraw any reports against this node (and leave forced exit if no
  // successor took everything over).
  const back = ctx.chain.withdrawDownReports().catch((e) => ctx.logger.debug('no down reports withdrawn', { error: String(e) }));
  const checked = startup.run().catch((e) => ctx.logger.warn('start-up check failed', { error: errorText(e) }));
  const loops = [
    scrubber.start(checked),
    loop(opts.probeIntervalMs, 'health probe', prober.probeOnce),
    loop(opts.swapIntervalMs, 'swap-in', swapIns.takeOverOnce),
    // Once after the start-up check (a node that was down a day collects at once), then on a timer.
    opts.gcIntervalMs > 0 ? checked.then(() => (ac.signal.aborted ? undefined : gc.gcOnce())).catch((e) => ctx.logger.warn('unsealed data collection failed; will retry', { error: errorText(e) })) : Promise.resolve(),
    loop(opts.gcIntervalMs, 'unsealed data collection', gc.gcOnce),
  ];

  return {
    repair: (key, reason) => queue.add(key, reason),
    request: queue.request,
    scrubOnce: scrubber.scrubOnce,
    takeOverOnce: swapIns.takeOverOnce,
    probeOnce: prober.probeOnce,
    gcOnce: gc.gcOnce,
    checked: () => checked,
    readiness: startup.readiness,
    status: () => {
      const scrub = scrubber.status();
      return {
        ...queue.status(),
        holdings: startup.status(),
        scrub,
        lastScrub: scrub.lastPass,
        swapsInProgress: swapIns.inProgress(),
        heals: swapIns.heals(),
        down: prober.down(),
        gc: gc.status(),
      };
    },
    async stop() {
      ac.abort();
      // Reads and writes in flight see the abort; a chain call in flight gets a few seconds.
      const all = Promise.allSettled([back, checked, ...loops, queue.stop()]);
      await Promise.race([all, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}
