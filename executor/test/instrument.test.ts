import test from 'ava';
import { createRequire } from 'node:module';
import { u32leb } from '../src/wasm/reader.ts';
import { instrument, HOST_MODULE, PAGE_BYTES, TABLE_ENTRY_BYTES } from '../src/wasm/instrument.ts';

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

/** The three globals the host shares between all of a job's instances. */
function hostGlobals(fuel = 1_000_000n, memory = 1n << 40n) {
  return {
    fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, fuel),
    memory: new WebAssembly.Global({ value: 'i64', mutable: true }, memory),
    refused: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
  };
}
type Host = ReturnType<typeof hostGlobals>;

function load(bytes: Uint8Array, host: Host = hostGlobals(), imports: WebAssembly.Imports = {}) {
  const out = instrument(bytes);
  t_validate(out.bytes);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes as Uint8Array<ArrayBuffer>), { ...imports, [HOST_MODULE]: host });
  return instance.exports as Record<string, unknown>;
}
function t_validate(b: Uint8Array): void {
  if (!WebAssembly.validate(b as Uint8Array<ArrayBuffer>)) throw new Error('instrumented module does not validate');
}
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

test('fuel is charged per loop iteration, identically on every run', (t) => {
  const used: bigint[] = [];
  for (const n of [10, 10, 1000, 1000]) {
    const host = hostGlobals(1_000_000n);
    const ex = load(wat(LOOP), host);
    t.is((ex.run as (n: number) => number)(n), n);
    used.push(1_000_000n - host.fuel.value);
  }
  t.is(used[0], used[1]);
  t.is(used[2], used[3]);
  t.true(used[2]! > used[0]! * 50n, `fuel grows with iterations (${used[0]} vs ${used[2]})`);
});

test('running out of fuel traps, and an infinite loop stops', (t) => {
  const host = hostGlobals(5000n);
  const ex = load(wat('(module (func (export "spin") (loop $l (br $l))))'), host);
  t.throws(() => (ex.spin as () => void)(), { instanceOf: WebAssembly.RuntimeError });
  t.true(host.fuel.value < 0n);
});

test('a call pays for the locals the engine zeroes on entry', (t) => {
  const few = hostGlobals();
  (load(wat('(module (func (export "f") (local i32)))'), few).f as () => void)();
  const many = hostGlobals();
  (load(wat('(module (func (export "f") (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)))'), many).f as () => void)();
  t.is((1_000_000n - many.fuel.value) - (1_000_000n - few.fuel.value), 49n);
});

test('bulk memory and table instructions are charged by their length before they run', (t) => {
  const src = `(module (memory 16) (table 1000 funcref) (global $n (export "n") (mut i32) (i32.const 0))
    (func (export "fill") (loop $l
      (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))
      (global.set $n (i32.add (global.get $n) (i32.const 1))) (br $l)))
    (func (export "copy") (param i32) (memory.copy (i32.const 0) (i32.const 65536) (local.get 0)))
    (func (export "tfill") (param i32) (table.fill (i32.const 0) (ref.null func) (local.get 0))))`;
  const host = hostGlobals(1_000_000n);
  const ex = load(wat(src), host);
  t.throws(() => (ex.fill as () => void)(), { instanceOf: WebAssembly.RuntimeError });
  // 1 MiB costs 131072 fuel: the budget pays for 7 fills, not for millions.
  t.is((ex.n as WebAssembly.Global).value, 7);
  const h2 = hostGlobals(1_000_000n);
  const e2 = load(wat(src), h2);
  (e2.copy as (n: number) => void)(0);
  const base = 1_000_000n - h2.fuel.value;
  (e2.copy as (n: number) => void)(80_000);
  t.is(1_000_000n - h2.fuel.value - base * 2n, 10_000n, 'memory.copy of 80000 bytes costs 10000 more than one of 0');
  const before = h2.fuel.value;
  (e2.tfill as (n: number) => void)(1000);
  t.true(before - h2.fuel.value >= 1000n, 'table.fill pays per entry');
  // A fill that would cost more than the fuel left traps before it touches memory.
  const h3 = hostGlobals(100n);
  const e3 = load(wat(src), h3);
  t.throws(() => (e3.copy as (n: number) => void)(65536));
});

test('memory.grow and table.grow draw on one budget shared by every instance of the job, and a refusal is flagged', (t) => {
  const src = `(module (memory (export "m") 1) (table $t 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "tgrow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))`;
  // Instantiation is charged by the host from the footprint; here the budget covers only the grows.
  const host = hostGlobals(1_000_000_000n, BigInt(10 * PAGE_BYTES));
  const a = load(wat(src), host);
  const b = load(wat(src), host);
  t.is((a.grow as (n: number) => number)(6), 1);
  t.is(host.refused.value, 0);
  t.is((b.grow as (n: number) => number)(5), -1, 'the second instance cannot take what the first one used');
  t.is(host.refused.value, 1);
  t.is((b.grow as (n: number) => number)(4), 1);
  t.is(host.memory.value, 0n);
  t.is((a.m as WebAssembly.Memory).buffer.byteLength + (b.m as WebAssembly.Memory).buffer.byteLength, 12 * PAGE_BYTES);
  // Ten million table entries under a 16 MiB budget: refused, nothing allocated, nothing charged.
  const h2 = hostGlobals(1_000_000n, 16n << 20n);
  const c = load(wat(src), h2);
  t.is((c.tgrow as (n: number) => number)(10_000_000), -1);
  t.is(h2.refused.value, 1);
  t.is(h2.memory.value, 16n << 20n, 'a refused grow is refunded');
  t.is((c.tgrow as (n: number) => number)(1000), 1);
  t.is(h2.memory.value, (16n << 20n) - BigInt(1000 * TABLE_ENTRY_BYTES));
  t.is((c.grow as (n: number) => number)(-1), -1, 'a delta of 2^32-1 pages cannot overflow the budget');
});

