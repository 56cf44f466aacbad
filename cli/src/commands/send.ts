// `insitu send <address> <amount>`: moves BNB from the signing account to another account (a bank
// MsgSend). The amount carries its unit (1.5BNB, 1000wei) so a slip cannot move 10^18 times more.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError } from '@insitu/protocol';
import { isAddress, privateKeyToAddress, type Hex } from '@insitu/protocol';
import { createChainClient } from '@insitu/sdk/chain';
import { resolveNetwork } from '../config.ts';
import { printer } from '../io.ts';
import { formatBnb, parseBnb } from '../format.ts';

/** Sends `amount` base units from the account of `privateKey`; refuses bad input before signing. */
export async function sendBnb(net: { rpcUrl: string; chainId: string }, privateKey: Hex, to: string, amount: bigint): Promise<{ from: Hex; to: Hex; amount: bigint; txHash: Hex; height: bigint; balance: bigint }> {
  if (!isAddress(to)) throw new InsituError('ERR_INVALID_ARGUMENT', `the recipient must be an address (0x and 40 hex digits), not "${to}"`);
  const chain = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey });
  const from = privateKeyToAddress(privateKey);
  const balance = (await chain.getAccount(from).catch(() => ({ balance: 0n }))).balance;
  if (balance < amount) throw new InsituError('ERR_INSUFFICIENT_BALANCE', `${from} holds ${formatBnb(balance)}, less than the ${formatBnb(amount)} to send (plus the fee)`);
  const tx = await chain.transfer(to as Hex, amount);
  const after = (await chain.getAccount(to as Hex)).balance;
  return { from, to: to as Hex, amount, txHash: tx.txHash, height: tx.height, balance: after };
}

export function sendCommand({ io, globals }: CommandContext): Command {
  return new Command('send').description('send BNB from your account to another account')
    .argument('<address>', 'the recipient')
    .argument('<amount>', 'with its unit: 1.5BNB, or base units such as 1000wei or 2gwei')
    .action(async (to: string, text: string) => {
      const amount = parseBnb(text, 'the amount');
      if (!isAddress(to)) throw new InsituError('ERR_INVALID_ARGUMENT', `the recipient must be an address (0x and 40 hex digits), not "${to}"`);
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const r = await sendBnb(net, net.privateKey!, to, amount);
      const fmt = (v: bigint): string => formatBnb(v, { baseUnits: globals().baseUnits === true });
      printer(io, globals().json === true).result(r, `sent ${fmt(amount)} from ${r.from} to ${r.to} (tx ${r.txHash} at height ${r.height}); it now holds ${fmt(r.balance)}`);
    });
}
