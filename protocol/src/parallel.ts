// Parallel jobs: a map step per data piece and a reduce step. The erasure code is systematic, so
// data piece i of a segment is the object's own bytes [segment start + i·p, + p) with p =
// ceil(segment length / data pieces): a map reads the piece it holds and needs no decoding.
//
// Records are lines. A line belongs to the piece its first byte is in, but may end in a later
// piece; so a map runs the job over the whole lines inside its piece only, and hands back, next
// to that output, the raw bytes before its first newline (head) and after its last (tail). The
// reducer joins each tail with the next piece's head into the lines that cross piece boundaries,
// runs the job's map over those too, and feeds every map output, in object order, to the reduce
// step. Parallel and single runs therefore see exactly the same lines.

import { InsituError } from './errors.ts';

export type JobMode = '' | 'map' | 'reduce';

export interface PieceRange {
  segment: number;
  /** Object offsets [start, end). */
  start: number;
  end: number;
}

/** The object byte ranges held by data piece `index` of every segment (empty ones left out). */
export function pieceRanges(size: number, segmentSize: number, dataChunks: number, index: number): PieceRange[] {
  if (!Number.isInteger(index) || index < 0 || index >= dataChunks) {
    throw new InsituError('ERR_INVALID_ARGUMENT', `piece index ${index} is not a data piece (0..${dataChunks - 1})`);
  }
  const out: PieceRange[] = [];
  const segments = Math.ceil(size / segmentSize);
  for (let s = 0; s < segments; s++) {
    const segStart = s * segmentSize;
    const segLen = Math.min(segmentSize, size - segStart);
    const p = Math.ceil(segLen / dataChunks);
    const start = segStart + Math.min(segLen, index * p);
    const end = segStart + Math.min(segLen, (index + 1) * p);
    if (end > start) out.push({ segment: s, start, end });
  }
  return out;
}

/** One map step's result over one piece range. */
export interface MapFrame {
  /** Object offsets of the range: [offset, offset + length). */
  offset: number;
  length: number;
  /** The range holds no newline at all: `head` is all of it and nothing ran. */
  whole: boolean;
  /** Bytes before the first newline, newline included (empty for the object's first range). */
  head: Uint8Array;
  /** Bytes after the last newline (empty for the object's last range, whose last line is whole). */
  tail: Uint8Array;
  /** Object offset of the first whole line, where the job's map step started. */
  bodyOffset: number;
  /** What the job's map step wrote over the whole lines (empty when there were none). */
  output: Uint8Array;
}

const NL = 0x0a;

/** Splits one range into head, whole lines (body) and tail. */
export function splitRange(bytes: Uint8Array, offset: number, objectSize: number): { whole: boolean; head: Uint8Array; body: Uint8Array; bodyOffset: number; tail: Uint8Array } {
  const first = offset === 0;
  const last = offset + bytes.length === objectSize;
  const empty = new Uint8Array(0);
  let bodyStart = 0;
  if (!first) {
    const h = bytes.indexOf(NL);
    if (h < 0) {
      // The middle of a line longer than what is left of the range (or the final line's end).
      return { whole: true, head: bytes, body: empty, bodyOffset: offset + bytes.length, tail: empty };
    }
    bodyStart = h + 1;
  }
  let bodyEnd = bytes.length;
  if (!last) bodyEnd = bytes.lastIndexOf(NL) + 1;
  if (bodyEnd < bodyStart) bodyEnd = bodyStart;
  return {
    whole: false,
    head: bytes.subarray(0, bodyStart),
    body: bytes.subarray(bodyStart, bodyEnd),
    bodyOffset: offset + bodyStart,
    tail: bytes.subarray(bodyEnd),
  };
}

// Framing: "INSITUMAP1", then per frame: offset u64, length u64, whole u8, bodyOffset u64,
// head (u32 length + bytes), tail (u32 + bytes), output (u64 length + bytes). All big-endian.
const MAGIC = Buffer.from('INSITUMAP1');

