// The node's one repair queue, ordered by risk: an entry of an object with fewer healthy pieces
// left elsewhere is rebuilt before one with more (an object at 4 of 6 before one at 5 of 6).
// Fed by the start-up check, scrubbing, reads that meet a missing or bad piece and the requests
// of peers; bounded in concurrency and in the bytes per second rebuilds receive, so reads and
// jobs go on. A request is never trusted: the node first checks, against the chain and its own
// data, that it should hold the entry and that the entry is missing or bad.

import { createHash } from 'node:crypto';
import { Gauge } from 'prom-client';
import { hashOfHashes } from '@insitu/protocol';
import { getPieceHashes } from '@insitu/sdk/sp';
import { InsituError } from '@insitu/protocol';
import type { GlobalVirtualGroup, ObjectInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';
import type { PieceKey } from '../store/types.ts';
import { matchesChain } from '../read-object.ts';
import { checkEntry, createRateLimiter, errorText, expectedChecksum, keyId, rebuild, same, sleep, slotIn, type RecoveryDeps } from './shared.ts';

export interface QueuedRepair {
  objectId: string;
  index: number;
  reason: string;
  /** Healthy pieces of the object elsewhere (of 6) when it was queued; fewer goes first. */
  healthy: number;
}

export interface RepairQueueStatus {
  repairsOk: number;
  repairsFailed: number;
  /** The last failed repair, for operators (object/index: reason). */
  lastError: string | null;
  repairBytes: number;
  /** Waiting, most urgent first (the first 50). */
  queued: QueuedRepair[];
  queueLength: number;
  inProgress: QueuedRepair[];
  /** Requests being verified (is the entry really this node's, and missing or bad?). */
  checking: number;
  /** The last 100 rebuilds started, in the order they started (what risk ordering chose). */
  started: (QueuedRepair & { at: number })[];
}

export interface AddOptions {
  /** Healthy pieces left, if the caller already knows; otherwise the queue asks the group. */
  healthy?: number;
  /** Retry with back-off on failure (start-up and scrub finds), instead of failing the promise. */
  retry?: boolean;
  /** When the entry was found bad (default now): a copy committed since needs no rebuild. */
  foundAt?: number;
}

export interface RepairQueue {
  /** Queues a rebuild of an entry this node should hold (deduplicated); resolves when it is rebuilt. */
  add(key: PieceKey, reason: string, opts?: AddOptions): Promise<void>;
  /** Untrusted: verifies that this node should hold the entry and that it is missing or bad, then queues it. */
  request(key: PieceKey, reason: string): void;
  /** Called with each entry rebuilt. */
  onRepaired(listener: (key: PieceKey, bytes: number) => void): void;
  status(): RepairQueueStatus;
  idle(): boolean;
  stop(): Promise<void>;
}

interface Entry {
  key: PieceKey;
  reason: string;
  healthy: number;
  /** Orders entries of equal risk: differs from node to node (see tieBreak). */
  tie: number;
  retry: boolean;
  attempts: number;
  /** When the entry was found bad: one committed since then is already rebuilt. */
  since: number;
  waiters: { resolve(): void; reject(e: unknown): void }[];
}

/** Requests verified per second at most, and at once; the rest are dropped (scrubbing finds real damage anyway). */
const REQUESTS_PER_SECOND = 20;
const REQUESTS_AT_ONCE = 16;
/** An entry found healthy is not verified again for this long. */
const VERIFIED_FOR_MS = 60_000;

/**
 * Healthy pieces of an object in its group, as the other members answer: a member holds its
 * piece if its hash list matches the chain. This node's own index never counts.
 */
export async function healthyPieces(ctx: NodeContext, obj: ObjectInfo, gvg: GlobalVirtualGroup, signal: AbortSignal): Promise<number> {
  const answers = await Promise.all(gvg.secondarySpIds.map(async (spId, index) => {
    if (spId === ctx.spId) return false;
    try {
      const endpoint = (await ctx.provider(spId)).endpoint;
      const hashes = await getPieceHashes({ endpoint, objectId: obj.id, index, privateKey: ctx.operatorKey, signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) });
      return same(hashOfHashes(hashes), expectedChecksum(obj, index));
    } catch {
      return false;
    }
  }));
  return answers.filter(Boolean).length;
}

/**
 * Among entries of equal risk each node takes its own order, so that two nodes rebuilding pieces
 * of the same objects (both lost their disks) bring different objects back first: the set at
 * risk shrinks twice as fast as if both went through it in the same order.
 */
