// csv-agg: aggregates a CSV column by key. Args: <key column> <value column> (0-based; the first
// line is a header). Output CSV: key,count,sum,min,max,mean — one line per key, keys sorted.
// In parallel runs each map emits key,count,sum,min,max for its lines and the reduce step merges
// them (sums of integers are exact; sums of fractions may differ from a single run in the last
// digit, as floating-point addition in another order does).
import { writeString, writeError, flush, forEachLine } from "./lib/io";
export { cabi_realloc } from "./lib/io";
import { phase, atObjectStart } from "./lib/phase";

class Stat {
  count: i64 = 0;
  sum: f64 = 0;
  min: f64 = Infinity;
  max: f64 = -Infinity;
}

let keyCol: i32 = 0;
let valCol: i32 = 1;
let header = true;
const stats = new Map<string, Stat>();

function onLine(line: string): void {
  if (header) {
    header = false;
    return;
  }
  if (line.length == 0) return;
  const cols = line.split(",");
  if (keyCol >= cols.length || valCol >= cols.length) return;
  const key = cols[keyCol];
  const v = parseFloat(cols[valCol]);
  if (isNaN(v)) return;
  const s = statOf(key);
  s.count++;
  s.sum += v;
  if (v < s.min) s.min = v;
  if (v > s.max) s.max = v;
}

function statOf(key: string): Stat {
  if (stats.has(key)) return stats.get(key);
  const s = new Stat();
  stats.set(key, s);
  return s;
}

/** One partial line from a map: key,count,sum,min,max. */
function onPartial(line: string): void {
  if (line.length == 0) return;
  const cols = line.split(",");
  if (cols.length != 5) return;
  const s = statOf(cols[0]);
  s.count += I64.parseInt(cols[1]);
  s.sum += parseFloat(cols[2]);
  const lo = parseFloat(cols[3]);
  const hi = parseFloat(cols[4]);
  if (lo < s.min) s.min = lo;
  if (hi > s.max) s.max = hi;
}

function sortedKeys(): string[] {
  const keys = stats.keys();
  keys.sort((a: string, b: string): i32 => (a < b ? -1 : a > b ? 1 : 0));
  return keys;
}

function main(): void {
  const argv = process.argv;
  if (argv.length < 3) {
    writeError("usage: csv-agg <key column> <value column>\n");
    process.exit(2);
  }
  keyCol = I32.parseInt(argv[1]);
  valCol = I32.parseInt(argv[2]);
  const p = phase();
  if (p == "map") {
    header = atObjectStart();
    forEachLine(onLine);
    const keys = sortedKeys();
    for (let i = 0; i < keys.length; i++) {
      const s = stats.get(keys[i]);
      writeString(keys[i] + "," + s.count.toString() + "," + s.sum.toString() + "," + s.min.toString() + "," + s.max.toString() + "\n");
    }
    flush();
    return;
  }
  if (p == "reduce") forEachLine(onPartial);
  else forEachLine(onLine);
  const keys = sortedKeys();
  writeString("key,count,sum,min,max,mean\n");
  for (let i = 0; i < keys.length; i++) {
    const s = stats.get(keys[i]);
    writeString(keys[i] + "," + s.count.toString() + "," + s.sum.toString() + "," + s.min.toString() + "," + s.max.toString() + "," + (s.sum / <f64>s.count).toString() + "\n");
  }
  flush();
}
main();
