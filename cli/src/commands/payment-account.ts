// insitu payment-account create|ls|deposit|withdraw|disable-refund: accounts that pay for buckets.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { table } from '../format.ts';
import { parseAddress, parseAmount } from '../parse.ts';

const MONTH_S = 30n * 86_400n;

export function paymentAccountCommand({ client, out, bnb }: CommandContext): Command {
  const pay = new Command('payment-account').description('accounts that pay for buckets: create, list, fund, withdraw');
  pay.command('create').description('create a payment account owned by you').action(async () => {
    const c = await client();
    const r = await c.payments.createAccount();
    out().result(r, `created payment account ${r.address} (fund it with "insitu payment-account deposit <amount> --to ${r.address}")`);
  });
  pay.command('ls').description('your payment accounts with their balances').action(async () => {
    const c = await client();
    const list = (await c.payments.view()).paymentAccounts ?? [];
    out().result(list, list.length
      ? table(['ADDRESS', 'BALANCE', 'PER 30 DAYS'], list.map((p) => [p.address, bnb(p.staticBalance + p.bufferBalance), p.frozen ? 'FROZEN' : bnb(p.netflowRate * MONTH_S)]), { right: [1] })
      : '(no payment accounts)');
  });
  pay.command('deposit').argument('<amount>', 'BNB, e.g. 0.5 (or base units: 1000wei)').option('--to <address>', 'the account to fund (default: your own stream record)')
    .description('move BNB from your balance into a payment account (resumes it if it was frozen and this covers the reserve)')
    .action(async (amount: string, o: { to?: string }) => {
      const c = await client();
      const to = o.to ? parseAddress(o.to, '--to') : c.address;
      const value = parseAmount(amount, 'the amount');
      const r = await c.payments.deposit(to, value);
      const v = await c.payments.view(to);
      out().result({ ...r, account: v }, `deposited ${bnb(value)} into ${to}${v.frozen ? ' (still frozen: not enough to cover the reserve)' : ''}`);
    });
  pay.command('withdraw').argument('<amount>', 'BNB, e.g. 0.5 (or base units: 1000wei)').option('--from <address>', 'a refundable payment account of yours (default: your own stream record)')
    .action(async (amount: string, o: { from?: string }) => {
      const c = await client();
      const from = o.from ? parseAddress(o.from, '--from') : c.address;
      const value = parseAmount(amount, 'the amount');
      const r = await c.payments.withdraw(from, value);
      out().result(r, `withdrew ${bnb(value)} from ${from}`);
    });
  pay.command('disable-refund').argument('<address>').description('make a payment account non-refundable, for good').action(async (addr: string) => {
    const c = await client();
    const r = await c.payments.disableRefund(parseAddress(addr, 'the payment account'));
    out().result(r, `${addr} is no longer refundable`);
  });
  return pay;
}
