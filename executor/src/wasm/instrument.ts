// Sandbox instrumentation of core WebAssembly modules, before they are compiled. The result does
// not depend on any job's limits, so one compiled copy serves every job of a module. Every core
// module of a job imports three globals that the host creates once per job and shares between
// all of the job's core instances:
// - `fuel` (i64): charged at every function entry by the instructions of the function outside
//   its loops plus its declared locals (which the engine zeroes on every call), and at every loop
//   header by the instructions of that loop's body outside nested loops; bulk instructions
//   (memory.fill/copy/init, table.fill/copy/init) are charged by their length operand before they
//   run, memory.grow and table.grow by what they added. The module traps when it drops below zero.
//   The same module and input consume the same fuel on every node.
// - `memory` (i64): the job's memory budget left, in bytes. The host charges each instance's
//   declared memories, tables and element segments before instantiating it; memory.grow and
//   table.grow are charged here and refused (they return -1) when the budget would go negative.
//   So a job's total — every memory and table of every core instance — stays within its cap.
// - `refused` (i32): set to 1 when a grow was refused, so the host can tell a job that failed at
//   its memory limit from any other trap.
// Shared memories, memory64, table64 and the GC and exception proposals are refused.

import { InsituError } from '@insitu/protocol';
import { Reader, readSections, readInstruction, u32leb, s64leb, invalid, type Section } from './reader.ts';
import { ByteWriter } from './writer.ts';

/** The import module the host fills with the job's shared globals. */
export const HOST_MODULE = '__insitu';
export const HOST_GLOBALS = ['fuel', 'memory', 'refused'] as const;
/** Above 2 GiB the jco glue breaks; no memory may declare more. */
export const MAX_MEMORY_PAGES = 32768;
export const PAGE_BYTES = 65536;
/** What one table (or element segment) entry is charged against the memory budget, in bytes. */
export const TABLE_ENTRY_BYTES = 64;
/** Fuel per unit of a bulk instruction's length: memory bytes are cheap, table entries are not. */
export const FUEL_PER_8_BYTES = 1;
export const FUEL_PER_TABLE_ENTRY = 1;
export const FUEL_PER_PAGE_GROWN = 64;

export interface Footprint {
  /** Initial pages of the memories this module defines. */
  memoryPages: number;
  /** Initial entries of the tables it defines plus the entries of its element segments. */
  tableEntries: number;
}

export interface InstrumentResult {
  bytes: Uint8Array;
  /** What one instance of the module holds before it runs a single instruction. */
  footprint: Footprint;
}

export const footprintBytes = (f: Footprint): number => f.memoryPages * PAGE_BYTES + f.tableEntries * TABLE_ENTRY_BYTES;

const K = HOST_GLOBALS.length;

interface Ctx {
  bytes: Uint8Array;
  /** Globals imported by the module itself: our three follow them, defined globals shift by K. */
  importedGlobals: number;
  importedFuncs: number;
  fuel: number;
  mem: number;
  refused: number;
  footprint: Footprint;
}

const globalIndex = (c: Ctx, idx: number): number => (idx >= c.importedGlobals ? idx + K : idx);

function checkMemoryLimits(r: Reader): { flags: number; min: number; max: number | undefined } {
  const flags = r.byte();
  if (flags & 0x02) throw invalid('shared memories are not allowed in jobs');
  if (flags & ~0x03) throw invalid('64-bit memories are not allowed in jobs');
  const min = r.u32();
  const max = flags & 0x01 ? r.u32() : undefined;
  if (min > MAX_MEMORY_PAGES) {
    throw new InsituError('ERR_JOB_MEMORY_LIMIT', `a memory of the module needs ${min} pages at start; no job may have more than ${MAX_MEMORY_PAGES}`);
  }
  if (max !== undefined && max < min) throw invalid('a memory\'s maximum is below its minimum');
  return { flags, min, max };
}

function tableType(r: Reader): { min: number } {
  const ref = r.byte();
  if (ref !== 0x70 && ref !== 0x6f) throw invalid(`unsupported table element type 0x${ref.toString(16)}`);
  const flags = r.byte();
  if (flags & ~0x01) throw invalid('shared or 64-bit tables are not allowed in jobs');
  const min = r.u32();
  if (flags & 0x01 && r.u32() < min) throw invalid('a table\'s maximum is below its minimum');
  return { min };
}

