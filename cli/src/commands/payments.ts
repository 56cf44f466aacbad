// Paying for storage from the command line: `insitu account` (balance, flow rate, when it runs
// out), payment accounts, deposits and withdrawals, a bucket's read quota, and the devnet's clock.

import type { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import { isAddress, type Hex } from '@insitu/protocol';
import type { PaymentView } from '@insitu/protocol/chain';
import { createClient, type InsituClient } from '@insitu/sdk';
import { resolveNetwork, type GlobalOptions } from '../config.ts';
import { printer, type CliIO } from '../io.ts';
import { formatBnb, formatBytes, formatDate, table } from '../format.ts';

const UNITS: Record<string, bigint> = { '': 1n, b: 1n, k: 1000n, kb: 1000n, kib: 1024n, m: 1000n ** 2n, mb: 1000n ** 2n, mib: 1024n ** 2n, g: 1000n ** 3n, gb: 1000n ** 3n, gib: 1024n ** 3n, t: 1000n ** 4n, tb: 1000n ** 4n, tib: 1024n ** 4n };

/** "3GiB", "500MB", "1048576" → bytes. */
export function parseSize(text: string, what: string): bigint {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a size such as 1048576, 500MB or 3GiB, not "${text}"`);
  return BigInt(m[1]!) * unit;
}

/** "1.5" BNB or "123wei" (base units) → base units. */
export function parseAmount(text: string, what: string): bigint {
  const t = text.trim();
  const wei = /^(\d+)wei$/i.exec(t);
  if (wei) return BigInt(wei[1]!);
  const m = /^(\d+)(?:\.(\d{1,18}))?(?:\s*BNB)?$/i.exec(t);
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be an amount of BNB such as 0.5 (or base units such as 1000wei), not "${text}"`);
  return BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0') || '0');
}

/** "30d", "12h", "90m", "3600s", "3600" → seconds. */
export function parseDuration(text: string): number {
  const m = /^\+?(\d+)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new InsituError('ERR_INVALID_ARGUMENT', `a duration looks like 3600, 90m, 12h, 30d or 2w, not "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 's') as 's'];
}


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

export function paymentCommands(program: Command, io: CliIO, globals: () => GlobalOptions): void {
  const client = async (): Promise<InsituClient> => {
    const net = await resolveNetwork(globals(), io.env, io.cwd, true);
    return createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.privateKey! } });
  };
  const out = () => printer(io, globals().json === true);
  const bnb = (v: bigint): string => formatBnb(v, { baseUnits: globals().baseUnits === true });
  const address = (text: string, what: string): Hex => {
    if (!isAddress(text)) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be an address (0x and 40 hex digits), not "${text}"`);
    return text as Hex;
  };

  program.command('account').description('show an account: balance, what it pays per month, when its balance runs out, its payment accounts')
    .argument('[address]', 'another account (default: yours)')
    .action(async (who?: string) => {
      const c = await client();
      const v = await c.payments.view(who ? address(who, 'the account') : c.address);
      const acct = await c.chain.getAccount(v.address).catch(() => undefined);
      const text = [describe(v, bnb), ...(acct ? [`nonce        ${acct.nonce}`] : []),
        ...(v.paymentAccounts?.length ? ['payment accounts:', ...v.paymentAccounts.map((p) => `  ${p.address}  ${bnb(p.staticBalance)}  ${p.frozen ? 'FROZEN' : `${bnb(p.netflowRate * MONTH_S)}/30d`}${p.paymentAccount?.refundable === false ? '  not refundable' : ''}`)] : [])];
      out().result({ ...v, balance: v.bankBalance, nonce: acct?.nonce }, text.join('\n'));
    });

  const pay = program.command('payment-account').description('accounts that pay for buckets: create, list, fund, withdraw');
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
      const to = o.to ? address(o.to, '--to') : c.address;
      const value = parseAmount(amount, 'the amount');
      const r = await c.payments.deposit(to, value);
      const v = await c.payments.view(to);
      out().result({ ...r, account: v }, `deposited ${bnb(value)} into ${to}${v.frozen ? ' (still frozen: not enough to cover the reserve)' : ''}`);
    });
  pay.command('withdraw').argument('<amount>', 'BNB, e.g. 0.5 (or base units: 1000wei)').option('--from <address>', 'a refundable payment account of yours (default: your own stream record)')
    .action(async (amount: string, o: { from?: string }) => {
      const c = await client();
      const from = o.from ? address(o.from, '--from') : c.address;
      const value = parseAmount(amount, 'the amount');
      const r = await c.payments.withdraw(from, value);
      out().result(r, `withdrew ${bnb(value)} from ${from}`);
    });
  pay.command('disable-refund').argument('<address>').description('make a payment account non-refundable, for good').action(async (addr: string) => {
    const c = await client();
    const r = await c.payments.disableRefund(address(addr, 'the payment account'));
    out().result(r, `${addr} is no longer refundable`);
  });

  const bucket = program.commands.find((cmd) => cmd.name() === 'bucket')!;
  bucket.command('quota').argument('<name>').description('show the bucket\'s read quota this month and what was read; --buy sets the quota bought per month')
    .option('--buy <size>', 'read quota to buy per month on top of the free quota, e.g. 10GiB (0 stops buying)')
    .option('--month <YYYY-MM>', 'another month')
    .action(async (name: string, o: { buy?: string; month?: string }) => {
      const c = await client();
      if (o.buy !== undefined) await c.buckets.buyQuota(name, parseSize(o.buy, '--buy'));
      const q = await c.buckets.quota(name, o.month ? { month: o.month } : {});
      const rate = o.buy !== undefined ? ` (now buying ${formatBytes(Number(q.readQuotaSize))} per month)` : '';
      out().result(q, [
        `bucket       ${q.bucketName}${rate}`,
        `month        ${q.yearMonth}`,
        `free         ${formatBytes(Number(q.spFreeReadQuotaSize))}, read ${formatBytes(Number(q.freeConsumedSize))}`,
        `bought       ${formatBytes(Number(q.readQuotaSize))}, read ${formatBytes(Number(q.readConsumedSize))}`,
        `remaining    ${formatBytes(Math.max(0, Number(q.remaining)))}`,
        `paid by      ${q.paymentAddress}${q.frozen ? ' (FROZEN: reads refused)' : ''}`,
      ].join('\n'));
    });
}

export { parseDuration as parseClockStep };
