// Where the CLI finds the network and the signing key: --dir <devnet dir> (default ./.insitu or
// $INSITU_HOME, holding devnet.json), or explicit --rpc / --chain-id / --key-file.

import { join, resolve } from 'node:path';
import { InsituError } from '@insitu/sdk/errors.ts';
import type { Hex } from '@insitu/sdk/crypto/keys.ts';
import { devnetDir as sdkDevnetDir, readDevnet, type DevnetFile } from '@insitu/sdk/config.ts';
import { readKeyFile } from '@insitu/sdk/keyfile.ts';

export { readDevnet, readKeyFile, type DevnetFile };

export interface GlobalOptions {
  dir?: string;
  rpc?: string;
  chainId?: string;
  keyFile?: string;
  json?: boolean;
}

export const devnetDir = (opts: GlobalOptions, env: NodeJS.ProcessEnv, cwd: string): string =>
  sdkDevnetDir({ ...(opts.dir !== undefined ? { dir: opts.dir } : {}), env, cwd });

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
