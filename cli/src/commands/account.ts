// insitu account [address]: balance, what the account pays per month, when its balance runs out,
// its payment accounts.

import { Command } from 'commander';
import type { PaymentView } from '@insitu/protocol/chain';
import type { CommandContext } from './context.ts';
import { formatDate } from '../format.ts';
import { parseAddress } from '../parse.ts';

const MONTH_S = 30n * 86_400n;

function describe(v: PaymentView, bnb: (v: bigint) => string): string {
  const lines = [
    `address      ${v.address}${v.paymentAccount ? `  (payment account of ${v.paymentAccount.owner}${v.paymentAccount.refundable ? '' : ', not refundable'})` : ''}`,
    `balance      ${bnb(v.bankBalance)} in the bank`,
    `stream       ${bnb(v.staticBalance)} static + ${bnb(v.bufferBalance)} reserve buffer + ${bnb(v.lockBalance)} locked`,
  ];
  if (v.frozen) {
    lines.push(`status       FROZEN: reads and jobs on its buckets are refused; deposit ${bnb(-v.frozenNetflowRate * (180n * 86_400n + 86_400n))} or more to resume`);
  } else if (v.netflowRate < 0n) {
    lines.push(`flow rate    ${bnb(v.netflowRate * MONTH_S)} per 30 days (${v.netflowRate} base units per second)`);
    const years = (v.runsOutAt! - v.now) / (365n * 86_400n);
    const when = years < 5000n ? formatDate(Number(v.runsOutAt!) * 1000) : `in about ${years} years`;
    lines.push(`runs out     ${when} (chain time; then frozen unless topped up)`);
  } else {
    lines.push(`flow rate    ${v.netflowRate === 0n ? 'nothing flows' : `+${bnb(v.netflowRate * MONTH_S)} per 30 days (income)`}`);
  }
  return lines.join('\n');
}

export function accountCommand({ client, out, bnb }: CommandContext): Command {
  return new Command('account').description('show an account: balance, what it pays per month, when its balance runs out, its payment accounts')
    .argument('[address]', 'another account (default: yours)')
    .action(async (who?: string) => {
      const c = await client();
      const v = await c.payments.view(who ? parseAddress(who, 'the account') : c.address);
      const acct = await c.chain.getAccount(v.address).catch(() => undefined);
      const text = [describe(v, bnb), ...(acct ? [`nonce        ${acct.nonce}`] : []),
        ...(v.paymentAccounts?.length ? ['payment accounts:', ...v.paymentAccounts.map((p) => `  ${p.address}  ${bnb(p.staticBalance)}  ${p.frozen ? 'FROZEN' : `${bnb(p.netflowRate * MONTH_S)}/30d`}${p.paymentAccount?.refundable === false ? '  not refundable' : ''}`)] : [])];
      out().result({ ...v, balance: v.bankBalance, nonce: acct?.nonce }, text.join('\n'));
    });
}
