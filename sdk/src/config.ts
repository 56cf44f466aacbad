// A devnet as other tools find it: <dir>/devnet.json, written by `insitu devnet up`, in
// ./.insitu or $INSITU_HOME unless told otherwise. Lets SDK users connect to a local devnet with
// `createClient(await devnetClientOptions())`.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InsituError } from '@insitu/protocol';
import type { Hex } from '@insitu/protocol';

export interface DevnetFile {
  chainId: string;
  evmChainId: string;
  /** The chain's RPC; on a devnet of validators every validator's, comma-separated (clients fail over). */
  rpcUrl: string;
  /** Each validator's CometBFT RPC (devnets of validators). */
  rpcUrls?: string[];
  /** The supervisor's control endpoint on 127.0.0.1. */
  control: string;
  dir: string;
  nodes: { index: number; endpoint: string; operatorAddress: Hex; pid?: number }[];
  /** The funded account, its key also in keyFile. */
  account: { address: Hex; privateKey: Hex; keyFile: string };
}

/** --dir if given, else $INSITU_HOME, else ./.insitu (relative to cwd). */
export function devnetDir(opts: { dir?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  return resolve(opts.cwd ?? process.cwd(), opts.dir ?? (opts.env ?? process.env).INSITU_HOME ?? '.insitu');
}

/** The devnet.json in dir, or undefined when there is none. */
export async function readDevnet(dir: string): Promise<DevnetFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'devnet.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InsituError('ERR_CONFIG', `${join(dir, 'devnet.json')} is not readable`, { cause: e });
  }
  try {
    const file = JSON.parse(text) as DevnetFile;
    if (typeof file.rpcUrl !== 'string' || typeof file.chainId !== 'string') throw new TypeError('rpcUrl and chainId are missing');
    return file;
  } catch (cause) {
    throw new InsituError('ERR_CONFIG', `${join(dir, 'devnet.json')} is not a devnet description`, { cause });
  }
}

/** createClient options for the funded account of the devnet in dir (default devnetDir()). */
export async function devnetClientOptions(dir: string = devnetDir()): Promise<{ chain: { rpcUrl: string; chainId: string }; account: { privateKey: Hex } }> {
  const file = await readDevnet(dir);
  if (!file) throw new InsituError('ERR_CONFIG', `no devnet in ${dir}: start one with "insitu devnet up"`);
  return { chain: { rpcUrl: file.rpcUrl, chainId: file.chainId }, account: { privateKey: file.account.privateKey } };
}
