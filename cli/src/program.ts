// createProgram(io): the insitu command, testable in process (exitOverride, configureOutput).

import { Command, CommanderError } from 'commander';
import { InsituError } from '@insitu/sdk/errors.ts';
import type { GlobalOptions } from './config.ts';
import { toJson, type CliIO } from './io.ts';
import { storageCommands } from './commands/storage.ts';
import { devnetCommands } from './commands/devnet.ts';
import { jobCommands } from './commands/jobs.ts';
import { offerCommands } from './commands/offers.ts';
import { nodeCommands } from './commands/node.ts';
import { paymentCommands } from './commands/payments.ts';
import { validatorCommands } from './commands/validator.ts';

export function createProgram(io: CliIO): Command {
  const program = new Command('insitu')
    .description('insitu — decentralized storage that runs your code where your data lives')
    .option('--dir <dir>', 'devnet directory holding devnet.json (default ./.insitu or $INSITU_HOME)')
    .option('--rpc <url>', 'chain RPC URL')
    .option('--chain-id <id>', 'chain id (e.g. insitu_9000-1)')
    .option('--key-file <file>', 'file holding the account private key')
    .option('--json', 'print results as JSON')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .showHelpAfterError();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  devnetCommands(program, io, globals);
  storageCommands(program, io, globals);
  paymentCommands(program, io, globals);
  jobCommands(program, io, globals);
  offerCommands(program, io, globals);
  nodeCommands(program, io, globals);
  validatorCommands(program, io, globals);
  // Options after a subcommand are global too (`insitu put a b --json`).
  program.enablePositionalOptions(false);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });
  return program;
}

/** Runs one command line; returns the process exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      return 2;
    }
    const err = e instanceof InsituError ? e : new InsituError('ERR_INTERNAL', e instanceof Error ? e.message : String(e));
    if (program.opts<GlobalOptions>().json) io.stderr.write(`${toJson({ error: err.toJSON() })}\n`);
    else io.stderr.write(`error ${err.code}: ${err.message}\n`);
    return 1;
  }
}