function valType(r: Reader): number {
  const t = r.byte();
  if (t === 0x7f || t === 0x7e || t === 0x7d || t === 0x7c || t === 0x7b || t === 0x70 || t === 0x6f) return t;
  throw invalid(`unsupported value type 0x${t.toString(16)}`);
}

/** Parameter counts of the module's function types. */
function readTypes(bytes: Uint8Array, s: Section | undefined): number[] {
  if (!s) return [];
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const form = r.byte();
    if (form !== 0x60) throw invalid(`unsupported type form 0x${form.toString(16)} (GC types are not allowed in jobs)`);
    const params = r.u32();
    for (let j = 0; j < params; j++) valType(r);
    const results = r.u32();
    for (let j = 0; j < results; j++) valType(r);
    out.push(params);
  }
  return out;
}

function readFuncTypes(bytes: Uint8Array, s: Section | undefined): number[] {
  if (!s) return [];
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.u32());
  return out;
}

function rewriteImports(c: Ctx, s: Section): Uint8Array {
  const { bytes } = c;
  const r = new Reader(bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter(s.end - s.start + 64).u32(n + K);
  for (let i = 0; i < n; i++) {
    const start = r.pos;
    if (r.name() === HOST_MODULE) throw new InsituError('ERR_JOB_FORBIDDEN_IMPORT', `a job module may not import from "${HOST_MODULE}"`);
    r.name();
    const kind = r.byte();
    if (kind === 0) {
      r.u32();
      c.importedFuncs++;
    } else if (kind === 1) tableType(r);
    else if (kind === 2) checkMemoryLimits(r);
    else if (kind === 3) {
      valType(r);
      r.byte();
      c.importedGlobals++;
    } else throw invalid(`unsupported import kind ${kind}`);
    w.bytes(bytes.subarray(start, r.pos));
  }
  if (!r.done) throw invalid('the import section has bytes after its end');
  appendHostImports(w);
  return w.finish();
}

function appendHostImports(w: ByteWriter): void {
  const name = (s: string): void => {
    const b = Buffer.from(s);
    w.u32(b.length).bytes(b);
  };
  for (const g of HOST_GLOBALS) {
    name(HOST_MODULE);
    name(g);
    w.byte(3).byte(g === 'refused' ? 0x7f : 0x7e).byte(0x01);
  }
}

function rewriteMemories(c: Ctx, s: Section): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter().u32(n);
  for (let i = 0; i < n; i++) {
    const { min, max } = checkMemoryLimits(r);
    c.footprint.memoryPages += min;
    w.byte(0x01).u32(min).u32(Math.min(max ?? MAX_MEMORY_PAGES, MAX_MEMORY_PAGES));
  }
  if (!r.done) throw invalid('the memory section has bytes after its end');
  return w.finish();
}

function readTables(c: Ctx, s: Section): void {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  for (let i = 0; i < n; i++) c.footprint.tableEntries += tableType(r).min;
  if (!r.done) throw invalid('the table section has bytes after its end');
}

/** Copies one constant expression, renumbering global references. */
function constExpr(c: Ctx, r: Reader, w: ByteWriter): void {
  for (;;) {
    const start = r.pos;
    const op = readInstruction(r);
    if (op === 0x23) {
      const idx = new Reader(c.bytes, start + 1, r.pos).u32();
      w.byte(0x23).u32(globalIndex(c, idx));
    } else w.bytes(c.bytes.subarray(start, r.pos));
    if (op === 0x0b) return;
  }
}

function rewriteGlobals(c: Ctx, s: Section): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter(s.end - s.start + 16).u32(n);
  for (let i = 0; i < n; i++) {
    w.byte(valType(r));
    w.byte(r.byte());
    constExpr(c, r, w);
  }
  if (!r.done) throw invalid('the global section has bytes after its end');
  return w.finish();
}

