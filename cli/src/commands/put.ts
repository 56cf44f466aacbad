// insitu put <file|-> <bucket>/<name>: an upload, streamed, with progress on a terminal.

import { resolve } from 'node:path';
import { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import type { CommandContext } from './context.ts';
import { progressBar } from '../io.ts';
import { formatBytes } from '../format.ts';
import { splitTarget } from '../parse.ts';

export function putCommand({ io, client, out }: CommandContext): Command {
  return new Command('put').description('upload a file (or stdin with "-") as an object, streamed; any size')
    .argument('<file>', 'a file, or - for stdin').argument('<target>', '<bucket>/<name>')
    .option('--public-read', 'anyone may read this object').option('--content-type <type>')
    .option('--replace-stale', 'cancel an unfinished upload of other content under this name first')
    .action(async (file: string, target: string, o: { publicRead?: boolean; contentType?: string; replaceStale?: boolean }) => {
      const { bucket: b, object } = splitTarget(target, true);
      if (file === '-' && !io.stdin) throw new InsituError('ERR_INVALID_ARGUMENT', 'no stdin to read from');
      const c = await client();
      const bar = progressBar(io, `put ${target}`);
      let info;
      try {
        info = await c.objects.put(b, object!, file === '-' ? io.stdin! : resolve(io.cwd, file), {
          ...(o.publicRead ? { visibility: 'public-read' as const } : {}),
          ...(o.contentType ? { contentType: o.contentType } : {}),
          ...(o.replaceStale ? { replaceStale: true } : {}),
          onProgress: (sent, total) => bar.update(sent, total),
        });
      } finally {
        bar.done();
      }
      out().result(info, `stored ${b}/${object} (${formatBytes(info.payloadSize)}, object id ${info.id}, ${info.status})`);
    });
}
