// insitu ls <bucket>: the objects of a bucket (the job modules stored for its owner's jobs only with --all).

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { formatBytes, formatDate, table } from '../format.ts';
import { isJobModule, JOB_MODULES_PREFIX, type InsituClient } from '@insitu/sdk';

export function lsCommand({ client, out }: CommandContext): Command {
  return new Command('ls').description('list the objects of a bucket').argument('<bucket>').option('--prefix <prefix>')
    .option('--all', 'also the job modules stored for your jobs (.insitu/modules/)')
    .action(async (b: string, o: { prefix?: string; all?: boolean }) => {
      const c = await client();
      // A bucket that does not exist is an error, not an empty listing (ERR_BUCKET_NOT_FOUND).
      await c.buckets.head(b);
      const list = await c.objects.list(b, { ...(o.prefix ? { prefix: o.prefix } : {}), ...(o.all ? { includeJobModules: true } : {}) });
      const hidden = o.all ? 0 : await hiddenModules(c, b, o.prefix ?? '');
      if (hidden > 0) out().info(`(${hidden} stored job module${hidden > 1 ? 's' : ''} not shown; --all shows them)`);
      out().result(list, list.length
        ? table(['NAME', 'SIZE', 'STATUS', 'CREATED'], list.map((x) => [x.objectName, formatBytes(x.payloadSize), x.status, formatDate(x.createdAt)]), { right: [1] })
        : '(no objects)');
    });
}

/** How many stored job modules under `prefix` the listing left out (one query, over the modules alone). */
async function hiddenModules(c: InsituClient, bucket: string, prefix: string): Promise<number> {
  if (!prefix.startsWith(JOB_MODULES_PREFIX) && !JOB_MODULES_PREFIX.startsWith(prefix)) return 0;
  const under = prefix.length > JOB_MODULES_PREFIX.length ? prefix : JOB_MODULES_PREFIX;
  return (await c.objects.list(bucket, { prefix: under, includeJobModules: true })).filter((x) => isJobModule(x.objectName)).length;
}
