// The JSON the chain's own query paths (/insitu.*) and its stored values use: plain JSON, with
// bigints as {"$big": "<decimal>"} and bytes as {"$bytes": "<hex>"}, so both cross intact.

const replacer = (_k: string, x: unknown): unknown =>
  (typeof x === 'bigint' ? { $big: x.toString() } : x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x);

/**
 * The text JSON.stringify gives with a replacer turning bigints and bytes into their members.
 * A replacer is a call per value of the document and keeps JSON.stringify off its fast path, so
 * plain data (plain objects, arrays, primitives, bigints, bytes: what the chain stores and
 * answers) is first copied with its bigints and bytes replaced, then stringified without one:
 * the same text. Anything else in it (a toJSON method, a class instance, a boxed primitive) is
 * left to the replacer, which then encodes the whole value as before.
 */
export function encodeJson(v: unknown): string {
  if (typeof (BigInt.prototype as { toJSON?: unknown }).toJSON !== 'function') {
    try {
      return JSON.stringify(replaced(v));
    } catch (e) {
      if (e !== NOT_PLAIN) throw e;
    }
  }
  return JSON.stringify(v, replacer);
}

const NOT_PLAIN = Symbol('not plain data');

function replaced(x: unknown): unknown {
  if (typeof x === 'bigint') return { $big: x.toString() };
  if (typeof x !== 'object' || x === null) return x;
  if (typeof (x as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
  if (Array.isArray(x)) {
    if (Object.getPrototypeOf(x) !== Array.prototype) throw NOT_PLAIN;
    const out = new Array<unknown>(x.length);
    for (let i = 0; i < x.length; i++) out[i] = replaced(x[i]);
    return out;
  }
  if (x instanceof Uint8Array) return { $bytes: Buffer.from(x).toString('hex') };
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x)) {
    const y = replaced((x as Record<string, unknown>)[k]);
    // An own "__proto__" stays a member.
    if (k === '__proto__') Object.defineProperty(out, k, { value: y, enumerable: true, writable: true, configurable: true });
    else out[k] = y;
  }
  return out;
}

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
