import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createErasureCodec, simdSupported } from '@insitu/protocol/codec';
import { codecSuite } from './codec-suite.ts';

codecSuite(test, 'wasm-simd', (k, m) => createErasureCodec({ implementation: 'wasm-simd', ...(k ? { dataShards: k } : {}), ...(m ? { parityShards: m } : {}) }));
codecSuite(test, 'portable', (k, m) => createErasureCodec({ implementation: 'portable', ...(k ? { dataShards: k } : {}), ...(m ? { parityShards: m } : {}) }));

test('this engine has WASM SIMD and auto picks the SIMD kernel', (t) => {
  t.true(simdSupported());
  t.is(createErasureCodec().name, 'wasm-simd');
});

test('the SIMD kernel and the portable loop produce identical pieces', (t) => {
  const simd = createErasureCodec({ implementation: 'wasm-simd' });
  const portable = createErasureCodec({ implementation: 'portable' });
  for (const size of [1, 777, 65_536, 1_000_003]) {
    const seg = randomBytes(size);
    const a = simd.encode(seg);
    const b = portable.encode(seg);
    a.forEach((p, i) => t.true(Buffer.from(p).equals(Buffer.from(b[i]!))));
  }
});

test('4+2 parity rows are the ones klauspost/reedsolomon uses', (t) => {
  const codec = createErasureCodec({ implementation: 'portable' });
  // A unit vector in data piece i yields parity bytes equal to column i of the parity rows.
  const rows = [[27, 28, 18, 20], [28, 27, 20, 18]];
  for (let i = 0; i < 4; i++) {
    const seg = new Uint8Array(4);
    seg[i] = 1;
    const pieces = codec.encode(seg);
    t.is(pieces[4]![0], rows[0]![i]);
    t.is(pieces[5]![0], rows[1]![i]);
  }
});

test('invalid geometries are programmer errors', (t) => {
  t.throws(() => createErasureCodec({ dataShards: 0 }), { instanceOf: TypeError });
  t.throws(() => createErasureCodec({ dataShards: 200, parityShards: 100 }), { instanceOf: TypeError });
});
