// Sandbox instrumentation of core WebAssembly modules, before they are compiled:
// - linear memory is capped: every memory's (and memory import's) maximum is rewritten to at
//   most the job's cap; shared memories, memory64 and initial sizes above the cap are refused;
// - deterministic fuel: a mutable i64 global, exported as __insitu_fuel, is charged at every
//   function entry by the instructions of the function outside its loops, and at every loop
//   header by the instructions of that loop's body outside nested loops; when it drops below
//   zero the module traps. The same module and input consume the same fuel on every node.

import { InsituError } from '@insitu/sdk/errors.ts';
import { Reader, readSections, readInstruction, u32leb, s64leb, invalid, type Section } from './reader.ts';

export const FUEL_EXPORT = '__insitu_fuel';
/** The fuel global starts here; the host sets the job's budget after instantiation. */
export const FUEL_INITIAL = 1n << 60n;
export const MAX_MEMORY_PAGES = 32768;

export interface InstrumentOptions {
  maxMemoryPages: number;
  fuel: boolean;
}

const limitsError = (msg: string): InsituError => new InsituError('ERR_JOB_MEMORY_LIMIT', msg);

/** Rewrites one limits structure (at r.pos) with the cap; returns the new bytes. */
function capLimits(r: Reader, cap: number): number[] {
  const flags = r.byte();
  if (flags & 0x02) throw invalid('shared memories are not allowed in jobs');
  if (flags & ~0x03) throw invalid('64-bit memories are not allowed in jobs');
  const min = r.u32();
  const max = flags & 0x01 ? r.u32() : undefined;
  if (min > cap) throw limitsError(`the module needs ${min} pages of memory at start; the job's limit is ${cap} pages`);
  const newMax = Math.min(max ?? cap, cap);
  return [0x01, ...u32leb(min), ...u32leb(newMax)];
}

/** Appends without spreading: bodies and sections can be far larger than an argument list. */
function append(out: number[], src: ArrayLike<number>): number[] {
  for (let i = 0; i < src.length; i++) out.push(src[i]!);
  return out;
}

function vecSection(items: number[][]): number[] {
  const out = u32leb(items.length);
  for (const item of items) append(out, item);
  return out;
}

interface Parsed {
  importedGlobals: number;
  importedFuncs: number;
  importBytes: number[] | null;
}

function rewriteImports(bytes: Uint8Array, s: Section, cap: number): Parsed {
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const out: number[] = [...u32leb(n)];
  let importedGlobals = 0;
  let importedFuncs = 0;
  for (let i = 0; i < n; i++) {
    const start = r.pos;
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 2) {
      append(out, bytes.subarray(start, r.pos));
      append(out, capLimits(r, cap));
      continue;
    }
    if (kind === 0) {
      r.u32();
      importedFuncs++;
    } else if (kind === 1) {
      r.byte();
      const flags = r.byte();
      r.u32();
      if (flags & 0x01) r.u32();
    } else if (kind === 3) {
      r.byte();
      r.byte();
      importedGlobals++;
    } else if (kind === 4) {
      r.byte();
      r.u32();
    } else throw invalid(`unknown import kind ${kind}`);
    append(out, bytes.subarray(start, r.pos));
  }
  return { importedGlobals, importedFuncs, importBytes: out };
}

function rewriteMemories(bytes: Uint8Array, s: Section, cap: number): number[] {
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const items: number[][] = [];
  for (let i = 0; i < n; i++) items.push(capLimits(r, cap));
  return vecSection(items);
}

function countVec(bytes: Uint8Array, s: Section | undefined): number {
  return s ? new Reader(bytes, s.start, s.end).u32() : 0;
}

function fuelCharge(fuelIdx: number, amount: number): number[] {
  return [
    0x23, ...u32leb(fuelIdx), 0x42, ...s64leb(BigInt(amount)), 0x7d, 0x24, ...u32leb(fuelIdx),
    0x23, ...u32leb(fuelIdx), 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b,
  ];
}

