// Audit queries: what the chain holds in all, so tests and operators can check that money is
// neither created nor lost (the sum is constant from genesis on).

import type { QueryHandler } from '../context.ts';

export const auditQueries: Record<string, QueryHandler> = {
  /** Project extension (JSON): the sum of every account's balance (module accounts included) and how many there are. */
  '/insitu.audit.Query/Holdings': async (ctx) => {
    let total = 0n;
    let accounts = 0;
    for (const [, a] of await ctx.kv.list<{ balance: bigint }>('acct/')) {
      total += a.balance;
      accounts++;
    }
    return { total, accounts };
  },
};
