// Taking over from providers that left: for each place of an exiting (or forced-out) provider,
// the successor every node computes alike (the lowest id among in-service providers outside the
// group) reserves it on chain, rebuilds what the provider held there (pieces, or for a primary
// the whole objects of its family) and completes the swap.

import { InsituError } from '@insitu/protocol';
import type { GlobalVirtualGroup, StorageProvider } from '@insitu/protocol/chain';
import { objectsOf, rebuild, type RecoveryDeps } from './shared.ts';
import { matchesChain } from '../read-object.ts';

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

export interface SwapProgress {
  targetSpId: number;
  gvgId: number;
  familyId: number;
  objects: number;
  done: number;
}

export interface SwapIns {
  /** Looks once for exiting providers this node should take over from, and does it. */
  takeOverOnce(): Promise<HealRecord[]>;
  inProgress(): SwapProgress[];
  heals(): HealRecord[];
}

/** The successor every node computes alike: lowest in-service id outside the given members. */
const successorOf = (providers: StorageProvider[], excluded: Set<number>): number | undefined =>
  providers.filter((p) => p.status === 'in-service' && !excluded.has(p.id)).map((p) => p.id).sort((a, b) => a - b)[0];

export function createSwapIns(deps: RecoveryDeps): SwapIns {
  const { ctx, signal } = deps;
  const swaps = new Map<string, SwapProgress>();
  const heals: HealRecord[] = [];

  async function takeOver(target: StorageProvider, g: GlobalVirtualGroup, index: number, familyGroups: GlobalVirtualGroup[]): Promise<HealRecord> {
    const familyId = index === -1 ? g.familyId : 0;
    const gvgId = index === -1 ? 0 : g.id;
    const key = `${familyId}/${gvgId}`;
    await ctx.chain.reserveSwapIn({ targetSpId: target.id, ...(familyId ? { familyId } : { gvgId }) });
    const t0 = Date.now();
    const groups = index === -1 ? familyGroups : [g];
    const objects: bigint[] = [];
    for (const x of groups) for (const o of await objectsOf(ctx, x.id)) if (o.payloadSize > 0n) objects.push(o.id);
    const progress = { targetSpId: target.id, gvgId, familyId, objects: objects.length, done: 0 };
    swaps.set(key, progress);
    let bytes = 0;
    try {
      for (const id of objects) {
        if (signal.aborted) throw new InsituError('ERR_ABORTED', 'the node is stopping');
        const obj = await ctx.chain.headObjectById(id);
        if (obj.status === 'sealed') {
          const meta = await ctx.store.meta({ objectId: id, index });
          if (!meta || !matchesChain(meta, obj, index)) bytes += await rebuild(deps, obj, index);
        }
        progress.done++;
      }
      await ctx.chain.completeSwapIn(familyId ? { familyId } : { gvgId });
    } finally {
      swaps.delete(key);
    }
    ctx.metrics.swapIns.inc();
    ctx.metrics.repairBytes.inc(bytes);
    ctx.metrics.healSeconds.observe((Date.now() - t0) / 1000);
    const heal: HealRecord = { targetSpId: target.id, gvgId: g.id, familyId: g.familyId, objects: objects.length, bytes, ms: Date.now() - t0, at: Date.now() };
    heals.push(heal);
    if (heals.length > 100) heals.shift();
    ctx.logger.info('took over from an exiting provider', { ...heal });
    return heal;
  }

  return {
    async takeOverOnce() {
      const providers = await ctx.chain.listStorageProviders();
      const me = providers.find((p) => p.id === ctx.spId);
      if (!me || me.status !== 'in-service') return [];
      const done: HealRecord[] = [];
      const reserved = await ctx.chain.swapIns();
      for (const target of providers.filter((p) => p.status === 'graceful-exiting' || p.status === 'force-exiting')) {
        const groups = await ctx.chain.listGlobalVirtualGroups(target.id);
        for (const g of groups) {
          if (g.primarySpId === target.id) {
            const familyGroups = groups.filter((x) => x.familyId === g.familyId && x.primarySpId === target.id);
            if (familyGroups[0]!.id !== g.id) continue; // one swap per family
            const excluded = new Set([target.id, ...familyGroups.flatMap((x) => x.secondarySpIds)]);
            if (successorOf(providers, excluded) !== ctx.spId) continue;
            const mine = reserved.find((r) => r.familyId === g.familyId);
            if (mine && mine.successorSpId !== ctx.spId) continue;
            done.push(await takeOver(target, g, -1, familyGroups));
          } else {
            const excluded = new Set([g.primarySpId, ...g.secondarySpIds]);
            if (successorOf(providers, excluded) !== ctx.spId) continue;
            const mine = reserved.find((r) => r.gvgId === g.id);
            if (mine && mine.successorSpId !== ctx.spId) continue;
            done.push(await takeOver(target, g, g.secondarySpIds.indexOf(target.id), []));
          }
        }
      }
      return done;
    },
    inProgress: () => [...swaps.values()].map((s) => ({ ...s })),
    heals: () => [...heals],
  };
}
