// An object's record with where its copies live: the primary holds it whole, secondary j holds
// piece j of every segment (data pieces 0..3, parity 4..5).

import type { ObjectInfo } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface PiecePlacement {
  /** -1 for the primary's whole copy. */
  index: number;
  role: 'primary' | 'data' | 'parity';
  spId: number;
  endpoint: string;
  operatorAddress: Hex;
}

export type ObjectHead = ObjectInfo & { placement: PiecePlacement[] };

export async function headObject(ctx: ClientContext, bucket: string, name: string, opts: CallOptions = {}): Promise<ObjectHead> {
  const obj = await ctx.chain.headObject(bucket, name, sig(opts));
  const gvg = await ctx.chain.getGlobalVirtualGroup(obj.gvgId, sig(opts));
  const p = await ctx.params();
  const prim = await ctx.provider(gvg.primarySpId);
  const placement: PiecePlacement[] = [{ index: -1, role: 'primary', spId: prim.id, endpoint: prim.endpoint, operatorAddress: prim.operatorAddress }];
  for (const [j, spId] of gvg.secondarySpIds.entries()) {
    const sp = await ctx.provider(spId);
    placement.push({ index: j, role: j < p.dataChunks ? 'data' : 'parity', spId, endpoint: sp.endpoint, operatorAddress: sp.operatorAddress });
  }
  return { ...obj, placement };
}
