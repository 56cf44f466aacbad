// insitu ls <bucket>: the objects of a bucket (the job modules stored for its owner's jobs only with --all).

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { formatBytes, formatDate, table } from '../format.ts';
import { isJobModule } from '../job-modules.ts';

export function lsCommand({ client, out }: CommandContext): Command {
  return new Command('ls').description('list the objects of a bucket').argument('<bucket>').option('--prefix <prefix>')
    .option('--all', 'also the job modules stored for your jobs (.insitu/modules/)')
    .action(async (b: string, o: { prefix?: string; all?: boolean }) => {
      const c = await client();
      // A bucket that does not exist is an error, not an empty listing (ERR_BUCKET_NOT_FOUND).
      await c.buckets.head(b);
      const all = await c.objects.list(b, o.prefix ? { prefix: o.prefix } : {});
      const list = o.all ? all : all.filter((x) => !isJobModule(x.objectName));
      if (list.length < all.length) out().info(`(${all.length - list.length} stored job module${all.length - list.length > 1 ? 's' : ''} not shown; --all shows them)`);
      out().result(list, list.length
        ? table(['NAME', 'SIZE', 'STATUS', 'CREATED'], list.map((x) => [x.objectName, formatBytes(x.payloadSize), x.status, formatDate(x.createdAt)]), { right: [1] })
        : '(no objects)');
    });
}
