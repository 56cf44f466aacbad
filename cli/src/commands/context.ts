// What every command is built with: where it prints, the global options (read when it runs, after
// parsing), a client signing as the chosen key, and a printer for people or JSON.

import { createClient, type InsituClient } from '@insitu/sdk';
import { resolveNetwork, type GlobalOptions } from '../config.ts';
import { printer, type CliIO, type Printer } from '../io.ts';
import { formatBnb } from '../format.ts';

export interface CommandContext {
  io: CliIO;
  globals(): GlobalOptions;
  /** An SDK client for the network and key the global options name. */
  client(): Promise<InsituClient>;
  out(): Printer;
  /** An amount as people read it: BNB, or base units with --base-units. */
  bnb(v: bigint): string;
}

export function commandContext(io: CliIO, globals: () => GlobalOptions): CommandContext {
  return {
    io,
    globals,
    async client() {
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      return createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.privateKey! } });
    },
    out: () => printer(io, globals().json === true),
    bnb: (v) => formatBnb(v, { baseUnits: globals().baseUnits === true }),
  };
}
