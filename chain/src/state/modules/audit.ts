// Audit queries: what the chain holds in all, so tests and operators can check that money is
// neither created nor lost (the sum is constant from genesis on).

import type { QueryTable } from '../context.ts';
import { seconds, streamHoldings } from './payment/index.ts';
import { accountKey } from './bank.ts';
import { SP_DEPOSIT_POOL } from './providers.ts';
import { CHALLENGE_ESCROW } from './challenge.ts';

export const auditQueries: QueryTable = {
  /**
   * Project extension (JSON): what the chain holds at this moment: every account's bank balance
   * (module accounts included) plus every stream record's balance settled to now, its buffer and
   * its locked fees. `total` is the sum; it never changes.
   */
  '/insitu.audit.Query/Holdings': async (ctx) => {
    let total = 0n;
    let accounts = 0;
    for (const [, a] of await ctx.kv.list<{ balance: bigint }>('acct/')) {
      total += a.balance;
      accounts++;
    }
    const streams = await streamHoldings(ctx.kv, seconds(ctx.now));
    // Part of `bank`, shown apart: providers' deposits (slashable, unbonding included) and the fees of open challenges.
    const deposits = (await ctx.kv.get<{ balance: bigint }>(accountKey(SP_DEPOSIT_POOL)))?.balance ?? 0n;
    const challengeFees = (await ctx.kv.get<{ balance: bigint }>(accountKey(CHALLENGE_ESCROW)))?.balance ?? 0n;
    return { total: total + streams.total, bank: total, streams: streams.total, deposits, challengeFees, accounts, streamRecords: streams.records, at: seconds(ctx.now) };
  },
};
