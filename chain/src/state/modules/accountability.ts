// The per-block work that keeps providers accountable, run after each block's transactions:
// unbonded deposits released, global prices recomputed once per period, challenges expired and
// random challenges issued.

import type { Hex } from '@insitu/protocol';
import type { FeedEmit, MsgContext } from '../context.ts';
import type { KV } from '../store.ts';
import type { Genesis } from '../../genesis.ts';
import { stakeEndBlock } from './stake.ts';
import { challengeEndBlock } from './challenge.ts';

const NOBODY = '0x0000000000000000000000000000000000000000' as Hex;

export async function providersEndBlock(b: { kv: KV; height: bigint; now: number; seed?: Uint8Array; genesis: Genesis }): Promise<FeedEmit[]> {
  const feed: FeedEmit[] = [];
  const ctx = { kv: b.kv, signer: NOBODY, height: b.height, now: b.now, genesis: b.genesis, txEvents: [], feed, ...(b.seed ? { seed: b.seed } : {}) } as unknown as MsgContext;
  await stakeEndBlock(ctx);
  await challengeEndBlock(ctx);
  return feed;
}