function rewriteExports(c: Ctx, s: Section): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter(s.end - s.start + 16).u32(n);
  for (let i = 0; i < n; i++) {
    const start = r.pos;
    r.name();
    const kind = r.byte();
    w.bytes(c.bytes.subarray(start, r.pos));
    const idx = r.u32();
    w.u32(kind === 3 ? globalIndex(c, idx) : idx);
  }
  if (!r.done) throw invalid('the export section has bytes after its end');
  return w.finish();
}

function rewriteElements(c: Ctx, s: Section): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter(s.end - s.start + 16).u32(n);
  for (let i = 0; i < n; i++) {
    const flags = r.u32();
    if (flags > 7) throw invalid(`unsupported element segment kind ${flags}`);
    w.u32(flags);
    if (flags === 2 || flags === 6) w.u32(r.u32());
    if ((flags & 0x01) === 0) constExpr(c, r, w);
    if (flags & 0x03) w.byte(r.byte()); // elemkind or reftype
    const count = r.u32();
    w.u32(count);
    c.footprint.tableEntries += count;
    for (let j = 0; j < count; j++) {
      if (flags & 0x04) constExpr(c, r, w);
      else w.u32(r.u32());
    }
  }
  if (!r.done) throw invalid('the element section has bytes after its end');
  return w.finish();
}

function rewriteData(c: Ctx, s: Section): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  const w = new ByteWriter(s.end - s.start + 16).u32(n);
  for (let i = 0; i < n; i++) {
    const flags = r.u32();
    if (flags > 2) throw invalid(`unsupported data segment kind ${flags}`);
    w.u32(flags);
    if (flags === 2) w.u32(r.u32());
    if (flags !== 1) constExpr(c, r, w);
    const len = r.u32();
    const start = r.pos;
    r.skip(len);
    w.u32(len).bytes(c.bytes.subarray(start, r.pos));
  }
  if (!r.done) throw invalid('the data section has bytes after its end');
  return w.finish();
}

// Instruction sequences written into function bodies. Opcodes: 0x20 local.get, 0x21 local.set,
// 0x22 local.tee, 0x23 global.get, 0x24 global.set, 0x42 i64.const, 0x7c i64.add, 0x7d i64.sub,
// 0x7e i64.mul, 0x88 i64.shr_u, 0xad i64.extend_i32_u, 0x53 i64.lt_s, 0x59 i64.ge_s, 0x46 i32.eq,
// 0x1b select, 0x04 0x40 if, 0x05 else, 0x00 unreachable, 0x0b end.

/** fuel -= amount; trap when it drops below zero. */
function chargeConst(c: Ctx, amount: number): number[] {
  return [0x23, ...u32leb(c.fuel), 0x42, ...s64leb(BigInt(amount)), 0x7d, 0x24, ...u32leb(c.fuel), ...trapIfNegative(c)];
}
function trapIfNegative(c: Ctx): number[] {
  return [0x23, ...u32leb(c.fuel), 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b];
}
/** fuel -= (u64(local n) >> shift) * mul; trap when it drops below zero. */
function chargeLocal(c: Ctx, n: number, shift: number, mul: number): number[] {
  return [
    0x23, ...u32leb(c.fuel), 0x20, ...u32leb(n), 0xad,
    ...(shift ? [0x42, ...s64leb(BigInt(shift)), 0x88] : []),
    ...(mul !== 1 ? [0x42, ...s64leb(BigInt(mul)), 0x7e] : []),
    0x7d, 0x24, ...u32leb(c.fuel), ...trapIfNegative(c),
  ];
}
/** memory budget += sign * u64(local n) * unit. */
function budget(c: Ctx, n: number, unit: number, op: 0x7c | 0x7d): number[] {
  return [0x23, ...u32leb(c.mem), 0x20, ...u32leb(n), 0xad, 0x42, ...s64leb(BigInt(unit)), 0x7e, op, 0x24, ...u32leb(c.mem)];
}
/** Before a grow whose delta is on top of the stack: charge the budget, turn the delta into -1 (which always fails) when it went negative. */
function growBefore(c: Ctx, n: number, unit: number): number[] {
  return [0x21, ...u32leb(n), ...budget(c, n, unit, 0x7d), 0x20, ...u32leb(n), 0x41, 0x7f, 0x23, ...u32leb(c.mem), 0x42, 0x00, 0x59, 0x1b];
}
/** After the grow: on failure refund and flag it; on success charge the fuel of what was added. */
function growAfter(c: Ctx, n: number, res: number, unit: number, fuelPerUnit: number): number[] {
  return [
    0x22, ...u32leb(res), 0x41, 0x7f, 0x46, 0x04, 0x40,
    ...budget(c, n, unit, 0x7c), 0x41, 0x01, 0x24, ...u32leb(c.refused),
    0x05, ...chargeLocal(c, n, 0, fuelPerUnit), 0x0b,
    0x20, ...u32leb(res),
  ];
}

