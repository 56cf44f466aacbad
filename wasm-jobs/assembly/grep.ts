// grep: prints the lines of the input that contain the pattern given as the first argument.
// In parallel runs each map greps its lines and the reduce step passes the matches through in
// object order.
import { readChunk, inputPtr, writeBytes, writeError, flush } from "./lib/io";
export { cabi_realloc } from "./lib/io";
import { phase } from "./lib/phase";

// Managed buffers held in globals, so the collector always sees them.
let line = new Uint8Array(4096);
let len: i32 = 0;
let pattern = new Uint8Array(0);
const NEWLINE = new Uint8Array(1);

function matches(): bool {
  const plen = pattern.length;
  if (plen == 0) return true;
  const l = line.dataStart;
  const p = pattern.dataStart;
  const first = load<u8>(p);
  for (let i = 0; i + plen <= len; i++) {
    if (load<u8>(l + i) != first) continue;
    if (memory.compare(l + i, p, plen) == 0) return true;
  }
  return false;
}

function endLine(): void {
  if (matches()) {
    writeBytes(line.dataStart, len);
    writeBytes(NEWLINE.dataStart, 1);
  }
  len = 0;
}

function passThrough(): void {
  for (;;) {
    const n = readChunk();
    if (n == 0) break;
    writeBytes(inputPtr(), n);
  }
  flush();
}

function main(): void {
  if (phase() == "reduce") {
    passThrough();
    return;
  }
  const argv = process.argv;
  if (argv.length < 2) {
    writeError("usage: grep <pattern>\n");
    process.exit(2);
  }
  NEWLINE[0] = 10;
  pattern = Uint8Array.wrap(String.UTF8.encode(argv[1]));
  for (;;) {
    const n = readChunk();
    if (n == 0) break;
    const p = inputPtr();
    for (let i = 0; i < n; i++) {
      const c = load<u8>(p + i);
      if (c == 10) {
        endLine();
        continue;
      }
      if (len == line.length) {
        const bigger = new Uint8Array(line.length * 2);
        memory.copy(bigger.dataStart, line.dataStart, len);
        line = bigger;
      }
      store<u8>(line.dataStart + len, c);
      len++;
    }
  }
  if (len > 0) endLine();
  flush();
}
main();
