// insitu rm <bucket>/<name>: delete an object.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { splitTarget } from '../parse.ts';

export function rmCommand({ client, out }: CommandContext): Command {
  return new Command('rm').description('delete an object').argument('<target>', '<bucket>/<name>').action(async (target: string) => {
    const { bucket: b, object } = splitTarget(target, true);
    const c = await client();
    const tx = await c.objects.delete(b, object!);
    out().result(tx, `deleted ${b}/${object}`);
  });
}
