// WAT fixtures for job tests: tiny WASI preview1 commands, assembled with wabt.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type Wabt = { parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };
let wabt: Promise<Wabt> | undefined;

export async function wat(text: string): Promise<Uint8Array> {
  wabt ??= (require('wabt') as () => Promise<Wabt>)();
  const m = (await wabt).parseWat('job.wat', text);
  const { buffer } = m.toBinary({});
  m.destroy();
  return buffer;
}

const IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))`;

/** Copies stdin to stdout in 64 KiB reads. */
export const CAT = `(module ${IMPORTS}
  (memory (export "memory") 2)
  (func (export "_start") (local $n i32)
    (loop $l
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.gt_u (local.get $n) (i32.const 0)) (then
        (i32.store (i32.const 4) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
        (br $l))))))`;

export const SPIN = `(module ${IMPORTS} (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`;

/** Writes "boom\\n" to stderr and exits with status 3. */
export const EXIT3 = `(module ${IMPORTS}
  (memory (export "memory") 1) (data (i32.const 100) "boom\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))`;

/** Writes 64 KiB of zeros to stdout forever. */
export const FLOOD = `(module ${IMPORTS}
  (memory (export "memory") 2)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 65536))
    (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))))`;

/** Grows memory one page at a time and traps when growth fails. */
export const GROW = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l))))`;

export const TRAP = `(module ${IMPORTS} (memory (export "memory") 1) (func (export "_start") unreachable))`;

/** Copies the side input /inputs/side.txt to stdout (preopened directory fd 3). */
export const CAT_SIDE = `(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 200) "side.txt")
  (func (export "_start") (local $fd i32) (local $n i32) (local $err i32)
    (local.set $err (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 8) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
    (if (local.get $err) (then (call $proc_exit (i32.add (i32.const 10) (local.get $err)))))
    (local.set $fd (i32.load (i32.const 16)))
    (loop $l
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 65536))
      (drop (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.gt_u (local.get $n) (i32.const 0)) (then
        (i32.store (i32.const 4) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
        (br $l))))))`;

// Hostile jobs: each one tries to make the node pay for more than the job's limits allow.

/** Grows two funcref tables by ten million entries each: without a table budget, ~700 MB of host memory for a few fuel. */
export const TABLE_BOMB = `(module ${IMPORTS} (memory (export "memory") 1) (table $a 1 funcref) (table $b 1 funcref)
  (func (export "_start")
    (if (i32.eq (table.grow $a (ref.null func) (i32.const 10000000)) (i32.const -1)) (then unreachable))
    (if (i32.eq (table.grow $b (ref.null func) (i32.const 10000000)) (i32.const -1)) (then unreachable))))`;

/** memory.fill of 8 MiB in a loop: one instruction, millions of bytes of work. */
export const FILL_LOOP = `(module ${IMPORTS} (memory (export "memory") 128)
  (func (export "_start") (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 8388608)) (br $l))))`;

/** Writes `n` bytes to stdout one byte per fd_write call. */
export const byteWriter = (n: number): string => `(module ${IMPORTS} (memory (export "memory") 1)
  (data (i32.const 100) "x")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1))
    (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const ${n}))))))`;

/** Grows memory 100 pages at a time and traps when growth fails, stopping below the cap. */
export const GROW_CHUNKS = `(module ${IMPORTS} (memory (export "memory") 1)
  (func (export "_start") (loop $l (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then unreachable)) (br $l))))`;

/** Declares 1000 pages (62.5 MiB) of memory at start. */
export const BIG_INITIAL = `(module ${IMPORTS} (memory (export "memory") 1000) (func (export "_start")))`;

/** A passive element segment of `n` entries: held by every instance, whatever the tables. */
export const elemBomb = (n: number): string => `(module ${IMPORTS} (memory (export "memory") 1) (func $f)
  (elem func ${'$f '.repeat(n)}) (func (export "_start")))`;

/**
 * A component that instantiates one core module eight times; each instance gets 32 MiB of memory
 * — by growing it in its start function, or by declaring it — and fills it.
 */
export const eightInstances = (how: 'grow' | 'declare'): string => `(component
  (core module $m
    (memory ${how === 'grow' ? 1 : 512})
    (func $fill ${how === 'grow' ? '(drop (memory.grow (i32.const 511)))' : ''} (memory.fill (i32.const 0) (i32.const 1) (i32.const 33554432)))
    (start $fill)
    (func (export "run") (result i32) (i32.const 0)))
  ${Array.from({ length: 8 }, (_, i) => `(core instance $i${i} (instantiate $m))`).join('\n  ')}
  (func $run (result (result)) (canon lift (core func $i0 "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi)))`;

/** Assembles a component from its text form with jco. */
export async function componentWat(text: string): Promise<Uint8Array> {
  const jco = (await import('@bytecodealliance/jco')) as unknown as { parse(text: string): Promise<Uint8Array> };
  return jco.parse(text);
}

/** Asks the host for 64 KiB of random bytes, forever. */
export const RANDOM_LOOP = `(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (loop $l (drop (call $random_get (i32.const 0) (i32.const 65536))) (br $l))))`;
