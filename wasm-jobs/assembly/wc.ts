// wc: counts lines, words and bytes of the input. Output: "<lines> <words> <bytes>\n".
import { readChunk, inputPtr, writeString, flush } from "./lib/io";
export { cabi_realloc } from "./lib/io";

function main(): void {
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
