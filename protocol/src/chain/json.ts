// The JSON the chain's own query paths (/insitu.*) and its stored values use: plain JSON, with
// bigints as {"$big": "<decimal>"} and bytes as {"$bytes": "<hex>"}, so both cross intact.

export const encodeJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? { $big: x.toString() } : x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x));

/**
 * Decoding is JSON.parse, then one walk turning every object that holds nothing but a "$big" or
 * a "$bytes" member into its bigint or bytes, innermost first: what a reviver doing the same
 * would give, at about a third of the cost (a reviver is a call per value of the document).
 */
export function decodeJson<T>(s: string): T {
  const v: unknown = JSON.parse(s);
  return (typeof v === 'object' && v !== null ? revive(v) : v) as T;
}

function revive(x: unknown): unknown {
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const y = x[i];
      if (typeof y === 'object' && y !== null) {
        const r = revive(y);
        if (r !== y) x[i] = r;
      }
    }
    return x;
  }
  const o = x as Record<string, unknown>;
  let members = 0;
  let only = '';
  for (const k of Object.keys(o)) {
    members++;
    only = k;
    const y = o[k];
    if (typeof y === 'object' && y !== null) {
      const r = revive(y);
      // Defined as JSON.parse defines members, so a "__proto__" member stays a member.
      if (r !== y) {
        if (k === '__proto__') Object.defineProperty(o, k, { value: r, enumerable: true, writable: true, configurable: true });
        else o[k] = r;
      }
    }
  }
  if (members === 1) {
    if (only === '$big') return BigInt(o.$big as string);
    if (only === '$bytes') return new Uint8Array(Buffer.from(o.$bytes as string, 'hex'));
  }
  return x;
}
