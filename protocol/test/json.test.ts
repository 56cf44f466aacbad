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
