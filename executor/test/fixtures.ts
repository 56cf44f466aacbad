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
