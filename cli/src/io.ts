// The CLI's I/O: where it prints, whether for people or as JSON, and the environment it reads.

import type { Readable, Writable } from 'node:stream';
import { formatBytes, formatDuration } from './format.ts';

export { formatBytes };

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

/** A one-line progress bar on a TTY with speed and time left; silent otherwise. */
export function progressBar(io: CliIO, label: string): { update(done: bigint, total: bigint): void; done(): void } {
  const tty = io.stderr.isTTY === true;
  const started = performance.now();
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const pct = total === 0n ? 100 : Number((done * 1000n) / total) / 10;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      const seconds = (now - started) / 1000;
      const speed = seconds > 0 ? Number(done) / seconds : 0;
      const left = done >= total ? 0 : speed > 0 ? Number(total - done) / speed : Number.NaN;
      io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(1)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(Math.round(speed))}/s ${formatDuration(left)} left\x1b[K`);
    },
    done() {
      if (tty) io.stderr.write('\n');
    },
  };
}
