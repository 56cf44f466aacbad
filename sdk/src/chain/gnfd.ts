// The one adapter that loads @bnb-chain/greenfield-js-sdk (CommonJS through createRequire: its
// ESM build does not load under plain Node 20).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface GreenfieldClient {
  account: any;
  bucket: any;
  object: any;
  sp: any;
  storage: any;
  virtualGroup: any;
  txClient: any;
  spClient: any;
}

interface GreenfieldSdk {
  Client: { create(rpcUrl: string, chainId: string): GreenfieldClient };
}

let sdk: GreenfieldSdk | undefined;

export function greenfieldSdk(): GreenfieldSdk {
  sdk ??= require('@bnb-chain/greenfield-js-sdk') as GreenfieldSdk;
  return sdk;
}

/** greenfield-js-sdk takes the numeric EIP-155 chain id; accept the cosmos form too. */
export function sdkChainId(chainId: string): string {
  if (/^\d+$/.test(chainId)) return chainId;
  const m = /_(\d+)-\d+$/.exec(chainId);
  if (!m) throw new TypeError(`chain id "${chainId}" is neither numeric nor of the form name_<number>-<version>`);
  return m[1]!;
}
