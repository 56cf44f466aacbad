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

const WINDOW = 256 * 1024;

const ALIGN = 64;
const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const PAGE = 65536;

/**
 * A SIMD engine with its own linear memory. Callers that want to avoid copies use `stage()` to
 * get views into the kernel's memory, fill them, and call `run()`.
 */
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

  /** Lays out tables, pointer arrays and shard slots in kernel memory; returns views of the slots. */
  stage(rows: Uint8Array[], nin: number, len: number): { inputs: Uint8Array[]; outputs: Uint8Array[]; run: () => void } {
    const nout = rows.length;
    const stride = alignUp(Math.max(len, 1));
    const tablesAt = 0;
    const tablesSize = alignUp(nout * nin * 32);
    const ptrsAt = tablesSize;
    const ptrsSize = alignUp((nin + nout) * 4);
    const dataAt = ptrsAt + ptrsSize;
    const need = dataAt + (nin + nout) * stride;
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
    const inputs: Uint8Array[] = [];
    const outputs: Uint8Array[] = [];
    for (let k = 0; k < nin + nout; k++) {
      const at = dataAt + k * stride;
      ptrs[k] = at;
      const view = new Uint8Array(this.#memory.buffer, at, stride);
      if (k < nin) inputs.push(view);
      else outputs.push(view);
    }
    const run = (): void => {
      for (let at = 0; at < stride; at += WINDOW) {
        this.#mulRows(tablesAt, ptrsAt, nin, ptrsAt + nin * 4, nout, at, Math.min(stride, at + WINDOW));
      }
    };
    return { inputs, outputs, run };
  }

  mulRows(rows: Uint8Array[], inputs: Uint8Array[], outputs: Uint8Array[], len: number): void {
    const staged = this.stage(rows, inputs.length, len);
    for (let i = 0; i < inputs.length; i++) {
      const dst = staged.inputs[i]!;
      dst.set(inputs[i]!.subarray(0, len));
      dst.fill(0, len);
    }
    staged.run();
    for (let o = 0; o < outputs.length; o++) outputs[o]!.set(staged.outputs[o]!.subarray(0, len));
  }
}