function tieBreak(spId: number, key: PieceKey): number {
  return createHash('sha256').update(`${spId}/${key.objectId}/${key.index}`).digest().readUInt32BE(0);
}

export function createRepairQueue(deps: RecoveryDeps): RepairQueue {
  const { ctx, opts, signal } = deps;
  const waiting: Entry[] = [];
  const byId = new Map<string, Entry>();
  const running = new Map<string, Entry>();
  const started: (QueuedRepair & { at: number })[] = [];
  const verifying = new Set<string>();
  const verifiedAt = new Map<string, number>();
  const listeners: ((key: PieceKey, bytes: number) => void)[] = [];
  const limiter = createRateLimiter(opts.repairBytesPerSecond);
  const pace = (n: number): Promise<void> => limiter.take(n, signal);
  const checkRate = createRateLimiter(opts.scrubBytesPerSecond || 32 * 1024 * 1024);
  const timers = new Set<NodeJS.Timeout>();
  const work = new Set<Promise<unknown>>();
  let pumpScheduled = false;
  let repairsOk = 0;
  let repairsFailed = 0;
  let repairBytes = 0;
  let lastError: string | null = null;
  let requestTokens = REQUESTS_PER_SECOND;
  let requestRefill = performance.now();
  const metrics = ctx.metrics;
  new Gauge({
    name: 'insitu_repair_queue_length', help: 'Entries waiting in the repair queue.', registers: [metrics.registry],
    collect() {
      this.set(waiting.length);
    },
  });

  const view = (e: Entry): QueuedRepair => ({ objectId: e.key.objectId.toString(), index: e.key.index, reason: e.reason, healthy: e.healthy });

  const track = <T>(p: Promise<T>): Promise<T> => {
    work.add(p);
    void p.finally(() => work.delete(p)).catch(() => undefined);
    return p;
  };

  /** Sorted insert: fewest healthy pieces first, then fewest failed attempts, then the node's own tie order. */
  function enqueue(e: Entry): void {
    let lo = 0;
    let hi = waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = waiting[mid]!;
      if (m.healthy !== e.healthy ? m.healthy < e.healthy : m.attempts !== e.attempts ? m.attempts < e.attempts : m.tie <= e.tie) lo = mid + 1;
      else hi = mid;
    }
    waiting.splice(lo, 0, e);
    // Entries added together (the start-up check adds all it found at once) are ordered together
    // before the first of them starts.
    if (!pumpScheduled) {
      pumpScheduled = true;
      setImmediate(() => {
        pumpScheduled = false;
        pump();
      });
    }
  }

  function pump(): void {
    while (!signal.aborted && running.size < opts.repairConcurrency && waiting.length > 0) {
      const e = waiting.shift()!;
      running.set(keyId(e.key), e);
      started.push({ ...view(e), at: Date.now() });
      if (started.length > 100) started.shift();
      void track(run(e));
    }
  }

  /** Rebuilt (or replicated) since it was found bad, by another path that got there first. */
  async function rewrittenSince(e: Entry, obj: ObjectInfo): Promise<boolean> {
    const meta = await ctx.store.meta(e.key);
    return meta !== undefined && meta.storedAt >= e.since && matchesChain(meta, obj, e.key.index);
  }

  async function run(e: Entry): Promise<void> {
    const id = keyId(e.key);
    metrics.repairsInProgress.inc();
    const t0 = Date.now();
    try {
      const obj = await ctx.chain.headObjectById(e.key.objectId);
      // Gone or not sealed (yet): nothing this node must hold.
      const holds = obj.status === 'sealed' && !ctx.uploads.has(obj.id) && !(await rewrittenSince(e, obj));
      const bytes = holds ? await rebuild(deps, obj, e.key.index, pace) : 0;
      if (holds) {
        repairsOk++;
        repairBytes += bytes;
        metrics.repairs.inc({ result: 'ok' });
        metrics.repairBytes.inc(bytes);
        ctx.logger.info('piece repaired', { objectId: e.key.objectId.toString(), index: e.key.index, reason: e.reason, healthy: e.healthy, bytes, ms: Date.now() - t0 });
      }
      byId.delete(id);
      for (const l of listeners) l(e.key, bytes);
      for (const w of e.waiters) w.resolve();
    } catch (err) {
      const gone = (err as InsituError).code === 'ERR_OBJECT_NOT_FOUND';
      if (!gone) {
        repairsFailed++;
        lastError = `${id}: ${errorText(err)}`;
        metrics.repairs.inc({ result: 'failed' });
        if (!signal.aborted) ctx.logger.warn('repair failed', { objectId: e.key.objectId.toString(), index: e.key.index, reason: e.reason, error: errorText(err) });
      }
      if (!gone && e.retry && !signal.aborted) {
        // Back off (1 s, 2 s … 1 min) and try again: the node holds this entry only when it is rebuilt.
        e.attempts++;
        const t = setTimeout(() => {
          timers.delete(t);
          enqueue(e);
        }, Math.min(60_000, 1000 * 2 ** Math.min(6, e.attempts - 1)));
        timers.add(t);
      } else {
        byId.delete(id);
        if (gone) for (const l of listeners) l(e.key, 0);
        for (const w of e.waiters) gone ? w.resolve() : w.reject(err);
      }
    } finally {
      metrics.repairsInProgress.dec();
      running.delete(id);
      pump();
    }
  }

  function add(key: PieceKey, reason: string, o: AddOptions = {}): Promise<void> {
    const id = keyId(key);
    const known = byId.get(id);
    return new Promise<void>((resolve, reject) => {
      if (known) {
        known.waiters.push({ resolve, reject });
        if (o.retry) known.retry = true;
        return;
      }
      if (signal.aborted) return reject(new InsituError('ERR_ABORTED', 'the node is stopping'));
      const e: Entry = { key, reason, healthy: o.healthy ?? 6, tie: tieBreak(ctx.spId, key), retry: o.retry ?? false, attempts: 0, since: o.foundAt ?? Date.now(), waiters: [{ resolve, reject }] };
      byId.set(id, e);
      if (o.healthy !== undefined) return enqueue(e);
      // Ask the group how many healthy pieces are left before placing it.
      void track((async () => {
        try {
          const obj = await ctx.chain.headObjectById(key.objectId);
          if (obj.status === 'sealed') e.healthy = await healthyPieces(ctx, obj, await ctx.chain.getGlobalVirtualGroup(obj.gvgId), signal);
        } catch {
          // Unknown risk: the default places it after the known urgent ones.
        }
        enqueue(e);
      })());
    });
  }

  function request(key: PieceKey, reason: string): void {
    const id = keyId(key);
    if (signal.aborted || ctx.uploads.has(key.objectId) || byId.has(id) || verifying.has(id)) return;
    if (Date.now() - (verifiedAt.get(id) ?? 0) < VERIFIED_FOR_MS) return;
    const now = performance.now();
    requestTokens = Math.min(REQUESTS_PER_SECOND, requestTokens + ((now - requestRefill) / 1000) * REQUESTS_PER_SECOND);
    requestRefill = now;
    if (requestTokens < 1 || verifying.size >= REQUESTS_AT_ONCE) {
      ctx.logger.debug('repair request dropped (rate)', { objectId: key.objectId.toString(), index: key.index });
      return;
    }
    requestTokens--;
    verifying.add(id);
    void track((async () => {
      try {
        const obj = await ctx.chain.headObjectById(key.objectId);
        if (obj.status !== 'sealed' || obj.payloadSize === 0n) return;
        const gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId);
        if (slotIn(ctx.spId, gvg) !== key.index) return;
        // The node's own data decides: missing at once, otherwise re-hashed (all checks together
        // at most at the scrub rate); a healthy entry is left alone.
        let state = await checkEntry(ctx, key, obj, { quick: true });
        if (state === 'ok') state = await checkEntry(ctx, key, obj, { quick: false, pace: (n) => checkRate.take(n, signal) });
        if (state === 'ok') {
          verifiedAt.set(id, Date.now());
          if (verifiedAt.size > 10_000) verifiedAt.clear();
          return;
        }
        await add(key, `${reason} (verified ${state})`, { healthy: await healthyPieces(ctx, obj, gvg, signal) });
      } catch (e) {
        if (!signal.aborted) ctx.logger.debug('repair request not verified', { objectId: key.objectId.toString(), index: key.index, error: errorText(e) });
      } finally {
        verifying.delete(id);
      }
    })());
  }

  return {
    add,
    request,
    onRepaired(l) {
      listeners.push(l);
    },
    status: () => ({
      repairsOk, repairsFailed, lastError, repairBytes,
      queued: waiting.slice(0, 50).map(view), queueLength: waiting.length, checking: verifying.size,
      inProgress: [...running.values()].map(view),
      started: [...started],
    }),
    idle: () => byId.size === 0 && verifying.size === 0,
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const err = new InsituError('ERR_ABORTED', 'the node is stopping');
      for (const e of waiting.splice(0)) for (const w of e.waiters) w.reject(err);
      await Promise.allSettled([...work]);
      await sleep(0, signal);
    },
  };
}
