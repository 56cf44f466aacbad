// MsgSend: a transfer between bank accounts. Money sent to an owner whose stream payments froze
// resumes them, so the transfer lives beside both the bank and the payment module.

import { isAddress } from '@insitu/protocol';
import { fail, emit, type MsgContext, type MsgHandler } from '../context.ts';
import { move, DENOM } from './bank.ts';
import { tryResume, seconds } from './payment/index.ts';

const msgSend: MsgHandler = async (ctx: MsgContext, msg) => {
  const from = String(msg.fromAddress);
  const to = String(msg.toAddress);
  if (!isAddress(to)) fail('ERR_INVALID_ARGUMENT', `not an address: ${to}`);
  let total = 0n;
  for (const coin of (msg.amount as { denom: string; amount: string }[]) ?? []) {
    if (coin.denom !== DENOM) fail('ERR_INVALID_ARGUMENT', `unknown denom ${coin.denom}`);
    // '1e3', '-5', ' 7' or '0x10' are refused as bad input, never parsed loosely.
    if (typeof coin.amount !== 'string' || !/^\d{1,78}$/.test(coin.amount)) fail('ERR_INVALID_ARGUMENT', `amount must be a non-negative decimal integer, not ${JSON.stringify(String(coin.amount)).slice(0, 90)}`);
    total += BigInt(coin.amount);
  }
  await move(ctx.kv, from, to, total);
  emit(ctx, 'transfer', { from, to, amount: total });
  // Money sent to an owner whose payments froze resumes them (the bank balance tops the record up).
  await tryResume(ctx.kv, to, seconds(ctx.now), ctx.feed);
  return {};
};

export const bankMsgs: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  '/cosmos.bank.v1beta1.MsgSend': { handler: msgSend, signer: (m) => String(m.fromAddress) },
};
