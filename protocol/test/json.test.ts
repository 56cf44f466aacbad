import test from 'ava';
import { encodeJson, decodeJson } from '../src/chain/json.ts';

test('stored JSON gives back bigints and bytes wherever they are, and only objects of a lone $big or $bytes member become them', (t) => {
  const v = { a: 1n, b: [new Uint8Array([0, 255]), { c: -5n }], d: { e: null, f: 'x', g: [[2n]] } };
  t.deepEqual(decodeJson(encodeJson(v)), v);
  t.is(decodeJson('{"$big":"12"}'), 12n);
  t.deepEqual(decodeJson('{"$big":"1","x":1}'), { $big: '1', x: 1 });
  t.deepEqual(decodeJson('[{"$bytes":""}]'), [new Uint8Array()]);
  t.is(decodeJson('3'), 3);
  t.is(decodeJson('null'), null);
  t.throws(() => decodeJson('{"$big":"x"}'), { instanceOf: SyntaxError });
  const own = decodeJson<Record<string, unknown>>('{"__proto__":{"$big":"5"}}');
  t.deepEqual(Object.keys(own), ['__proto__']);
  t.is(Object.getPrototypeOf(own), Object.prototype);
  t.is(Object.getOwnPropertyDescriptor(own, '__proto__')!.value, 5n);
});

test('encoding gives the text JSON.stringify gives with a replacer of bigints and bytes, for plain data and anything else', (t) => {
  const reference = (v: unknown): string =>
    JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? { $big: x.toString() } : x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x));
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const leaf = (): unknown => {
    switch (rand(16)) {
      case 0: return BigInt(rand(1e9)) * (rand(2) ? -1n : 1n);
      case 1: return new Uint8Array([rand(256), rand(256)]);
      case 2: return new Uint8Array(new ArrayBuffer(8), 2, 3).fill(rand(256));
      case 3: return Buffer.from([1, 2, 3]);
      case 4: return new Date(rand(1e12));
      case 5: return undefined;
      case 6: return null;
      case 7: return () => 1;
      case 8: return Symbol('s');
      case 9: return new Map([[1, 2]]);
      case 10: return Object.assign(Object.create(null) as object, { n: 1n });
      case 11: return new Uint16Array([rand(65536)]);
      case 12: return rand(1e6) / 7;
      case 13: return `t${rand(100)}"\n\u2028`;
      case 14: return rand(2) === 0;
      default: return { '1': 1, b: 2n, a: [3] };
    }
  };
  const value = (depth: number): unknown => {
    if (depth > 3 || rand(3) === 0) return leaf();
    if (rand(2)) {
      const a: unknown[] = Array.from({ length: rand(4) }, () => value(depth + 1));
      if (rand(5) === 0) a[a.length + 1] = 1;
      return a;
    }
    const o: Record<string, unknown> = {};
    for (let i = rand(4); i > 0; i--) o[['a', 'z', '10', '2', '$big', '__proto__'][rand(6)]!] = value(depth + 1);
    if (rand(8) === 0) Object.defineProperty(o, '__proto__', { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  };
  for (let i = 0; i < 3000; i++) {
    const v = value(0);
    t.is(encodeJson(v), reference(v), `value ${i}`);
  }
  t.is(encodeJson(Object.assign(new Number(5), { x: 1 })), reference(Object.assign(new Number(5), { x: 1 })));
  t.is(encodeJson({ a: { toJSON: () => 5n } }), reference({ a: { toJSON: () => 5n } }));
});
