// logreg: one gradient-descent step of logistic regression, built to run over a dataset (many CSV
// objects) as map jobs and a reduce. Args: <model> <learning-rate>, where <model> is "0" (all
// weights zero) or "b,w1,...,wd" — the first line of a previous run's output, so training is a
// sequence of runs, each fed the model the last one produced.
//
// Over CSV rows "x1,...,xd,y" (y 0 or 1; a first line that is not numbers is a header) it writes
// the partial sums of the step: "#partial <rows> <loss sum> <gradient b> <gradient w1> ...". Over
// input made of such lines (the map outputs concatenated, in any order) it adds them up and
// writes the new model "b,w1,...,wd" and a line "# rows=<n> loss=<mean loss before the step>".
// Sums are of f64 in input order, so the same inputs give the same bytes on every node.
// With --parallel the map steps see whole lines of each piece and the reduce the maps' partials.
import { writeString, writeError, flush, forEachLine } from "./lib/io";
export { cabi_realloc } from "./lib/io";

let model: f64[] = [];
let zeroModel = false;
let reducing = false;
let decided = false;
let rows: f64 = 0;
let loss: f64 = 0;
let grad: f64[] = [];
let bad = "";

function fail(msg: string): void {
  if (bad.length == 0) bad = msg;
}

function sigmoid(z: f64): f64 {
  return 1.0 / (1.0 + Math.exp(-z));
}

function onPartial(parts: string[]): void {
  if (grad.length == 0) {
    for (let j = 3; j < parts.length; j++) grad.push(0);
  }
  if (parts.length - 3 != grad.length) return fail("partials of different dimensions");
  rows += parseFloat(parts[1]);
  loss += parseFloat(parts[2]);
  for (let j = 0; j < grad.length; j++) grad[j] += parseFloat(parts[j + 3]);
}

function onRow(parts: string[]): void {
  const d = parts.length - 1;
  if (d < 1) return;
  if (zeroModel && model.length == 0) {
    for (let j = 0; j <= d; j++) model.push(0);
  }
  if (model.length != d + 1) return fail("a row has " + d.toString() + " features; the model has " + (model.length - 1).toString());
  if (grad.length == 0) {
    for (let j = 0; j <= d; j++) grad.push(0);
  }
  let z = model[0];
  for (let j = 0; j < d; j++) z += model[j + 1] * parseFloat(parts[j]);
  const y = parseFloat(parts[d]);
  if (isNaN(z) || isNaN(y)) return fail("a row that is not numbers after the header");
  let p = sigmoid(z);
  if (p < 1e-12) p = 1e-12;
  if (p > 1 - 1e-12) p = 1 - 1e-12;
  loss -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  const e = p - y;
  grad[0] += e;
  for (let j = 0; j < d; j++) grad[j + 1] += e * parseFloat(parts[j]);
  rows += 1;
}

function onLine(line: string): void {
  if (line.length == 0 || bad.length > 0) return;
  const trimmed = line.endsWith("\r") ? line.slice(0, line.length - 1) : line;
  if (!decided) {
    decided = true;
    reducing = trimmed.startsWith("#partial ");
    // A CSV header: its first field is not a number.
    if (!reducing && isNaN(parseFloat(trimmed.split(",")[0]))) return;
  }
  if (reducing) {
    if (!trimmed.startsWith("#partial ")) return fail("reduce input mixes partials and other lines");
    onPartial(trimmed.split(" "));
  } else {
    if (trimmed.startsWith("#partial ")) return fail("map input mixes rows and partials");
    onRow(trimmed.split(","));
  }
}

function main(): void {
  const argv = process.argv;
  if (argv.length < 3) {
    writeError("usage: logreg <model: 0 | b,w1,...,wd> <learning-rate>\n");
    process.exit(2);
  }
  if (argv[1] == "0") zeroModel = true;
  else {
    const ws = argv[1].split(",");
    for (let j = 0; j < ws.length; j++) model.push(parseFloat(ws[j]));
  }
  const rate = parseFloat(argv[2]);
  forEachLine(onLine);
  if (bad.length > 0) {
    writeError("logreg: " + bad + "\n");
    process.exit(1);
  }
  if (!reducing) {
    let out = "#partial " + (<i64>rows).toString() + " " + loss.toString();
    for (let j = 0; j < grad.length; j++) out += " " + grad[j].toString();
    writeString(out + "\n");
    flush();
    return;
  }
  if (rows == 0) {
    writeError("logreg: no rows in any partial\n");
    process.exit(1);
  }
  if (zeroModel) {
    for (let j = 0; j < grad.length; j++) model.push(0);
  }
  if (model.length != grad.length) {
    writeError("logreg: the model and the partials have different dimensions\n");
    process.exit(1);
  }
  let line = "";
  for (let j = 0; j < model.length; j++) line += (j > 0 ? "," : "") + (model[j] - rate * grad[j] / rows).toString();
  writeString(line + "\n# rows=" + (<i64>rows).toString() + " loss=" + (loss / rows).toString() + "\n");
  flush();
}
main();