interface Edit {
  at: number;
  del: number;
  bytes?: number[];
  /** A region's fuel charge, known only once the region has been read. */
  region?: number;
}

/** Meters one function body; writes the new body (without its size prefix) to w. */
function meterBody(c: Ctx, start: number, end: number, params: number, w: ByteWriter): void {
  const { bytes } = c;
  const r = new Reader(bytes, start, end);
  const groups = r.u32();
  const groupsStart = r.pos;
  let locals = 0;
  for (let i = 0; i < groups; i++) {
    locals += r.u32();
    valType(r);
  }
  // The engine refuses more than 50000 locals; the sum is checked so it cannot overflow either.
  if (locals > 50_000) throw invalid('a function declares more than 50000 locals');
  const codeStart = r.pos;
  const tmpN = params + locals;
  const tmpR = tmpN + 1;
  let temps = false;
  const edits: Edit[] = [{ at: codeStart, del: 0, region: 0 }];
  const counts: number[] = [locals];
  const regionStack: number[] = [0];
  const blocks: boolean[] = []; // true = loop
  for (let done = false; !done;) {
    const at = r.pos;
    const op = readInstruction(r);
    counts[regionStack[regionStack.length - 1]!]! += 1;
    switch (op) {
      case 0x02: case 0x04:
        blocks.push(false);
        break;
      case 0x03: {
        blocks.push(true);
        const region = counts.length;
        counts.push(0);
        regionStack.push(region);
        edits.push({ at: r.pos, del: 0, region });
        break;
      }
      case 0x0b:
        if (blocks.length === 0) done = true;
        else if (blocks.pop()) regionStack.pop();
        break;
      case 0x23: case 0x24: {
        const idx = new Reader(bytes, at + 1, r.pos).u32();
        edits.push({ at: at + 1, del: r.pos - at - 1, bytes: u32leb(globalIndex(c, idx)) });
        break;
      }
      case 0xfc08: case 0xfc0a: case 0xfc0b: // memory.init, memory.copy, memory.fill
        temps = true;
        edits.push({ at, del: 0, bytes: [0x22, ...u32leb(tmpN), ...chargeLocal(c, tmpN, 3, FUEL_PER_8_BYTES)] });
        break;
      case 0xfc0c: case 0xfc0e: case 0xfc11: // table.init, table.copy, table.fill
        temps = true;
        edits.push({ at, del: 0, bytes: [0x22, ...u32leb(tmpN), ...chargeLocal(c, tmpN, 0, FUEL_PER_TABLE_ENTRY)] });
        break;
      case 0x40: // memory.grow
        temps = true;
        edits.push({ at, del: 0, bytes: growBefore(c, tmpN, PAGE_BYTES) });
        edits.push({ at: r.pos, del: 0, bytes: growAfter(c, tmpN, tmpR, PAGE_BYTES, FUEL_PER_PAGE_GROWN) });
        break;
      case 0xfc0f: // table.grow
        temps = true;
        edits.push({ at, del: 0, bytes: growBefore(c, tmpN, TABLE_ENTRY_BYTES) });
        edits.push({ at: r.pos, del: 0, bytes: growAfter(c, tmpN, tmpR, TABLE_ENTRY_BYTES, FUEL_PER_TABLE_ENTRY) });
        break;
      default:
        break;
    }
  }
  if (r.pos !== end) throw invalid('function body has bytes after its end');
  if (temps) {
    if (locals + 2 > 50_000) throw invalid('a function declares too many locals to be metered');
    w.u32(groups + 1).bytes(bytes.subarray(groupsStart, codeStart)).byte(2).byte(0x7f);
  } else w.bytes(bytes.subarray(start, codeStart));
  let cursor = codeStart;
  for (const e of edits) {
    w.bytes(bytes.subarray(cursor, e.at));
    w.bytes(e.region !== undefined ? chargeConst(c, Math.max(1, counts[e.region]!)) : e.bytes!);
    cursor = e.at + e.del;
  }
  w.bytes(bytes.subarray(cursor, end));
}

