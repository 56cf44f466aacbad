// A writable stream that keeps what is written to it: the stdout and stderr the CLI's tests give
// `run` and read back.

import { Writable } from 'node:stream';

export type Captured = Writable & { text(): string; bytes(): Buffer };

export function capture(): Captured {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }) as Captured;
  w.text = () => Buffer.concat(chunks).toString('utf8');
  w.bytes = () => Buffer.concat(chunks);
  return w;
}