export function encodeFrames(frames: MapFrame[]): Uint8Array {
  const parts: Buffer[] = [MAGIC];
  for (const f of frames) {
    const h = Buffer.alloc(8 + 8 + 1 + 8);
    h.writeBigUInt64BE(BigInt(f.offset), 0);
    h.writeBigUInt64BE(BigInt(f.length), 8);
    h.writeUInt8(f.whole ? 1 : 0, 16);
    h.writeBigUInt64BE(BigInt(f.bodyOffset), 17);
    parts.push(h);
    const n32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    const n64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
    parts.push(n32(f.head.length), Buffer.from(f.head), n32(f.tail.length), Buffer.from(f.tail), n64(f.output.length), Buffer.from(f.output));
  }
  return Buffer.concat(parts);
}

export function decodeFrames(data: Uint8Array): MapFrame[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const bad = (why: string): never => { throw new InsituError('ERR_BAD_REQUEST', `malformed map output: ${why}`); };
  if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(MAGIC)) bad('no INSITUMAP1 header');
  let at = MAGIC.length;
  const need = (n: number) => { if (at + n > b.length) bad('truncated'); };
  const frames: MapFrame[] = [];
  while (at < b.length) {
    need(25);
    const offset = Number(b.readBigUInt64BE(at));
    const length = Number(b.readBigUInt64BE(at + 8));
    const whole = b.readUInt8(at + 16) === 1;
    const bodyOffset = Number(b.readBigUInt64BE(at + 17));
    at += 25;
    need(4);
    const hl = b.readUInt32BE(at);
    at += 4;
    need(hl);
    const head = new Uint8Array(b.subarray(at, at + hl));
    at += hl;
    need(4);
    const tl = b.readUInt32BE(at);
    at += 4;
    need(tl);
    const tail = new Uint8Array(b.subarray(at, at + tl));
    at += tl;
    need(8);
    const ol = Number(b.readBigUInt64BE(at));
    at += 8;
    need(ol);
    const output = new Uint8Array(b.subarray(at, at + ol));
    at += ol;
    frames.push({ offset, length, whole, head, tail, bodyOffset, output });
  }
  return frames;
}

/** What the reduce step is fed, in object order: map outputs, and lines still to be mapped. */
export type ReducePart = { output: Uint8Array } | { line: Uint8Array; offset: number };

/**
 * Orders the frames of all maps, checks that they tile the object exactly, and joins the lines
 * that cross piece boundaries.
 */
export function stitch(frames: MapFrame[], objectSize: number): ReducePart[] {
  const sorted = [...frames].sort((a, b) => a.offset - b.offset);
  let expect = 0;
  for (const f of sorted) {
    if (f.offset !== expect) {
      throw new InsituError('ERR_BAD_REQUEST', `map outputs do not cover the object: expected a range at ${expect}, got ${f.offset}`);
    }
    expect += f.length;
  }
  if (expect !== objectSize) throw new InsituError('ERR_BAD_REQUEST', `map outputs cover ${expect} of the object's ${objectSize} bytes`);
  const parts: ReducePart[] = [];
  let carry: Uint8Array[] = [];
  let carryOffset = 0;
  const carryLength = () => carry.reduce((n, c) => n + c.length, 0);
  for (const f of sorted) {
    if (f.whole) {
      if (carryLength() === 0) carryOffset = f.offset;
      carry.push(f.head);
      continue;
    }
    if (carryLength() + f.head.length > 0) {
      const offset = carryLength() > 0 ? carryOffset : f.offset;
      parts.push({ line: Buffer.concat([...carry, f.head]), offset });
    }
    if (f.output.length > 0) parts.push({ output: f.output });
    carry = f.tail.length > 0 ? [f.tail] : [];
    carryOffset = f.offset + f.length - f.tail.length;
  }
  if (carryLength() > 0) parts.push({ line: Buffer.concat(carry), offset: carryOffset });
  return parts;
}
