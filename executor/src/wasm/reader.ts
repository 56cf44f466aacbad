// Minimal WebAssembly binary reading and writing: LEB128 integers, sections, and the
// instruction stream with every immediate skipped correctly, so the instrumentation can find
// function entries and loop headers without misreading a single byte.

import { InsituError } from '@insitu/protocol';

export const invalid = (message: string): InsituError => new InsituError('ERR_JOB_INVALID_MODULE', message);

export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  byte(): number {
    if (this.pos >= this.end) throw invalid('unexpected end of module');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw invalid('malformed unsigned LEB128');
  }
  /** Skips a signed LEB128 of up to `bits` bits. */
  skipSigned(bits: number): void {
    const max = Math.ceil(bits / 7);
    for (let i = 0; i < max; i++) if ((this.byte() & 0x80) === 0) return;
    throw invalid('malformed signed LEB128');
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw invalid('unexpected end of module');
    this.pos += n;
  }
  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return Buffer.from(this.bytes.subarray(start, start + len)).toString('utf8');
  }
}

export function u32leb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function s64leb(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const signBit = (b & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export interface Section {
  id: number;
  /** Payload bounds within the module bytes. */
  start: number;
  end: number;
}

export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw invalid('not a WebAssembly module (bad magic)');
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw invalid('not a core WebAssembly module (version 1)');
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    out.push({ id, start, end: start + size });
  }
  return out;
}

export function readBlockType(r: Reader): void {
  if (r.done) throw invalid('unexpected end of module');
  const b = r.bytes[r.pos]!;
  if (b === 0x40 || b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b || b === 0x70 || b === 0x6f) {
    r.pos++;
    return;
  }
  r.skipSigned(33);
}

function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory index
  r.u32();
}

/**
 * Reads one instruction at r.pos; returns its opcode (prefixed opcodes as 0xfc00 | sub, etc.).
 * Throws on opcodes this runtime does not accept (exceptions, GC, unknown).
 */
export function readInstruction(r: Reader): number {
  const op = r.byte();
  switch (op) {
    case 0x02: case 0x03: case 0x04:
      readBlockType(r);
      return op;
    case 0x0c: case 0x0d: case 0x10: case 0x12:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
    case 0xd2:
      r.u32();
      return op;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return op;
    }
    case 0x11: case 0x13:
      r.u32();
      r.u32();
      return op;
    case 0x1c: {
      const n = r.u32();
      r.skip(n);
      return op;
    }
    case 0x3f: case 0x40:
      r.u32();
      return op;
    case 0x41: r.skipSigned(32); return op;
    case 0x42: r.skipSigned(64); return op;
    case 0x43: r.skip(4); return op;
    case 0x44: r.skip(8); return op;
    case 0xd0: r.byte(); return op;
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) return 0xfc00 | sub;
      switch (sub) {
        case 8: r.u32(); r.u32(); break;
        case 9: r.u32(); break;
        case 10: r.u32(); r.u32(); break;
        case 11: r.u32(); break;
        case 12: r.u32(); r.u32(); break;
        case 13: r.u32(); break;
        case 14: r.u32(); r.u32(); break;
        case 15: case 16: case 17: r.u32(); break;
        default: throw invalid(`unsupported instruction 0xfc ${sub}`);
      }
      return 0xfc00 | sub;
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
      else if (sub === 12 || sub === 13) r.skip(16);
      else if (sub >= 21 && sub <= 34) r.byte();
      else if (sub >= 84 && sub <= 91) {
        memarg(r);
        r.byte();
      } else if (sub > 0x113) throw invalid(`unsupported SIMD instruction ${sub}`);
      return 0xfd000 | sub;
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 3) r.byte();
      else if (sub <= 0x4e) memarg(r);
      else throw invalid(`unsupported atomic instruction ${sub}`);
      return 0xfe000 | sub;
    }
    default:
      if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) return op;
      if (op >= 0x28 && op <= 0x3e) {
        memarg(r);
        return op;
      }
      if (op >= 0x45 && op <= 0xc4) return op;
      throw invalid(`unsupported instruction 0x${op.toString(16)} at byte ${r.pos - 1}`);
  }
}
