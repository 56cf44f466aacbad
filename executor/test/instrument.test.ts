import test from 'ava';
import { createRequire } from 'node:module';
import { instrument, FUEL_EXPORT, FUEL_INITIAL } from '../src/wasm/instrument.ts';

const require = createRequire(import.meta.url);
type Wabt = { parseWat(name: string, text: string, features?: Record<string, boolean>): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };
let wabt: Wabt;
test.before(async () => {
  wabt = await (require('wabt') as () => Promise<Wabt>)();
});
const wat = (text: string, features: Record<string, boolean> = {}): Uint8Array => {
  const m = wabt.parseWat('t.wat', text, { simd: true, bulk_memory: true, threads: true, ...features });
  const { buffer } = m.toBinary({});
  m.destroy();
  return buffer;
};

const LOOP = `(module
  (global $g (mut i32) (i32.const 0))
  (func (export "run") (param $n i32) (result i32) (local $i i32)
    (block $out (loop $top
      (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $i)))`;

async function load(bytes: Uint8Array, opts = { maxMemoryPages: 16, fuel: true }) {
  const out = instrument(bytes, opts);
  t_validate(out.bytes);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes as Uint8Array<ArrayBuffer>), {});
  return instance.exports as Record<string, unknown> & { [FUEL_EXPORT]: WebAssembly.Global };
}
function t_validate(b: Uint8Array): void {
  if (!WebAssembly.validate(b as Uint8Array<ArrayBuffer>)) throw new Error('instrumented module does not validate');
}

test('fuel is charged per loop iteration, identically on every run', async (t) => {
  const used: bigint[] = [];
  for (const n of [10, 10, 1000, 1000]) {
    const ex = await load(wat(LOOP));
    const fuel = ex[FUEL_EXPORT];
    t.is(fuel.value, FUEL_INITIAL);
    fuel.value = 1_000_000n;
    t.is((ex.run as (n: number) => number)(n), n);
    used.push(1_000_000n - (fuel.value as bigint));
  }
  t.is(used[0], used[1]);
  t.is(used[2], used[3]);
  t.true(used[2]! > used[0]! * 50n, `fuel grows with iterations (${used[0]} vs ${used[2]})`);
});

test('running out of fuel traps, and an infinite loop stops', async (t) => {
  const ex = await load(wat('(module (func (export "spin") (loop $l (br $l))))'));
  ex[FUEL_EXPORT].value = 5000n;
  t.throws(() => (ex.spin as () => void)(), { instanceOf: WebAssembly.RuntimeError });
  t.true((ex[FUEL_EXPORT].value as bigint) < 0n);
});

test('memory is capped: growth past the cap fails, initial sizes above it are refused', async (t) => {
  const grow = wat('(module (memory (export "m") 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))');
  const ex = await load(grow, { maxMemoryPages: 3, fuel: false });
  const g = ex.grow as (n: number) => number;
  t.is(g(2), 1);
  t.is(g(1), -1);
  t.is((ex.m as WebAssembly.Memory).buffer.byteLength, 3 * 65536);
  const big = wat('(module (memory 10 20))');
  t.throws(() => instrument(big, { maxMemoryPages: 4, fuel: true }), { any: true, message: /10 pages/ } as never);
  try {
    instrument(big, { maxMemoryPages: 4, fuel: true });
  } catch (e) {
    t.is((e as { code?: string }).code, 'ERR_JOB_MEMORY_LIMIT');
  }
  const shared = wat('(module (memory 1 2 shared))');
  t.throws(() => instrument(shared, { maxMemoryPages: 4, fuel: true }), { any: true, message: /shared/ } as never);
  const imported = wat('(module (import "env" "mem" (memory 1)))');
  const capped = instrument(imported, { maxMemoryPages: 2, fuel: true }).bytes;
  const mod = new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>);
  t.throws(() => new WebAssembly.Instance(mod, { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 100 }) } }));
  t.truthy(new WebAssembly.Instance(mod, { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 2 }) } }));
});

test('malformed modules are refused with ERR_JOB_INVALID_MODULE', (t) => {
  for (const bytes of [new Uint8Array([1, 2, 3]), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 200])]) {
    try {
      instrument(bytes, { maxMemoryPages: 4, fuel: true });
      t.fail('should throw');
    } catch (e) {
      t.is((e as { code?: string }).code, 'ERR_JOB_INVALID_MODULE');
    }
  }
});

test('modules using SIMD, bulk memory, tables and every block kind still validate and compute the same', async (t) => {
  const src = `(module
    (type $t (func (param i32) (result i32)))
    (table 2 funcref) (elem (i32.const 0) $double $inc)
    (memory 1) (data (i32.const 0) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")
    (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
    (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
    (func (export "mix") (param $x i32) (result i32) (local $acc i32)
      (memory.copy (i32.const 100) (i32.const 0) (i32.const 16))
      (v128.store (i32.const 200) (i8x16.add (v128.load (i32.const 100)) (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)))
      (local.set $acc (i32.load8_u (i32.const 215)))
      (block $a (block $b (block $c
        (br_table $a $b $c (i32.and (local.get $x) (i32.const 3))))
        (local.set $acc (i32.add (local.get $acc) (call_indirect (type $t) (local.get $x) (i32.const 0)))))
        (local.set $acc (i32.add (local.get $acc) (call_indirect (type $t) (local.get $x) (i32.const 1)))))
      (if (result i32) (i32.gt_s (local.get $acc) (i32.const 10)) (then (local.get $acc)) (else (i32.const -1)))))`;
  const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(src) as Uint8Array<ArrayBuffer>), {}).exports as unknown as { mix(x: number): number };
  const metered = await load(wat(src));
  metered[FUEL_EXPORT].value = 100_000n;
  for (const x of [0, 1, 2, 3, 7]) t.is((metered.mix as (x: number) => number)(x), plain.mix(x));
});
