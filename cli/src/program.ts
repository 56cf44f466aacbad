// createProgram(io): the insitu command, testable in process (exitOverride, configureOutput).
// Exit codes: 0 done, 1 the command failed (an ERR_... code), 2 the command line does not parse
// (ERR_USAGE: a one-line reason and the command's usage).

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InsituError } from '@insitu/protocol';
import type { GlobalOptions } from './config.ts';
import { toJson, type CliIO } from './io.ts';
import { commandContext } from './commands/context.ts';
import { devnetCommand } from './commands/devnet.ts';
import { bucketCommand } from './commands/bucket.ts';
import { objectCommand } from './commands/object.ts';
import { putCommand } from './commands/put.ts';
import { lsCommand } from './commands/ls.ts';
import { headCommand } from './commands/head.ts';
import { getCommand } from './commands/get.ts';
import { rmCommand } from './commands/rm.ts';
import { cancelCommand } from './commands/cancel.ts';
import { policyCommand } from './commands/policy.ts';
import { groupCommand } from './commands/group.ts';
import { accountCommand } from './commands/account.ts';
import { paymentAccountCommand } from './commands/payment-account.ts';
import { jobCommand } from './commands/job.ts';
import { offerCommand } from './commands/offer.ts';
import { providerCommand } from './commands/provider.ts';
import { nodeCommand } from './commands/node.ts';
import { validatorCommand } from './commands/validator.ts';
import { keyCommand } from './commands/key.ts';
import { sendCommand } from './commands/send.ts';
import { completionCommand } from './commands/completion.ts';

/** The CLI's version, from its package.json. */
export const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The command a usage error came from, for printing its usage line. */
const failedCommand = new WeakMap<Command, Command>();

export function createProgram(io: CliIO): Command {
  const program = new Command('insitu')
    .description('insitu — decentralized storage that runs your code where your data lives')
    .option('--dir <dir>', 'devnet directory holding devnet.json (default ./.insitu or $INSITU_HOME)')
    .option('--rpc <url>', 'chain RPC URL')
    .option('--chain-id <id>', 'chain id (e.g. insitu_9000-1)')
    .option('--key <file|name>', 'the signing account: a key file, or a key name from "insitu key ls" (default $INSITU_KEY, else the devnet\'s account)')
    .addOption(new Option('--key-file <file>', 'the same as --key').hideHelp())
    .option('--json', 'print results as JSON (raw values: sizes in bytes, amounts in base units)')
    .option('--base-units', 'print amounts in base units (wei) instead of BNB')
    .version(version, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    });
  const ctx = commandContext(io, () => program.opts<GlobalOptions>());
  // One commander Command per file (commands/<name>.ts), in the order help lists them.
  const commands = [
    devnetCommand, bucketCommand, objectCommand, putCommand, lsCommand, headCommand, getCommand, rmCommand, cancelCommand,
    policyCommand, groupCommand, accountCommand, paymentAccountCommand, jobCommand, offerCommand, providerCommand,
    nodeCommand, validatorCommand, keyCommand, sendCommand,
  ];
  for (const make of commands) program.addCommand(make(ctx));
  program.addCommand(completionCommand(io));
  // Options after a subcommand are global too (`insitu put a b --json`).
  program.enablePositionalOptions(false);
  // Usage errors are printed by run(), once, as one line plus the usage of the command they are about.
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => void failedCommand.set(program, cmd),
    });
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(program);
  return program;
}

/** A local file that is not there is ERR_NOT_FOUND whichever command opened it (module paths, inputs). */
function localFileError(e: unknown): InsituError | undefined {
  const x = e as NodeJS.ErrnoException;
  if (x?.code === 'ENOENT') return new InsituError('ERR_NOT_FOUND', `no such file: ${x.path ?? x.message}`, { cause: e });
  if (x?.code === 'EISDIR') return new InsituError('ERR_INVALID_ARGUMENT', `${x.path ?? 'the path'} is a directory, not a file`, { cause: e });
  return undefined;
}

const commandPath = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

/** Runs one command line; returns the process exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const json = program.opts<GlobalOptions>().json === true || argv.includes('--json');
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // `insitu help` is a request (0); `insitu` or `insitu bucket` alone names no command: help on stderr, a usage error.
      if (e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
      const cmd = failedCommand.get(program) ?? program;
      const reason = e.message.replace(/^error: /, '');
      const usage = `${commandPath(cmd)} ${cmd.usage()}`;
      if (json) io.stderr.write(`${toJson({ error: { code: 'ERR_USAGE', message: reason, usage, commanderCode: e.code } })}\n`);
      else io.stderr.write(`error ERR_USAGE: ${reason}\nusage: ${usage}\n(see ${commandPath(cmd)} --help)\n`);
      return 2;
    }
    const err = e instanceof InsituError ? e : localFileError(e) ?? new InsituError('ERR_INTERNAL', e instanceof Error ? e.message : String(e));
    if (json) io.stderr.write(`${toJson({ error: err.toJSON() })}\n`);
    else io.stderr.write(`error ${err.code}: ${err.message}\n`);
    return 1;
  }
}
