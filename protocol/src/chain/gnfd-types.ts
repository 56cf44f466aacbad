// The one place insitu loads @bnb-chain/greenfield-cosmos-types (its ESM build does not load
// under plain Node, so it is required as CommonJS) and resolves protobuf codecs by name.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface Codec<T = Record<string, unknown>> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: Record<string, unknown>): T;
  toSDK?(message: T): Record<string, unknown>;
}

const modules = new Map<string, Record<string, unknown>>();

/** Loads a generated module by its path inside the package, e.g. 'greenfield/storage/tx'. */
export function gnfdModule(path: string): Record<string, unknown> {
  let mod = modules.get(path);
  if (!mod) {
    mod = require(`@bnb-chain/greenfield-cosmos-types/${path}`) as Record<string, unknown>;
    modules.set(path, mod);
  }
  return mod;
}

export function codec<T = Record<string, unknown>>(path: string, name: string): Codec<T> {
  const c = gnfdModule(path)[name] as Codec<T> | undefined;
  if (!c || typeof c.decode !== 'function') throw new Error(`no protobuf codec ${name} in ${path}`);
  return c;
}

const extensions = new Map<string, Codec>();

/** Registers the codec of one of insitu's own messages (see compute-types.ts). */
export function registerMsgCodec(typeUrl: string, c: Codec): void {
  extensions.set(typeUrl, c);
}

/** '/greenfield.storage.MsgCreateBucket' → the codec from greenfield/storage/tx. */
export function msgCodec(typeUrl: string): Codec | undefined {
  const own = extensions.get(typeUrl);
  if (own) return own;
  const m = /^\/([a-z0-9_.]+)\.([A-Za-z0-9]+)$/.exec(typeUrl);
  if (!m) return undefined;
  try {
    return codec(`${m[1]!.replaceAll('.', '/')}/tx`, m[2]!);
  } catch {
    return undefined;
  }
}

/** Codecs found by queryCodecs, by query path (a fixed set: the generated modules do not change). */
const queryCodecsFound = new Map<string, { request: Codec; response: Codec }>();

/**
 * '/greenfield.storage.Query/HeadBucket' → request and response codecs. Found once per path: the
 * search tries naming conventions by catching thrown misses, which cost more than a query's own
 * decoding when repeated for every query a node or client asks.
 */
export function queryCodecs(path: string): { request: Codec; response: Codec } | undefined {
  const found = queryCodecsFound.get(path);
  if (found) return found;
  const m = /^\/([a-z0-9_.]+)\.(Query|Service)\/([A-Za-z0-9]+)$/.exec(path);
  if (!m) return undefined;
  const file = `${m[1]!.replaceAll('.', '/')}/${m[2] === 'Query' ? 'query' : 'service'}`;
  const method = m[3]!;
  const tryCodec = (names: string[]): Codec | undefined => {
    for (const n of names) {
      try {
        return codec(file, n);
      } catch {
        // try the next naming convention
      }
    }
    return undefined;
  };
  // By-id variants answer with the plain response type (HeadObjectById → QueryHeadObjectResponse).
  const plain = method.replace(/ById$/, '');
  const request = tryCodec([`Query${method}Request`, `${method}Request`, `QueryGet${method}Request`]);
  const response = tryCodec([`Query${method}Response`, `${method}Response`, `Query${plain}Response`, `QueryGet${method}Response`]);
  if (!request || !response) return undefined;
  if (queryCodecsFound.size < 256) queryCodecsFound.set(path, { request, response });
  return { request, response };
}

export const Long = require('long') as {
  fromString(s: string, unsigned?: boolean): unknown;
  fromValue(v: unknown): { toString(): string };
  UZERO: unknown;
};

/** Converts protobuf Long / number / string to bigint. */
export function big(v: unknown): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  return BigInt((v as { toString(): string }).toString());
}

export const toLong = (v: bigint | number): unknown => Long.fromString(String(v), true);

/** greenfield-cosmos-types' helpers (timestamps, base64) used when building EIP-712 values. */
export const gnfdHelpers = (): { fromTimestamp(t: unknown): Date; base64FromBytes(b: Uint8Array): string } =>
  gnfdModule('helpers') as never;
