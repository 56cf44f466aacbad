// Job I/O over WASI preview1: stdin in chunks of at most 64 KiB (the adapter's limit) or line by
// line, buffered stdout, and stderr. insitu's example jobs use these same helpers (through
// wasm-jobs/assembly/lib/io.ts); `insitu job init` copies this file into a new job.

import { fd_read, fd_write, iovec } from "bindings/wasi_snapshot_preview1";

export const CHUNK: i32 = 65536;
const inBuf = heap.alloc(CHUNK);
const outBuf = heap.alloc(CHUNK);
let outLen: i32 = 0;
const iov = changetype<iovec>(heap.alloc(offsetof<iovec>()));
const nread = heap.alloc(sizeof<usize>());

/** Reads the next chunk of stdin; returns its pointer via inputPtr() and its length (0 at end). */
export function readChunk(): i32 {
  iov.buf = inBuf;
  iov.buf_len = CHUNK;
  const err = fd_read(0, changetype<usize>(iov), 1, nread);
  if (err != 0) return 0;
  return <i32>load<usize>(nread);
}

export function inputPtr(): usize {
  return inBuf;
}

function writeRaw(fd: u32, ptr: usize, len: i32): void {
  let at: i32 = 0;
  while (at < len) {
    iov.buf = ptr + at;
    // One write call never exceeds what one stream write accepts.
    iov.buf_len = min(len - at, CHUNK);
    fd_write(fd, changetype<usize>(iov), 1, nread);
    const n = <i32>load<usize>(nread);
    if (n <= 0) return;
    at += n;
  }
}

export function flush(): void {
  if (outLen > 0) writeRaw(1, outBuf, outLen);
  outLen = 0;
}

export function writeBytes(ptr: usize, len: i32): void {
  if (outLen + len > CHUNK) flush();
  if (len > CHUNK) {
    writeRaw(1, ptr, len);
    return;
  }
  memory.copy(outBuf + outLen, ptr, len);
  outLen += len;
}

export function writeString(s: string): void {
  const b = String.UTF8.encode(s);
  writeBytes(changetype<usize>(b), b.byteLength);
}

export function writeError(s: string): void {
  const b = String.UTF8.encode(s);
  writeRaw(2, changetype<usize>(b), b.byteLength);
}

/**
 * The WASI adapter allocates its own state through the main module's cabi_realloc when there is
 * one; without it the adapter grows a page of linear memory that the allocator already claims.
 */
export function cabi_realloc(ptr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (ptr != 0 && newSize <= oldSize) return ptr;
  const out = heap.alloc(newSize + align);
  const aligned = (out + align - 1) & ~(align - 1);
  if (ptr != 0) memory.copy(aligned, ptr, oldSize);
  return aligned;
}

/** Hands each line of stdin (without its newline) to `fn`; a line split across chunks is joined. */
export function forEachLine(fn: (line: string) => void): void {
  let pending = "";
  for (;;) {
    const n = readChunk();
    if (n == 0) break;
    const p = inputPtr();
    let start = 0;
    for (let i = 0; i < n; i++) {
      if (load<u8>(p + i) == 10) {
        const part = String.UTF8.decodeUnsafe(p + start, i - start);
        fn(pending.length > 0 ? pending + part : part);
        pending = "";
        start = i + 1;
      }
    }
    if (start < n) pending += String.UTF8.decodeUnsafe(p + start, n - start);
  }
  if (pending.length > 0) fn(pending);
}
