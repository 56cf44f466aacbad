// Where the CLI finds the network and the signing key: --dir <devnet dir> (default ./.insitu or
// $INSITU_HOME, holding devnet.json), or explicit --rpc / --chain-id; the key from --key <file or
// name> (alias --key-file), else $INSITU_KEY, else the devnet's funded account.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InsituError } from '@insitu/protocol';
import type { Hex } from '@insitu/protocol';
import { devnetDir as sdkDevnetDir, readDevnet, type DevnetFile } from '@insitu/sdk';
import { readKeyFile } from '@insitu/protocol';

export { readDevnet, readKeyFile, type DevnetFile };

export interface GlobalOptions {
  dir?: string;
  rpc?: string;
  chainId?: string;
  /** A key file, or the name of a key made with `insitu key new`. */
  key?: string;
  /** The older spelling of --key. */
  keyFile?: string;
  json?: boolean;
  /** Amounts in base units instead of BNB. */
  baseUnits?: boolean;
}

/** Where `insitu key new|import` keeps keys: $INSITU_KEYS, else ~/.insitu/keys. */
export const keysDir = (env: NodeJS.ProcessEnv): string => resolve(env.INSITU_KEYS ?? join(env.HOME ?? homedir(), '.insitu', 'keys'));

/** A key name is letters, digits, dot, dash and underscore; it names <keys dir>/<name>.key. */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A --key value as a file: a path that exists, else a key name in the keys dir, else the path (reading it reports it missing). */
export function keyPath(spec: string, env: NodeJS.ProcessEnv, cwd: string): string {
  const asPath = resolve(cwd, spec);
  if (existsSync(asPath) || !KEY_NAME.test(spec) || spec.endsWith('.key')) return asPath;
  const named = join(keysDir(env), `${spec}.key`);
  return existsSync(named) ? named : asPath;
}

/** The key the user named (--key, --key-file, $INSITU_KEY), as a file path; undefined if none. */
export function namedKey(opts: GlobalOptions, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const spec = opts.key ?? opts.keyFile ?? (env.INSITU_KEY || undefined);
  return spec === undefined ? undefined : keyPath(spec, env, cwd);
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
    throw new InsituError('ERR_CONFIG', `no network: start one with "insitu devnet up" (looked for ${join(dir, 'devnet.json')}) or pass --rpc and --chain-id`);
  }
  if (!/^\d+$/.test(chainId) && !/_\d+-\d+$/.test(chainId)) {
    throw new InsituError('ERR_INVALID_ARGUMENT', `chain id "${chainId}" is neither numeric nor of the form name_<number>-<version> (e.g. insitu_9000-1)`);
  }
  let privateKey: Hex | undefined;
  const named = namedKey(opts, env, cwd);
  if (named) privateKey = await readKeyFile(named);
  else if (devnet) privateKey = devnet.account.privateKey;
  if (needKey && !privateKey) throw new InsituError('ERR_CONFIG', 'no signing key: pass --key <file or name>, set INSITU_KEY, or use a devnet dir');
  return { rpcUrl, chainId, ...(privateKey ? { privateKey } : {}) };
}
