// insitu object update: change an object after upload.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { splitTarget } from '../parse.ts';

export function objectCommand({ client, out }: CommandContext): Command {
  const object = new Command('object').description('change an object after upload');
  object.command('update').argument('<target>', '<bucket>/<name>').description('change who may read the object')
    .requiredOption('--visibility <v>', 'private, public-read, or inherit (follow its bucket)')
    .action(async (target: string, o: { visibility: string }) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const tx = await c.objects.update(b, object!, { visibility: o.visibility as 'private' });
      out().result(tx, `${b}/${object} is now ${o.visibility}`);
    });
  return object;
}
