// Where the CLI finds the network and the signing key: --dir <devnet dir> (default ./.insitu or
// $INSITU_HOME, holding devnet.json), or explicit --rpc / --chain-id / --key-file.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InsituError } from '@insitu/sdk/errors.ts';
import { normalizePrivateKey, type Hex } from '@insitu/sdk/crypto/keys.ts';

export interface DevnetFile {
  chainId: string;
  evmChainId: string;
  rpcUrl: string;
  control: string;
  dir: string;
  nodes: { index: number; endpoint: string; operatorAddress: Hex; pid?: number }[];
  account: { address: Hex; privateKey: Hex; keyFile: string };
}

export interface GlobalOptions {
  dir?: string;
  rpc?: string;
  chainId?: string;
  keyFile?: string;
  json?: boolean;
}

export const devnetDir = (opts: GlobalOptions, env: NodeJS.ProcessEnv, cwd: string): string =>
  resolve(cwd, opts.dir ?? env.INSITU_HOME ?? '.insitu');

export async function readDevnet(dir: string): Promise<DevnetFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InsituError('ERR_CONFIG', `${join(dir, 'devnet.json')} is not readable JSON`, { cause: e });
  }
}

export async function readKeyFile(path: string): Promise<Hex> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (cause) {
    throw new InsituError('ERR_CONFIG', `cannot read key file ${path}`, { cause });
  }
  const key = text.startsWith('{') ? (JSON.parse(text) as { privateKey?: string }).privateKey ?? '' : text;
  return normalizePrivateKey(key);
}

export interface Network {
  rpcUrl: string;
  chainId: string;
  privateKey?: Hex;
}

export async function resolveNetwork(opts: GlobalOptions, env: NodeJS.ProcessEnv, cwd: string, needKey: boolean): Promise<Network> {
  const dir = devnetDir(opts, env, cwd);
  const devnet = opts.rpc && opts.chainId ? undefined : await readDevnet(dir);
  const rpcUrl = opts.rpc ?? devnet?.rpcUrl;
  const chainId = opts.chainId ?? devnet?.chainId;
  if (!rpcUrl || !chainId) {
    throw new InsituError('ERR_CONFIG', `no network: start one with "npx insitu devnet up" (looked for ${join(dir, 'devnet.json')}) or pass --rpc and --chain-id`);
  }
  let privateKey: Hex | undefined;
  if (opts.keyFile) privateKey = await readKeyFile(resolve(cwd, opts.keyFile));
  else if (devnet) privateKey = devnet.account.privateKey;
  if (needKey && !privateKey) throw new InsituError('ERR_CONFIG', 'no signing key: pass --key-file <file> or use a devnet dir');
  return { rpcUrl, chainId, ...(privateKey ? { privateKey } : {}) };
}
