// The development clock of a devnet: MsgAdvanceTime moves chain time forward by adding to an
// offset kept in the state (so every validator agrees and time never runs backwards across
// restarts). Only a genesis with `devClock` allows it, and only its authorities may send it;
// on a real network time is the block's time alone.

import { sameAddress } from '@insitu/protocol';
import { big } from '../../gnfd.ts';
import { fail, emit, type MsgHandler, type QueryTable } from '../context.ts';
import { CLOCK_OFFSET_KEY } from '../block.ts';

/** One step moves time by at most ten years: enough for any devnet, far from overflow. */
const MAX_STEP_SECONDS = 10n * 366n * 86_400n;

const advanceTime: MsgHandler = async (ctx, msg) => {
  const clock = ctx.genesis.devClock;
  if (!clock) fail('ERR_PERMISSION_DENIED', 'this chain runs on block time alone; only a devnet genesis has a development clock');
  if (!clock!.authorities.some((a) => sameAddress(a, ctx.signer))) {
    fail('ERR_PERMISSION_DENIED', `${ctx.signer} may not move this devnet's clock; its genesis names ${clock!.authorities.join(', ')}`);
  }
  const seconds = big(msg.seconds);
  if (seconds <= 0n || seconds > MAX_STEP_SECONDS) fail('ERR_INVALID_ARGUMENT', `time moves forward by 1..${MAX_STEP_SECONDS} seconds, not ${seconds}`);
  const offset = ((await ctx.kv.get<number>(CLOCK_OFFSET_KEY)) ?? 0) + Number(seconds) * 1000;
  ctx.kv.put(CLOCK_OFFSET_KEY, offset);
  const time = BigInt(Math.floor(ctx.now / 1000)) + seconds;
  emit(ctx, 'clock-advanced', { seconds, time });
  return { time: time.toString() };
};

export const devClockMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/insitu.devclock.MsgAdvanceTime': { handler: advanceTime, signer: (m) => String(m.authority) },
};

export const devClockQueries: QueryTable = {
  /** Project extension (JSON): chain time now and whether (and by whom) it may be moved. */
  '/insitu.devclock.Query/Time': async (ctx) => ({
    unix: BigInt(Math.floor(ctx.now / 1000)),
    offsetMs: (await ctx.kv.get<number>(CLOCK_OFFSET_KEY)) ?? 0,
    authorities: ctx.genesis.devClock?.authorities ?? [],
  }),
};
