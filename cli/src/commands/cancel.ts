// insitu cancel <bucket>/<name>: cancel an unfinished upload so its name can be reused.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { splitTarget } from '../parse.ts';

export function cancelCommand({ client, out }: CommandContext): Command {
  return new Command('cancel').description('cancel an unfinished upload so its name can be reused').argument('<target>', '<bucket>/<name>')
    .action(async (target: string) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const tx = await c.objects.cancel(b, object!);
      out().result(tx, `cancelled the upload of ${b}/${object}`);
    });
}
