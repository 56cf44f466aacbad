// Keeping every sealed byte: a node scrubs what it holds against the chain's checksums at a
// bounded rate and rebuilds what is corrupt or missing; a piece that fails its hash on a read is
// rebuilt too. It watches the providers it shares groups with: one unreachable for longer than
// a threshold is reported (a majority of reports puts it in forced exit), and when a provider
// leaves or is forced out, the successor chosen by a rule every node computes alike (the lowest
// id among in-service providers outside the group) reserves its place, rebuilds what it held
// there, and completes the swap on chain. Reads and jobs go on meanwhile through the degraded
// read path.

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { request } from 'undici';
import { InsituError } from '@insitu/sdk/errors.ts';
import { hashOfHashes } from '@insitu/sdk/integrity/index.ts';
import { readObject } from '@insitu/sdk/client/read.ts';
import { spDispatcher } from '@insitu/sdk/sp/index.ts';
import type { GlobalVirtualGroup, ObjectInfo, StorageProvider } from '@insitu/sdk/chain/types.ts';
import { readContextOf, type NodeContext } from './context.ts';
import { unitOffset, type PieceKey } from './store/types.ts';

export interface RecoveryOptions {
  /** Time between scrub passes; 0 turns background scrubbing off (scrubOnce still works). */
  scrubIntervalMs?: number;
  /** Scrub reading rate. */
  scrubBytesPerSecond?: number;
  /** Time between health probes of the providers sharing a group; 0 turns probing off. */
  probeIntervalMs?: number;
  /** A provider unreachable this long is reported down. */
  downAfterMs?: number;
  /** Time between looks for exiting providers to take over from; 0 turns it off. */
  swapIntervalMs?: number;
}

export const DEFAULT_RECOVERY: Required<RecoveryOptions> = {
  scrubIntervalMs: 60 * 60_000,
  scrubBytesPerSecond: 64 * 1024 * 1024,
  probeIntervalMs: 30_000,
  downAfterMs: 10 * 60_000,
  swapIntervalMs: 30_000,
};

export interface ScrubReport {
  checked: number;
  ok: number;
  corrupt: number;
  missing: number;
  repaired: number;
  failed: number;
  bytes: number;
}

export interface HealRecord {
  targetSpId: number;
  gvgId: number;
  familyId: number;
  objects: number;
  bytes: number;
  /** From the reservation to the completed swap. */
  ms: number;
  at: number;
}

export interface RecoveryStatus {
  repairsOk: number;
  repairsFailed: number;
  /** The last failed repair, for operators (object/index: reason). */
  lastError: string | null;
  repairBytes: number;
  inProgress: { objectId: string; index: number; reason: string }[];
  swapsInProgress: { targetSpId: number; gvgId: number; familyId: number; objects: number; done: number }[];
  heals: HealRecord[];
  lastScrub: (ScrubReport & { at: number }) | null;
  down: { spId: number; since: number; reported: boolean }[];
}

