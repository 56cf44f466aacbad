// The CLI's I/O: where it prints, whether for people or as JSON, and the environment it reads.

import type { Readable, Writable } from 'node:stream';

export interface CliIO {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  /** Read by `put - <bucket>/<name>`. */
  stdin?: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user asks to stop (Ctrl-C); long-running commands wait on it. */
  interrupted?: Promise<void>;
}

export interface Printer {
  json: boolean;
  /** A result: JSON when --json, otherwise the human text. */
  result(value: unknown, human: string): void;
  info(line: string): void;
}

export const toJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2);

export function printer(io: CliIO, json: boolean): Printer {
  return {
    json,
    result(value, human) {
      io.stdout.write(json ? `${toJson(value)}\n` : human.endsWith('\n') ? human : `${human}\n`);
    },
    info(line) {
      if (!json) io.stderr.write(`${line}\n`);
    },
  };
}

/** A one-line progress bar on a TTY; silent otherwise. */
export function progressBar(io: CliIO, label: string): { update(done: bigint, total: bigint): void; done(): void } {
  const tty = io.stderr.isTTY === true;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const pct = total === 0n ? 100 : Number((done * 1000n) / total) / 10;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(1)}% ${formatBytes(done)}/${formatBytes(total)}`);
    },
    done() {
      if (tty) io.stderr.write('\n');
    },
  };
}

export function formatBytes(n: bigint | number): string {
  const v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(1)} ${units[i]}`;
}
