// Telling a stalled secondary from a busy one during an upload, by the replication's own
// progress: a secondary is stalled when the primary has waited on it (its piece stream backed up,
// or its answer due) for `stallMs` and heard nothing from it in that time — no piece taken from
// the stream, no answer to any replication of any upload, no answer to a health probe. A busy
// secondary keeps answering something (other uploads' replications, the probe, however late);
// a frozen one answers nothing. Only time the primary itself was awake to watch counts, so a
// primary whose own event loop was held up does not blame its secondaries for it.

import { nodeAlive } from '@insitu/sdk/sp';

/** When each secondary endpoint was last heard from (any answer, any piece taken), by this process. */
const lastHeard = new Map<string, number>();
/** Endpoints with a health probe in flight: one at a time per endpoint, however many uploads wait. */
const probing = new Set<string>();

/** Something came from this endpoint: an answer, or a piece taken off its stream. */
export function heardFrom(endpoint: string): void {
  lastHeard.set(endpoint, performance.now());
}

export interface ReplicationWatch {
  /** This replication's stream moved (the secondary took a piece). */
  progress(): void;
  stop(): void;
}

/**
 * Watches one replication. `waiting()` says whether the primary is waiting on the secondary
 * (pieces queued for it, or the stream ended and its answer due); while it is not, silence is
 * not the secondary's doing. `onStall` is called once, when the secondary has stayed silent
 * through `stallMs` of waiting.
 */
export function watchReplication(o: { endpoint: string; stallMs: number; waiting(): boolean; onStall(): void }): ReplicationWatch {
  const tick = Math.max(10, o.stallMs / 4);
  let quiet = 0;
  let last = performance.now();
  let moved = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const heardSince = (t: number): boolean => moved || (lastHeard.get(o.endpoint) ?? -Infinity) > t;
  const probe = (): void => {
    if (probing.has(o.endpoint)) return;
    probing.add(o.endpoint);
    // The probe's own deadline decides nothing: its answer, whenever it comes, is a sign of life.
    void nodeAlive(o.endpoint, Math.max(o.stallMs * 10, 10_000)).then((alive) => {
      if (alive) heardFrom(o.endpoint);
    }).finally(() => probing.delete(o.endpoint));
  };
  const check = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    const now = performance.now();
    const since = last;
    last = now;
    if (heardSince(since) || !o.waiting()) {
      quiet = 0;
    } else {
      // A tick that came late (this process was busy) counts as at most two ticks.
      quiet += Math.min(now - since, 2 * tick);
      // Asked at the first quiet tick, so a slow answer still counts: a busy process answers late,
      // a frozen one never.
      probe();
      if (quiet >= o.stallMs) {
        // What already arrived is read before judging: an answer may sit behind this timer.
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        if (stopped) return;
        if (!heardSince(since)) {
          stopped = true;
          o.onStall();
          return;
        }
        quiet = 0;
      }
    }
    moved = false;
    timer = setTimeout(() => void check(), tick);
    timer.unref();
  };
  timer = setTimeout(() => void check(), tick);
  timer.unref();
  return {
    progress() {
      moved = true;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