export interface Recovery {
  /** Rebuilds and rewrites one entry this node should hold (deduplicated; resolves when done). */
  repair(key: PieceKey, reason: string): Promise<void>;
  /** Schedules a repair without waiting (for read paths that found a bad piece). */
  request(key: PieceKey, reason: string): void;
  scrubOnce(): Promise<ScrubReport>;
  /** Looks once for exiting providers this node should take over from, and does it. */
  takeOverOnce(): Promise<HealRecord[]>;
  /** Probes peers once, reporting those down for longer than the threshold. */
  probeOnce(): Promise<void>;
  status(): RecoveryStatus;
  stop(): Promise<void>;
}

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export function startRecovery(ctx: NodeContext, options: RecoveryOptions = {}): Recovery {
  const opts = { ...DEFAULT_RECOVERY, ...options };
  const ac = new AbortController();
  // Every rebuild's reads listen on this signal.
  setMaxListeners(0, ac.signal);
  const repairs = new Map<string, { promise: Promise<void>; reason: string; key: PieceKey }>();
  const swaps = new Map<string, RecoveryStatus['swapsInProgress'][number]>();
  const heals: HealRecord[] = [];
  const downSince = new Map<number, { since: number; reported: boolean }>();
  let repairsOk = 0;
  let repairsFailed = 0;
  let lastError: string | null = null;
  let repairBytes = 0;
  let lastScrub: RecoveryStatus['lastScrub'] = null;
  const metrics = ctx.metrics;

  const readCtx = () => readContextOf(ctx);
  const expected = (obj: ObjectInfo, index: number): Uint8Array => obj.checksums[index + 1]!;

  /** Rebuilds entry (obj, index) from the primary's verified copy or from verified pieces elsewhere, then commits it. */
  async function rebuild(obj: ObjectInfo, index: number): Promise<number> {
    if (obj.payloadSize === 0n) return 0;
    const bucket = await ctx.chain.headBucket(obj.bucketName);
    const primary = index === -1 || bucket.primarySpId === ctx.spId ? null : (await ctx.provider(bucket.primarySpId)).endpoint;
    const writer = await ctx.store.createWriter({ objectId: obj.id, index });
    const hashes: Uint8Array[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    try {
      const segSize = ctx.params.maxSegmentSize;
      const size = Number(obj.payloadSize);
      let pending: Uint8Array[] = [];
      let have = 0;
      let s = 0;
      const flush = async (seg: Uint8Array): Promise<void> => {
        const unit = index === -1 ? seg : ctx.codec.encode(seg)[index]!;
        hashes.push(new Uint8Array(sha(unit)));
        sizes.push(unit.length);
        bytes += unit.length;
        await writer.write(unit);
      };
      for await (const chunk of readObject(readCtx(), obj, primary, { signal: ac.signal })) {
        pending.push(chunk);
        have += chunk.length;
        for (;;) {
          const want = Math.min(segSize, size - s * segSize);
          if (have < want || want <= 0) break;
          const all = Buffer.concat(pending);
          await flush(all.subarray(0, want));
          pending = [all.subarray(want)];
          have -= want;
          s++;
        }
      }
      if (!Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(expected(obj, index)))) {
        throw new InsituError('ERR_CHECKSUM_MISMATCH', `rebuilt ${index === -1 ? 'copy' : `piece ${index}`} of object ${obj.id} does not match the chain`);
      }
      await writer.commit({ hashes, sizes });
      return bytes;
    } catch (e) {
      await writer.abort();
      throw e;
    }
  }

  function repair(key: PieceKey, reason: string): Promise<void> {
    const id = `${key.objectId}/${key.index}`;
    const running = repairs.get(id);
    if (running) return running.promise;
    const promise = (async () => {
      metrics.repairsInProgress.inc();
      const t0 = Date.now();
      try {
        const obj = await ctx.chain.headObjectById(key.objectId);
        if (obj.status !== 'sealed') return;
        const bytes = await rebuild(obj, key.index);
        repairsOk++;
        repairBytes += bytes;
        metrics.repairs.inc({ result: 'ok' });
        metrics.repairBytes.inc(bytes);
        ctx.logger.info('piece repaired', { objectId: key.objectId.toString(), index: key.index, reason, bytes, ms: Date.now() - t0 });
      } catch (e) {
        repairsFailed++;
        lastError = `${key.objectId}/${key.index}: ${String((e as Error).message ?? e)}`;
        metrics.repairs.inc({ result: 'failed' });
        ctx.logger.warn('repair failed', { objectId: key.objectId.toString(), index: key.index, reason, error: String((e as Error).message ?? e) });
        throw e;
      } finally {
        metrics.repairsInProgress.dec();
        repairs.delete(id);
      }
    })();
    repairs.set(id, { promise, reason, key });
    return promise;
  }

  /** Checks one entry against the chain, unit by unit, at the scrub rate; 'ok' | 'corrupt' | 'missing'. */
  async function check(key: PieceKey, obj: ObjectInfo, report: ScrubReport): Promise<'ok' | 'corrupt' | 'missing'> {
    const meta = await ctx.store.meta(key);
    if (!meta) return 'missing';
    if (!Buffer.from(hashOfHashes(meta.hashes)).equals(Buffer.from(expected(obj, key.index)))) return 'corrupt';
    for (let u = 0; u < meta.sizes.length; u++) {
      let data: Uint8Array;
      try {
        data = await ctx.store.read(key, unitOffset(meta, u), meta.sizes[u]!);
      } catch {
        return 'missing';
      }
      report.bytes += data.length;
      if (data.length !== meta.sizes[u] || !sha(data).equals(Buffer.from(meta.hashes[u]!))) return 'corrupt';
      await sleep((data.length / opts.scrubBytesPerSecond) * 1000, ac.signal);
      if (ac.signal.aborted) break;
    }
    return 'ok';
  }

  /** The index this node holds in a group: -1 as its primary, else its secondary slot; null if none. */
  const slotIn = (g: GlobalVirtualGroup): number | null => (g.primarySpId === ctx.spId ? -1 : g.secondarySpIds.includes(ctx.spId) ? g.secondarySpIds.indexOf(ctx.spId) : null);

  async function objectsOf(gvgId: number): Promise<{ id: bigint; payloadSize: bigint }[]> {
    const out: { id: bigint; payloadSize: bigint }[] = [];
    let after = 0n;
    for (;;) {
      const page = await ctx.chain.objectsInGroup(gvgId, { afterId: after, limit: 1000 });
      out.push(...page);
      if (page.length < 1000) return out;
      after = page.at(-1)!.id;
    }
  }

  async function scrubOnce(): Promise<ScrubReport> {
    const report: ScrubReport = { checked: 0, ok: 0, corrupt: 0, missing: 0, repaired: 0, failed: 0, bytes: 0 };
    const bad: { key: PieceKey; reason: string }[] = [];
    const seen = new Set<string>();
    // What the chain says this node holds: every sealed object of every group it is in.
    for (const g of await ctx.chain.listGlobalVirtualGroups(ctx.spId)) {
      const index = slotIn(g);
      if (index === null) continue;
      for (const o of await objectsOf(g.id)) {
        if (ac.signal.aborted) return report;
        if (o.payloadSize === 0n || ctx.uploads.has(o.id)) continue;
        const key = { objectId: o.id, index };
        seen.add(`${o.id}/${index}`);
        let obj: ObjectInfo;
        try {
          obj = await ctx.chain.headObjectById(o.id);
        } catch {
          continue;
        }
        report.checked++;
        const state = await check(key, obj, report);
        report[state]++;
        metrics.scrubPieces.inc({ result: state });
        if (state !== 'ok') bad.push({ key, reason: `scrub found it ${state}` });
      }
    }
    for (const { key, reason } of bad) {
      try {
        await repair(key, reason);
        report.repaired++;
      } catch {
        report.failed++;
      }
    }
    lastScrub = { ...report, at: Date.now() };
    ctx.logger.info('scrub pass', { ...report, held: seen.size });
    return report;
  }

  async function probeOnce(): Promise<void> {
    const peers = new Set<number>();
    for (const g of await ctx.chain.listGlobalVirtualGroups(ctx.spId)) for (const id of [g.primarySpId, ...g.secondarySpIds]) if (id !== ctx.spId) peers.add(id);
    await Promise.all([...peers].map(async (id) => {
      let up = false;
      let sp: StorageProvider | undefined;
      try {
        sp = await ctx.provider(id);
        const res = await request(new URL('/healthz', sp.endpoint), { method: 'GET', dispatcher: spDispatcher, signal: AbortSignal.timeout(3000) });
        await res.body.dump();
        up = res.statusCode === 200;
      } catch {
        up = false;
      }
      if (up) {
        downSince.delete(id);
        return;
      }
      const d = downSince.get(id) ?? { since: Date.now(), reported: false };
      downSince.set(id, d);
      if (!d.reported && Date.now() - d.since >= opts.downAfterMs) {
        try {
          await ctx.chain.reportProviderDown(id);
          d.reported = true;
          ctx.logger.warn('provider reported down', { spId: id, downForMs: Date.now() - d.since });
        } catch (e) {
          ctx.logger.warn('could not report a provider down', { spId: id, error: String((e as Error).message ?? e) });
        }
      }
    }));
  }

  /** The successor every node computes alike: lowest in-service id outside the given members. */
  const successorOf = (providers: StorageProvider[], excluded: Set<number>): number | undefined =>
    providers.filter((p) => p.status === 'in-service' && !excluded.has(p.id)).map((p) => p.id).sort((a, b) => a - b)[0];

  async function takeOver(target: StorageProvider, g: GlobalVirtualGroup, index: number, familyGroups: GlobalVirtualGroup[]): Promise<HealRecord> {
    const familyId = index === -1 ? g.familyId : 0;
    const gvgId = index === -1 ? 0 : g.id;
    const key = `${familyId}/${gvgId}`;
    await ctx.chain.reserveSwapIn({ targetSpId: target.id, ...(familyId ? { familyId } : { gvgId }) });
    const t0 = Date.now();
    const groups = index === -1 ? familyGroups : [g];
    const objects: bigint[] = [];
    for (const x of groups) for (const o of await objectsOf(x.id)) if (o.payloadSize > 0n) objects.push(o.id);
    const progress = { targetSpId: target.id, gvgId, familyId, objects: objects.length, done: 0 };
    swaps.set(key, progress);
    let bytes = 0;
    try {
      for (const id of objects) {
        if (ac.signal.aborted) throw new InsituError('ERR_ABORTED', 'the node is stopping');
        const obj = await ctx.chain.headObjectById(id);
        if (obj.status === 'sealed') {
          const meta = await ctx.store.meta({ objectId: id, index });
          if (!meta || !Buffer.from(hashOfHashes(meta.hashes)).equals(Buffer.from(expected(obj, index)))) bytes += await rebuild(obj, index);
        }
        progress.done++;
      }
      await ctx.chain.completeSwapIn(familyId ? { familyId } : { gvgId });
    } finally {
      swaps.delete(key);
    }
    metrics.swapIns.inc();
    metrics.repairBytes.inc(bytes);
    metrics.healSeconds.observe((Date.now() - t0) / 1000);
    const heal: HealRecord = { targetSpId: target.id, gvgId: g.id, familyId: g.familyId, objects: objects.length, bytes, ms: Date.now() - t0, at: Date.now() };
    heals.push(heal);
    if (heals.length > 100) heals.shift();
    ctx.logger.info('took over from an exiting provider', { ...heal });
    return heal;
  }

  async function takeOverOnce(): Promise<HealRecord[]> {
    const providers = await ctx.chain.listStorageProviders();
    const me = providers.find((p) => p.id === ctx.spId);
    if (!me || me.status !== 'in-service') return [];
    const done: HealRecord[] = [];
    const reserved = await ctx.chain.swapIns();
    for (const target of providers.filter((p) => p.status === 'graceful-exiting' || p.status === 'force-exiting')) {
      const groups = await ctx.chain.listGlobalVirtualGroups(target.id);
      for (const g of groups) {
        let index: number;
        let excluded: Set<number>;
        if (g.primarySpId === target.id) {
          const familyGroups = groups.filter((x) => x.familyId === g.familyId && x.primarySpId === target.id);
          if (familyGroups[0]!.id !== g.id) continue; // one swap per family
          index = -1;
          excluded = new Set([target.id, ...familyGroups.flatMap((x) => x.secondarySpIds)]);
          if (successorOf(providers, excluded) !== ctx.spId) continue;
          const mine = reserved.find((r) => r.familyId === g.familyId);
          if (mine && mine.successorSpId !== ctx.spId) continue;
          done.push(await takeOver(target, g, index, familyGroups));
        } else {
          index = g.secondarySpIds.indexOf(target.id);
          excluded = new Set([g.primarySpId, ...g.secondarySpIds]);
          if (successorOf(providers, excluded) !== ctx.spId) continue;
          const mine = reserved.find((r) => r.gvgId === g.id);
          if (mine && mine.successorSpId !== ctx.spId) continue;
          done.push(await takeOver(target, g, index, []));
        }
      }
    }
    return done;
  }

  const loop = (every: number, what: string, fn: () => Promise<unknown>): Promise<void> => (async () => {
    if (every <= 0) return;
    while (!ac.signal.aborted) {
      await sleep(every, ac.signal);
      if (ac.signal.aborted) break;
      try {
        await fn();
      } catch (e) {
        if (!ac.signal.aborted) ctx.logger.warn(`${what} failed; will retry`, { error: String((e as Error).message ?? e) });
      }
    }
  })();

  // Back after a restart: withdraw any reports against this node (and leave forced exit if no
  // successor took everything over).
  const back = ctx.chain.withdrawDownReports().catch((e) => ctx.logger.debug('no down reports withdrawn', { error: String(e) }));
  const loops = [
    loop(opts.scrubIntervalMs, 'scrub', scrubOnce),
    loop(opts.probeIntervalMs, 'health probe', probeOnce),
    loop(opts.swapIntervalMs, 'swap-in', takeOverOnce),
  ];

  return {
    repair,
    request(key, reason) {
      repair(key, reason).catch(() => undefined);
    },
    scrubOnce,
    takeOverOnce,
    probeOnce,
    status: () => ({
      repairsOk, repairsFailed, repairBytes, lastError,
      inProgress: [...repairs.values()].map((r) => ({ objectId: r.key.objectId.toString(), index: r.key.index, reason: r.reason })),
      swapsInProgress: [...swaps.values()].map((s) => ({ ...s })),
      heals: [...heals],
      lastScrub,
      down: [...downSince.entries()].map(([spId, d]) => ({ spId, ...d })),
    }),
    async stop() {
      ac.abort();
      // Reads and writes in flight see the abort; a chain call in flight gets a few seconds.
      const all = Promise.allSettled([back, ...loops, ...[...repairs.values()].map((r) => r.promise)]);
      await Promise.race([all, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}
