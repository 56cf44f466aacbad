// wc: counts lines, words and bytes of the input. Output: "<lines> <words> <bytes>\n".
// In parallel runs each map counts its lines and the reduce step sums the counts.
import { readChunk, inputPtr, writeString, flush, forEachLine } from "./lib/io";
export { cabi_realloc } from "./lib/io";
import { phase } from "./lib/phase";

let sumLines: u64 = 0;
let sumWords: u64 = 0;
let sumBytes: u64 = 0;

function addCounts(line: string): void {
  if (line.length == 0) return;
  const parts = line.split(" ");
  if (parts.length != 3) return;
  sumLines += U64.parseInt(parts[0]);
  sumWords += U64.parseInt(parts[1]);
  sumBytes += U64.parseInt(parts[2]);
}

function reduce(): void {
  forEachLine(addCounts);
  writeString(sumLines.toString() + " " + sumWords.toString() + " " + sumBytes.toString() + "\n");
  flush();
}

function main(): void {
  if (phase() == "reduce") {
    reduce();
    return;
  }
  let lines: u64 = 0;
  let words: u64 = 0;
  let bytes: u64 = 0;
  let inWord = false;
  for (;;) {
    const n = readChunk();
    if (n == 0) break;
    const p = inputPtr();
    bytes += <u64>n;
    for (let i = 0; i < n; i++) {
      const c = load<u8>(p + i);
      if (c == 10) lines++;
      const space = c == 32 || c == 10 || c == 9 || c == 13 || c == 11 || c == 12;
      if (space) inWord = false;
      else if (!inWord) {
        inWord = true;
        words++;
      }
    }
  }
  writeString(lines.toString() + " " + words.toString() + " " + bytes.toString() + "\n");
  flush();
}
main();
