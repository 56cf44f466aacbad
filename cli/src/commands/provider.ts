// insitu provider ls: storage providers as a compute market (compute price, load, jobs done).

import { Command } from 'commander';
import type { CommandContext } from './context.ts';

export function providerCommand({ client, out }: CommandContext): Command {
  const provider = new Command('provider').description('storage providers as a compute market');
  provider.command('ls').description('providers with their compute price (per unit of fuel), load (jobs waiting or running) and jobs done').action(async () => {
    const c = await client();
    const [sps, stats] = await Promise.all([c.chain.listStorageProviders(), c.chain.computeStats()]);
    const rows = sps.map((p) => {
      const s = stats.find((x) => x.spId === p.id);
      return { id: p.id, moniker: p.moniker, endpoint: p.endpoint, status: p.status, computePrice: p.computePrice, load: s?.load ?? 0, done: s?.done ?? 0 };
    });
    out().result(rows, rows.map((r) => `${r.id}\t${r.moniker}\t${r.status}\tprice ${r.computePrice}\tload ${r.load}\tdone ${r.done}\t${r.endpoint}`).join('\n'));
  });
  return provider;
}
