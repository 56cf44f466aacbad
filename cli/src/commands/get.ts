// insitu get <bucket>/<name> [file]: a verified download to a file (renamed into place once whole) or stdout.

import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import type { CommandContext } from './context.ts';
import { printer, progressBar } from '../io.ts';
import { formatBytes } from '../format.ts';
import { splitTarget, parseRange } from '../parse.ts';

/**
 * Writes `chunk` and waits until the stream is done with it (the download reads into the chunk's
 * memory again next), or can take nothing more (closed or failed; the caller checks).
 */
function written(sink: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('close', done);
    sink.on('error', done);
    sink.write(chunk, () => done());
  });
}

export function getCommand({ io, globals, client, out }: CommandContext): Command {
  return new Command('get').description('download an object to a file or stdout').argument('<target>', '<bucket>/<name>').argument('[file]')
    .option('--range <a-b>', 'only bytes a..b (inclusive)')
    .action(async (target: string, file: string | undefined, o: { range?: string }) => {
      const { bucket: b, object } = splitTarget(target, true);
      const range = o.range ? parseRange(o.range) : undefined;
      const c = await client();
      const path = file ? resolve(io.cwd, file) : undefined;
      // A bar only when the bytes go to a file and a person watches stderr.
      const bar = path && io.stderr.isTTY ? progressBar(io, `get ${target}`) : undefined;
      let total = 0n;
      if (bar) {
        const size = (await c.objects.head(b, object!)).payloadSize;
        total = range ? BigInt(Math.max(0, Math.min(range.end, Number(size) - 1) - range.start + 1)) : size;
      }
      // Written beside the target and renamed into place once complete and verified, so a failed
      // download neither leaves partial bytes nor destroys a file that was there before.
      const partial = path ? `${path}.partial-${process.pid}` : undefined;
      const sink = partial ? createWriteStream(partial) : io.stdout;
      // A reader that closes the pipe early (`insitu get … | head`) ends the download quietly.
      let sinkError: Error | undefined;
      const onSinkError = (e: Error): void => void (sinkError ??= e);
      sink.on('error', onSinkError);
      const closedPipe = (e: unknown): boolean => !path && (e as NodeJS.ErrnoException)?.code === 'EPIPE';
      const ac = new AbortController();
      let bytes = 0;
      try {
        if (path) {
          try {
            await once(sink, 'open');
          } catch (cause) {
            throw new InsituError('ERR_INVALID_ARGUMENT', `cannot write ${file}: ${(cause as Error).message}`, { cause });
          }
        }
        // Each chunk is written out before the next is asked for: the download reuses its memory.
        const chunks = c.objects.get(b, object!, { ...(range ? { range } : {}), signal: ac.signal, reuseBuffers: true, onDegraded: (r) => printer(io, globals().json === true).info(`primary unavailable (${r}); reading from secondaries`) });
        for await (const chunk of chunks) {
          bytes += chunk.length;
          bar?.update(BigInt(bytes), total);
          await written(sink, chunk);
          if (sinkError) throw sinkError;
        }
        if (sinkError) throw sinkError;
        bar?.done();
      } catch (e) {
        ac.abort();
        if (closedPipe(e)) return;
        bar?.done();
        // A file holds either the whole verified answer or nothing.
        if (partial) {
          sink.destroy();
          await unlink(partial).catch(() => undefined);
        }
        throw e;
      }
      if (!path) sink.off('error', onSinkError);
      if (path) {
        sink.end();
        await once(sink, 'finish');
        await rename(partial!, path);
        out().result({ bucket: b, object, bytes, file: path }, `wrote ${formatBytes(bytes)} to ${file}`);
      }
    });
}
