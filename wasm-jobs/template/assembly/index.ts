// Counts how often each word appears in the input and prints "<word> <count>" lines, most
// frequent first (ties in word order). An optional argument prints only that many lines:
//   insitu job run build/job.wasm <bucket>/<object> -- 10
// In a parallel run (--parallel) INSITU_PHASE=map counts one part of the object and
// INSITU_PHASE=reduce adds up the maps' counts, so the output is the same as one run's.
import { forEachLine, writeString, flush } from "./io";
export { cabi_realloc } from "./io";

const counts = new Map<string, i64>();

function add(word: string, n: i64): void {
  counts.set(word, counts.has(word) ? counts.get(word) + n : n);
}

function countWords(line: string): void {
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    const space = c == 32 || c == 9 || c == 13;
    if (space && start >= 0) {
      add(line.substring(start, i), 1);
      start = -1;
    } else if (!space && start < 0) start = i;
  }
}

/** A map's output line "<word> <count>", added to the totals. */
function addCounts(line: string): void {
  const at = line.lastIndexOf(" ");
  if (at > 0) add(line.substring(0, at), I64.parseInt(line.substring(at + 1)));
}

function main(): void {
  const phase = process.env.has("INSITU_PHASE") ? process.env.get("INSITU_PHASE") : "";
  forEachLine(phase == "reduce" ? addCounts : countWords);
  const words = counts.keys();
  words.sort((a: string, b: string): i32 => {
    const d = counts.get(b) - counts.get(a);
    if (d != 0) return d > 0 ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  // A map prints every count; the job's own result may be cut to the first N lines.
  const argv = process.argv;
  let top = words.length;
  if (phase != "map" && argv.length > 1) top = min(top, I32.parseInt(argv[1]));
  for (let i = 0; i < top; i++) writeString(words[i] + " " + counts.get(words[i]).toString() + "\n");
  flush();
}
main();
