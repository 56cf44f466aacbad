// kmeans: clusters the points of a CSV (header line first) with Lloyd's algorithm.
// Args: <k> <iterations> <column>... (0-based numeric columns to use). The first k points are the
// initial centroids, so the result is deterministic. Output CSV: cluster,size,<one column per
// dimension> — the final centroids.
import { writeString, writeError, flush, forEachLine } from "./lib/io";
export { cabi_realloc } from "./lib/io";
import { refuseParallel } from "./lib/phase";

let cols: i32[] = [];
let header = true;
const data: f64[] = [];

function onLine(line: string): void {
  if (header) {
    header = false;
    return;
  }
  if (line.length == 0) return;
  const parts = line.split(",");
  for (let j = 0; j < cols.length; j++) {
    if (cols[j] >= parts.length) return;
  }
  for (let j = 0; j < cols.length; j++) data.push(parseFloat(parts[cols[j]]));
}

function main(): void {
  refuseParallel("kmeans", "its iterations need all the points at once");
  const argv = process.argv;
  if (argv.length < 4) {
    writeError("usage: kmeans <k> <iterations> <column>...\n");
    process.exit(2);
  }
  const k = I32.parseInt(argv[1]);
  const iters = I32.parseInt(argv[2]);
  for (let i = 3; i < argv.length; i++) cols.push(I32.parseInt(argv[i]));
  forEachLine(onLine);
  const d = cols.length;
  const n = data.length / d;
  if (k <= 0 || n < k) {
    writeError("kmeans: need at least k points\n");
    process.exit(1);
  }
  const centroids = new Array<f64>(k * d);
  for (let i = 0; i < k * d; i++) centroids[i] = data[i];
  const sums = new Array<f64>(k * d);
  const sizes = new Array<i32>(k);
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < k * d; i++) sums[i] = 0;
    for (let c = 0; c < k; c++) sizes[c] = 0;
    for (let p = 0; p < n; p++) {
      let best = 0;
      let bestDist = Infinity;
      for (let c = 0; c < k; c++) {
        let dist: f64 = 0;
        for (let j = 0; j < d; j++) {
          const diff = data[p * d + j] - centroids[c * d + j];
          dist += diff * diff;
        }
        if (dist < bestDist) {
          bestDist = dist;
          best = c;
        }
      }
      sizes[best]++;
      for (let j = 0; j < d; j++) sums[best * d + j] += data[p * d + j];
    }
    for (let c = 0; c < k; c++) {
      if (sizes[c] == 0) continue;
      for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j] / <f64>sizes[c];
    }
  }
  let head = "cluster,size";
  for (let j = 0; j < d; j++) head += ",c" + cols[j].toString();
  writeString(head + "\n");
  for (let c = 0; c < k; c++) {
    let row = c.toString() + "," + sizes[c].toString();
    for (let j = 0; j < d; j++) row += "," + centroids[c * d + j].toString();
    writeString(row + "\n");
  }
  flush();
}
main();