/** Meters one function body; returns the new body (without its size prefix). */
function meterBody(bytes: Uint8Array, start: number, end: number, fuelIdx: number): number[] {
  const r = new Reader(bytes, start, end);
  const groups = r.u32();
  for (let i = 0; i < groups; i++) {
    r.u32();
    r.byte();
  }
  const codeStart = r.pos;
  // Regions: 0 is the function's top level; each loop opens one. Insertions go where regions start.
  const inserts: { at: number; region: number }[] = [{ at: codeStart, region: 0 }];
  const counts: number[] = [0];
  const regionStack: number[] = [0];
  const blocks: boolean[] = []; // true = loop
  for (;;) {
    const op = readInstruction(r);
    counts[regionStack.at(-1)!]! += 1;
    if (op === 0x02 || op === 0x04) blocks.push(false);
    else if (op === 0x03) {
      blocks.push(true);
      const region = counts.length;
      counts.push(0);
      regionStack.push(region);
      inserts.push({ at: r.pos, region });
    } else if (op === 0x0b) {
      if (blocks.length === 0) break;
      if (blocks.pop()) regionStack.pop();
    }
  }
  if (r.pos !== end) throw invalid('function body has bytes after its end');
  const out: number[] = append([], bytes.subarray(start, codeStart));
  let at = codeStart;
  for (const ins of inserts) {
    append(out, bytes.subarray(at, ins.at));
    append(out, fuelCharge(fuelIdx, Math.max(1, counts[ins.region]!)));
    at = ins.at;
  }
  return append(out, bytes.subarray(at, end));
}

function meterCode(bytes: Uint8Array, s: Section, fuelIdx: number): number[] {
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const bodies: number[][] = [];
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const body = meterBody(bytes, start, start + size, fuelIdx);
    bodies.push(append(u32leb(body.length), body));
  }
  return vecSection(bodies);
}

// Order of known sections in a module (custom sections, id 0, may sit anywhere).
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const rank = (id: number): number => ORDER.indexOf(id);

export interface InstrumentResult {
  bytes: Uint8Array;
  /** Name of the exported fuel global, or null when metering is off. */
  fuelExport: string | null;
}

export function instrument(bytes: Uint8Array, opts: InstrumentOptions): InstrumentResult {
  const cap = Math.min(opts.maxMemoryPages, MAX_MEMORY_PAGES);
  const sections = readSections(bytes);
  const byId = new Map(sections.filter((s) => s.id !== 0).map((s) => [s.id, s]));
  const replaced = new Map<number, number[]>();
  let importedGlobals = 0;
  const imp = byId.get(2);
  if (imp) {
    const p = rewriteImports(bytes, imp, cap);
    importedGlobals = p.importedGlobals;
    replaced.set(2, p.importBytes!);
  }
  const mem = byId.get(5);
  if (mem) replaced.set(5, rewriteMemories(bytes, mem, cap));
  let fuelExport: string | null = null;
  if (opts.fuel) {
    const fuelIdx = importedGlobals + countVec(bytes, byId.get(6));
    const newGlobal = [0x7e, 0x01, 0x42, ...s64leb(FUEL_INITIAL), 0x0b];
    const globals = byId.get(6);
    replaced.set(6, globals
      ? append(append(u32leb(countVec(bytes, globals) + 1), bytes.subarray(globals.start + u32leb(countVec(bytes, globals)).length, globals.end)), newGlobal)
      : append(u32leb(1), newGlobal));
    const exports = byId.get(7);
    const fuelEntry = [...u32leb(FUEL_EXPORT.length), ...Buffer.from(FUEL_EXPORT), 0x03, ...u32leb(fuelIdx)];
    if (exports) {
      const n = countVec(bytes, exports);
      replaced.set(7, append(append(u32leb(n + 1), bytes.subarray(exports.start + u32leb(n).length, exports.end)), fuelEntry));
    } else replaced.set(7, append(u32leb(1), fuelEntry));
    const code = byId.get(10);
    if (code) replaced.set(10, meterCode(bytes, code, fuelIdx));
    fuelExport = FUEL_EXPORT;
  }
  // Reassemble: existing sections in place (replaced where rewritten), new ones in their slot.
  const out: number[] = append([], bytes.subarray(0, 8));
  const emit = (id: number, payload: ArrayLike<number>): void => {
    out.push(id);
    append(out, u32leb(payload.length));
    append(out, payload);
  };
  const pending = [...replaced.keys()].filter((id) => !byId.has(id)).sort((a, b) => rank(a) - rank(b));
  for (const s of sections) {
    while (s.id !== 0 && pending.length > 0 && rank(pending[0]!) < rank(s.id)) {
      const id = pending.shift()!;
      emit(id, replaced.get(id)!);
    }
    emit(s.id, replaced.get(s.id) ?? bytes.subarray(s.start, s.end));
  }
  for (const id of pending) emit(id, replaced.get(id)!);
  return { bytes: new Uint8Array(out), fuelExport };
}