test('what an instance holds before it runs is reported as its footprint', (t) => {
  const { footprint } = instrument(wat('(module (memory 3) (table 10 funcref) (func $f) (elem (i32.const 0) $f $f $f) (elem func $f $f))'));
  t.deepEqual(footprint, { memoryPages: 3, tableEntries: 15 });
});

test('memory limits: no memory above 2 GiB, no shared or 64-bit memory, no imports from the host\'s own module', (t) => {
  t.is(codeOf(() => instrument(wat('(module (memory 40000))'))), 'ERR_JOB_MEMORY_LIMIT');
  t.is(codeOf(() => instrument(wat('(module (memory 1 2 shared))'))), 'ERR_JOB_INVALID_MODULE');
  t.is(codeOf(() => instrument(wat(`(module (import "${HOST_MODULE}" "fuel" (global (mut i64))))`))), 'ERR_JOB_FORBIDDEN_IMPORT');
  const out = instrument(wat('(module (memory (export "m") 1 70000))'));
  const host = hostGlobals();
  const m = new WebAssembly.Instance(new WebAssembly.Module(out.bytes as Uint8Array<ArrayBuffer>), { [HOST_MODULE]: host }).exports.m as WebAssembly.Memory;
  t.throws(() => m.grow(40000), undefined, 'the declared maximum is lowered to 2 GiB');
});

test('globals keep their meaning when the host\'s globals are imported beside them', (t) => {
  const src = `(module
    (import "env" "base" (global $base i32))
    (global $k (mut i32) (global.get $base))
    (global $off i32 (i32.const 8))
    (global (export "k") (mut i32) (i32.const 5))
    (memory (export "m") 1)
    (data (global.get $base) "hi")
    (table 4 funcref) (func $one (result i32) (i32.const 1)) (elem (global.get $base) $one)
    (func (export "f") (result i32)
      (global.set $k (i32.add (global.get $k) (global.get $off)))
      (i32.add (global.get $k) (call_indirect (result i32) (global.get $base)))))`;
  const env = { env: { base: new WebAssembly.Global({ value: 'i32' }, 2) } };
  const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(src) as Uint8Array<ArrayBuffer>), env).exports as Record<string, unknown>;
  const ex = load(wat(src), hostGlobals(), env);
  t.is((ex.f as () => number)(), (plain.f as () => number)());
  t.is((ex.f as () => number)(), (plain.f as () => number)());
  t.is((ex.k as WebAssembly.Global).value, 5);
  t.is(new Uint8Array((ex.m as WebAssembly.Memory).buffer)[3], 'i'.charCodeAt(0));
});

test('malformed modules are refused with ERR_JOB_INVALID_MODULE', (t) => {
  for (const bytes of [new Uint8Array([1, 2, 3]), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 200])]) {
    t.is(codeOf(() => instrument(bytes)), 'ERR_JOB_INVALID_MODULE');
  }
});

/** A module with one exported function `f` of type [] -> [i32] and the given code (locals excluded). */
function oneFunction(code: number[]): Uint8Array {
  const section = (id: number, payload: number[]): number[] => [id, ...u32leb(payload.length), ...payload];
  const body = [0, ...code];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 0, 1, 0x7f]),
    ...section(3, [1, 0]),
    ...section(7, [1, 1, 0x66, 0, 0]),
    ...section(10, [1, ...u32leb(body.length), ...body]),
  ]);
}

test('deeply nested blocks are instrumented without recursion', (t) => {
  // Deeper than any recursive reader's stack; the engine compiles it, and so must the instrumenter.
  const depth = 50_000;
  const code: number[] = [];
  for (let i = 0; i < depth; i++) code.push(i % 2 ? 0x02 : 0x03, 0x40);
  for (let i = 0; i < depth; i++) code.push(0x0b);
  code.push(0x41, 3, 0x0b);
  const ex = load(oneFunction(code));
  t.is((ex.f as () => number)(), 3);
  // Truncated in the middle of the nesting: refused, not a crash.
  t.is(codeOf(() => instrument(oneFunction(code.slice(0, depth)))), 'ERR_JOB_INVALID_MODULE');
});

test('modules using SIMD, bulk memory, tables and every block kind still validate and compute the same', (t) => {
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
  const metered = load(wat(src), hostGlobals(100_000n));
  for (const x of [0, 1, 2, 3, 7]) t.is((metered.mix as (x: number) => number)(x), plain.mix(x));
});
