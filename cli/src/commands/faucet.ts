// `insitu devnet faucet <address> [amount]`: funds an account from the devnet's funded genesis
// account (the one devnet.json names), so a new key can pay for buckets or a node's deposit.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError } from '@insitu/protocol';
import { devnetDir, readDevnet } from '../config.ts';
import { printer } from '../io.ts';
import { formatBnb, parseBnb } from '../format.ts';
import { sendBnb } from './send.ts';

export function faucetCommand({ io, globals }: CommandContext): Command {
  return new Command('faucet').description('fund an account from the devnet\'s funded account (devnet.json in --dir)')
    .argument('<address>', 'the account to fund')
    .argument('[amount]', 'with its unit: 10BNB, or base units such as 1000wei', '10BNB')
    .action(async (to: string, text: string) => {
      const amount = parseBnb(text, 'the amount');
      const dir = devnetDir(globals(), io.env, io.cwd);
      const f = await readDevnet(dir);
      if (!f) throw new InsituError('ERR_CONFIG', `no devnet in ${dir}: run "insitu devnet up" first, or pass --dir`);
      const r = await sendBnb({ rpcUrl: globals().rpc ?? f.rpcUrl, chainId: globals().chainId ?? f.chainId }, f.account.privateKey, to, amount);
      const fmt = (v: bigint): string => formatBnb(v, { baseUnits: globals().baseUnits === true });
      printer(io, globals().json === true).result(r, `funded ${r.to} with ${fmt(amount)} from the devnet account ${r.from}; it now holds ${fmt(r.balance)}`);
    });
}
