// The JSON the chain's own query paths (/insitu.*) and its stored values use: plain JSON, with
// bigints as {"$big": "<decimal>"} and bytes as {"$bytes": "<hex>"}, so both cross intact.

export const encodeJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? { $big: x.toString() } : x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x));

export const decodeJson = <T>(s: string): T =>
  JSON.parse(s, (_k, x) => {
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      if ('$big' in x && Object.keys(x).length === 1) return BigInt(x.$big);
      if ('$bytes' in x && Object.keys(x).length === 1) return new Uint8Array(Buffer.from(x.$bytes, 'hex'));
    }
    return x;
  }) as T;
