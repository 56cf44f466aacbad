// The process side of the CLI: real stdio, Ctrl-C handling, exit codes.

import { run } from './program.ts';

export async function main(argv: string[]): Promise<number> {
  let onInterrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (onInterrupt = resolve));
  let count = 0;
  const handler = (): void => {
    count++;
    if (count > 1) process.exit(130);
    onInterrupt();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await run(argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), interrupted });
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv);
}