function meterCode(c: Ctx, s: Section, types: number[], funcTypes: number[]): Uint8Array {
  const r = new Reader(c.bytes, s.start, s.end);
  const n = r.u32();
  if (n !== funcTypes.length) throw invalid('the code and function sections disagree on the number of functions');
  const w = new ByteWriter((s.end - s.start) * 1.25 + 64).u32(n);
  const body = new ByteWriter(1024);
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const params = types[funcTypes[i]!];
    if (params === undefined) throw invalid(`function ${i} has an unknown type`);
    body.length = 0;
    meterBody(c, start, start + size, params, body);
    w.u32(body.length).bytes(body.view());
  }
  if (!r.done) throw invalid('the code section has bytes after its end');
  return w.finish();
}

// Order of known sections in a module (custom sections, id 0, may sit anywhere).
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const rank = (id: number): number => ORDER.indexOf(id);

export function instrument(bytes: Uint8Array): InstrumentResult {
  const sections = readSections(bytes);
  const byId = new Map<number, Section>();
  for (const s of sections) {
    if (s.id === 0) continue;
    if (rank(s.id) < 0) throw invalid(`unsupported section ${s.id}`);
    if (byId.has(s.id)) throw invalid(`section ${s.id} appears twice`);
    byId.set(s.id, s);
  }
  const c: Ctx = { bytes, importedGlobals: 0, importedFuncs: 0, fuel: 0, mem: 0, refused: 0, footprint: { memoryPages: 0, tableEntries: 0 } };
  const replaced = new Map<number, Uint8Array>();
  const imp = byId.get(2);
  if (imp) replaced.set(2, rewriteImports(c, imp));
  else {
    const w = new ByteWriter().u32(K);
    appendHostImports(w);
    replaced.set(2, w.finish());
  }
  c.fuel = c.importedGlobals;
  c.mem = c.importedGlobals + 1;
  c.refused = c.importedGlobals + 2;
  const types = readTypes(bytes, byId.get(1));
  const funcTypes = readFuncTypes(bytes, byId.get(3));
  const tables = byId.get(4);
  if (tables) readTables(c, tables);
  const mem = byId.get(5);
  if (mem) replaced.set(5, rewriteMemories(c, mem));
  const globals = byId.get(6);
  if (globals) replaced.set(6, rewriteGlobals(c, globals));
  const exports = byId.get(7);
  if (exports) replaced.set(7, rewriteExports(c, exports));
  const elems = byId.get(9);
  if (elems) replaced.set(9, rewriteElements(c, elems));
  const code = byId.get(10);
  if (code) replaced.set(10, meterCode(c, code, types, funcTypes));
  else if (funcTypes.length > 0) throw invalid('functions without a code section');
  const data = byId.get(11);
  if (data) replaced.set(11, rewriteData(c, data));
  // Reassemble: existing sections in place (replaced where rewritten), a new import section in its slot.
  const out = new ByteWriter(bytes.length * 1.25 + 256).bytes(bytes.subarray(0, 8));
  const emit = (id: number, payload: Uint8Array): void => {
    out.byte(id).u32(payload.length).bytes(payload);
  };
  let importsDone = byId.has(2);
  for (const s of sections) {
    if (!importsDone && s.id !== 0 && rank(s.id) > rank(2)) {
      emit(2, replaced.get(2)!);
      importsDone = true;
    }
    emit(s.id, replaced.get(s.id) ?? bytes.subarray(s.start, s.end));
  }
  if (!importsDone) emit(2, replaced.get(2)!);
  return { bytes: out.finish(), footprint: c.footprint };
}
