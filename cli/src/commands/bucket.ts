// insitu bucket create|ls|rm|update|quota: buckets, who reads them, who pays for them, their read quota.

import { Command } from 'commander';
import { InsituError, isAddress } from '@insitu/protocol';
import type { CommandContext } from './context.ts';
import { formatBytes, formatDate, table } from '../format.ts';
import { parseSize } from '../parse.ts';

export function bucketCommand({ client, out }: CommandContext): Command {
  const bucket = new Command('bucket').description('create, list and remove buckets');
  bucket.command('create').argument('<name>').option('--public-read', 'anyone may read its objects (default: private)')
    .option('--primary <address>', 'operator address of the primary storage provider')
    .option('--payment-account <address>', 'pay from one of your payment accounts (default: your own account)')
    .option('--read-quota <size>', 'read quota to buy per month on top of the free quota, e.g. 10GiB')
    .action(async (name: string, o: { publicRead?: boolean; primary?: string; paymentAccount?: string; readQuota?: string }) => {
      const c = await client();
      const b = await c.buckets.create(name, {
        visibility: o.publicRead ? 'public-read' : 'private', ...(o.primary ? { primarySp: o.primary as `0x${string}` } : {}),
        ...(o.paymentAccount ? { paymentAddress: o.paymentAccount as `0x${string}` } : {}),
        ...(o.readQuota ? { chargedReadQuota: parseSize(o.readQuota, '--read-quota') } : {}),
      });
      out().result(b, `created bucket ${b.name} (${b.visibility}, primary provider ${b.primarySpId})`);
    });
  bucket.command('ls').description('list your buckets').action(async () => {
    const c = await client();
    const list = await c.buckets.list();
    out().result(list, list.length ? table(['NAME', 'VISIBILITY', 'PRIMARY', 'CREATED'], list.map((b) => [b.name, b.visibility, b.primarySpId, formatDate(b.createdAt)])) : '(no buckets)');
  });
  bucket.command('rm').argument('<name>').description('remove a bucket that holds no objects (its stored job modules go with it)').action(async (name: string) => {
    const c = await client();
    // The SDK removes the job modules it stored in the bucket with it (ERR_JOB_RUNNING while a job may still need one).
    const tx = await c.buckets.delete(name);
    const n = tx.removedJobModules.length;
    out().result(tx, `removed bucket ${name}${n ? ` (and ${n} stored job module${n > 1 ? 's' : ''})` : ''}`);
  });

  bucket.command('update').argument('<name>').description('change who may read the bucket\'s objects, or who pays for it')
    .option('--visibility <v>', 'private or public-read')
    .option('--payment-account <address>', 'pay from this payment account of yours (or your own address)')
    .action(async (name: string, o: { visibility?: string; paymentAccount?: string }) => {
      if (!o.visibility && !o.paymentAccount) throw new InsituError('ERR_INVALID_ARGUMENT', 'say what to change: --visibility and/or --payment-account');
      const c = await client();
      const done: string[] = [];
      let tx;
      if (o.visibility) {
        tx = await c.buckets.update(name, { visibility: o.visibility as 'private' });
        done.push(`is now ${o.visibility}`);
      }
      if (o.paymentAccount) {
        if (!isAddress(o.paymentAccount)) throw new InsituError('ERR_INVALID_ARGUMENT', `--payment-account must be an address, not "${o.paymentAccount}"`);
        tx = await c.buckets.setPaymentAccount(name, o.paymentAccount as `0x${string}`);
        done.push(`is paid by ${o.paymentAccount}`);
      }
      out().result(tx, `bucket ${name} ${done.join(' and ')}`);
    });

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
  return bucket;
}
