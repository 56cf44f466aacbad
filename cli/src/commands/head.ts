// insitu head <bucket>/<name>: an object's size, checksums, status and where its pieces live.

import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { formatBytes, formatDate } from '../format.ts';
import { splitTarget } from '../parse.ts';

export function headCommand({ client, out }: CommandContext): Command {
  return new Command('head').description('show an object: size, checksums, status and where its pieces live').argument('<target>', '<bucket>/<name>')
    .action(async (target: string) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const h = await c.objects.head(b, object!);
      const lines = [
        `object     ${h.bucketName}/${h.objectName} (id ${h.id})`,
        `size       ${formatBytes(h.payloadSize)} (${h.payloadSize} bytes)`,
        `created    ${formatDate(h.createdAt)}`,
        `status     ${h.status}`,
        `visibility ${h.visibility}`,
        `owner      ${h.owner}`,
        `checksums  object  ${Buffer.from(h.checksums[0]!).toString('hex')}`,
        ...h.checksums.slice(1).map((x, i) => `           piece ${i} ${Buffer.from(x).toString('hex')}`),
        'placement',
        ...h.placement.map((p) => `  ${p.role === 'primary' ? 'primary (whole object)' : `piece ${p.index} (${p.role})`}\tprovider ${p.spId}\t${p.endpoint}`),
      ];
      out().result(h, lines.join('\n'));
    });
}
