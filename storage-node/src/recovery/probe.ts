// Health probes: the node asks the providers it shares groups with whether they are alive; one
// unreachable for longer than downAfterMs is reported on chain (a majority of its peers' reports
// puts it in forced exit, and successors take over its places: see swap-in.ts).

import { request } from 'undici';
import { spDispatcher } from '@insitu/sdk/sp';
import { errorText, type RecoveryDeps } from './shared.ts';

export interface Prober {
  /** Probes peers once, reporting those down for longer than the threshold. */
  probeOnce(): Promise<void>;
  /** Peers seen down: since when (ms), and whether this node reported them. */
  down(): { spId: number; since: number; reported: boolean }[];
}

export function createProber(deps: RecoveryDeps): Prober {
  const { ctx, opts } = deps;
  const downSince = new Map<number, { since: number; reported: boolean }>();

  async function isUp(spId: number): Promise<boolean> {
    try {
      const sp = await ctx.provider(spId);
      const res = await request(new URL('/healthz', sp.endpoint), { method: 'GET', dispatcher: spDispatcher, signal: AbortSignal.timeout(3000) });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  return {
    async probeOnce() {
      const peers = new Set<number>();
      for (const g of await ctx.chain.listGlobalVirtualGroups(ctx.spId)) for (const id of [g.primarySpId, ...g.secondarySpIds]) if (id !== ctx.spId) peers.add(id);
      await Promise.all([...peers].map(async (id) => {
        if (await isUp(id)) {
          downSince.delete(id);
          return;
        }
        const d = downSince.get(id) ?? { since: Date.now(), reported: false };
        downSince.set(id, d);
        if (d.reported || Date.now() - d.since < opts.downAfterMs) return;
        try {
          await ctx.chain.reportProviderDown(id);
          d.reported = true;
          ctx.logger.warn('provider reported down', { spId: id, downForMs: Date.now() - d.since });
        } catch (e) {
          ctx.logger.warn('could not report a provider down', { spId: id, error: errorText(e) });
        }
      }));
    },
    down: () => [...downSince.entries()].map(([spId, d]) => ({ spId, ...d })),
  };
}
