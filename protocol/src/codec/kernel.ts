// The two multiply-accumulate engines behind the codec: the WASM SIMD kernel (kernel.wat) and a
// portable JavaScript loop used where SIMD is missing. Both compute, for coefficient rows C,
// outputs[o] = XOR_i C[o][i] · inputs[i] over GF(2^8).

import { KERNEL_WASM_BASE64 } from './kernel.generated.ts';
import { MUL_TABLE, mul } from './gf256.ts';

export interface MulEngine {
  readonly name: string;
  /**
   * outputs[o][0..len) = XOR_i rows[o][i] · inputs[i][0..len). Inputs must be at least len long.
   */
  mulRows(rows: Uint8Array[], inputs: Uint8Array[], outputs: Uint8Array[], len: number): void;
}

export function createPortableEngine(): MulEngine {
  return {
    name: 'portable',
    mulRows(rows, inputs, outputs, len) {
      for (let o = 0; o < rows.length; o++) {
        const row = rows[o]!;
        const out = outputs[o]!;
        out.fill(0, 0, len);
        for (let i = 0; i < inputs.length; i++) {
          const c = row[i]!;
          if (c === 0) continue;
          const inp = inputs[i]!;
          if (c === 1) {
            for (let j = 0; j < len; j++) out[j]! ^= inp[j]!;
            continue;
          }
          const base = c << 8;
          for (let j = 0; j < len; j++) out[j]! ^= MUL_TABLE[base | inp[j]!]!;
        }
      }
    },
  };
}

let kernelModule: WebAssembly.Module | undefined;

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  } catch {
    return false;
  }
}

type KernelFn = (tables: number, inputs: number, nin: number, outputs: number, nout: number, start: number, end: number) => void;

/**
 * Bytes of every shard staged in kernel memory at a time. The inputs and outputs of one window
 * ((nin + nout) × WINDOW) stay in the core's L2 cache between the copy in, the kernel and the copy
 * out, so a shard's bytes come from and go to main memory once, as they would if the kernel
 * worked on the caller's buffers in place; the kernel's memory stays a few hundred KiB whatever
 * the segment size.
 */
const WINDOW = 64 * 1024;

const ALIGN = 64;
const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const PAGE = 65536;

/** A SIMD engine with its own linear memory, through which the shards pass window by window. */
export class SimdEngine implements MulEngine {
  readonly name = 'wasm-simd';
  #memory: WebAssembly.Memory;
  #mulRows: KernelFn;

  constructor() {
    kernelModule ??= new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
    const instance = new WebAssembly.Instance(kernelModule, {});
    this.#memory = instance.exports.memory as WebAssembly.Memory;
    this.#mulRows = instance.exports.mul_rows as KernelFn;
  }

  mulRows(rows: Uint8Array[], inputs: Uint8Array[], outputs: Uint8Array[], len: number): void {
    const nin = inputs.length;
    const nout = rows.length;
    // Layout: nibble tables, the pointer arrays, then one WINDOW slot per input and per output.
    const tablesAt = 0;
    const ptrsAt = alignUp(nout * nin * 32);
    const dataAt = ptrsAt + alignUp((nin + nout) * 4);
    const need = dataAt + (nin + nout) * WINDOW;
    const have = this.#memory.buffer.byteLength;
    if (need > have) this.#memory.grow(Math.ceil((need - have) / PAGE));
    const mem = new Uint8Array(this.#memory.buffer);
    for (let o = 0; o < nout; o++) {
      for (let i = 0; i < nin; i++) {
        const c = rows[o]![i]!;
        const t = tablesAt + (o * nin + i) * 32;
        for (let x = 0; x < 16; x++) {
          mem[t + x] = mul(c, x);
          mem[t + 16 + x] = mul(c, x << 4);
        }
      }
    }
    const ptrs = new Uint32Array(this.#memory.buffer, ptrsAt, nin + nout);
    const slots: Uint8Array[] = [];
    for (let k = 0; k < nin + nout; k++) {
      ptrs[k] = dataAt + k * WINDOW;
      slots.push(mem.subarray(dataAt + k * WINDOW, dataAt + (k + 1) * WINDOW));
    }
    for (let at = 0; at < len; at += WINDOW) {
      const n = Math.min(WINDOW, len - at);
      // The kernel works in multiples of 64 bytes: a short last window is zero-padded.
      const padded = alignUp(n);
      for (let i = 0; i < nin; i++) {
        const slot = slots[i]!;
        slot.set(inputs[i]!.subarray(at, at + n));
        if (padded > n) slot.fill(0, n, padded);
      }
      this.#mulRows(tablesAt, ptrsAt, nin, ptrsAt + nin * 4, nout, 0, padded);
      for (let o = 0; o < nout; o++) outputs[o]!.set(slots[nin + o]!.subarray(0, n), at);
    }
  }
}
