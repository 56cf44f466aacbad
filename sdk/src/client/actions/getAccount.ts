// The caller's account (or another one): address, balance, nonce.

import type { Account } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export function getAccount(ctx: ClientContext, address: Hex = ctx.chain.address, opts: CallOptions = {}): Promise<Account> {
  return ctx.chain.getAccount(address, sig(opts));
}
