// insitu provider ls: storage providers as a compute market (compute price, load, jobs done).

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { table } from '../format.ts';

export function providerCommand({ client, out, bnb }: CommandContext): Command {
  const provider = new Command('provider').description('storage providers as a compute market');
  provider.command('ls').description('providers with their compute price (per unit of fuel), load (jobs waiting or running) and jobs done').action(async () => {
    const c = await client();
    const [sps, stats] = await Promise.all([c.chain.listStorageProviders(), c.chain.computeStats()]);
    const rows = sps.map((p) => {
      const s = stats.find((x) => x.spId === p.id);
      return { id: p.id, moniker: p.moniker, endpoint: p.endpoint, status: p.status, computePrice: p.computePrice, load: s?.load ?? 0, done: s?.done ?? 0 };
    });
    out().result(rows, table(['ID', 'MONIKER', 'STATUS', 'COMPUTE PRICE', 'LOAD', 'JOBS DONE', 'ENDPOINT'],
      rows.map((r) => [r.id, r.moniker, r.status, `${bnb(BigInt(r.computePrice))}/fuel`, r.load, r.done, r.endpoint]), { right: [0, 4, 5] }));
  });
  return provider;
}
