// Splits the input into lines (records that cross chunk boundaries are joined) and hands each
// line to a callback as a string.
import { readChunk, inputPtr } from "./io";

export function forEachLine(fn: (line: string) => void): void {
  let pending = "";
  for (;;) {
    const n = readChunk();
    if (n == 0) break;
    const p = inputPtr();
    let start = 0;
    for (let i = 0; i < n; i++) {
      if (load<u8>(p + i) == 10) {
        const part = String.UTF8.decodeUnsafe(p + start, i - start);
        fn(pending.length > 0 ? pending + part : part);
        pending = "";
        start = i + 1;
      }
    }
    if (start < n) pending += String.UTF8.decodeUnsafe(p + start, n - start);
  }
  if (pending.length > 0) fn(pending);
}
