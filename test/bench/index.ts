// Benchmark runner: `npm run bench [-- name…]` runs every bench module in this folder whose name
// matches one of the arguments (all when none is given) and prints its tables.

import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface BenchContext {
  table(title: string, rows: Record<string, string | number>[]): void;
  note(text: string): void;
}

interface BenchModule {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

const ctx: BenchContext = {
  table(title, rows) {
    process.stdout.write(`\n${title}\n`);
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!);
    const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
    const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
    const line = (vals: string[]): string => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
    process.stdout.write(`${line(cols)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
    for (const r of cells) process.stdout.write(`${line(r)}\n`);
  },
  note(text) {
    process.stdout.write(`${text}\n`);
  },
};

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2).filter((a) => !/^\d/.test(a)); // sizes (e.g. `durability 64MiB`) are the modules' own arguments
// A module is named after its file: only the modules asked for are loaded, so one module's
// imports cannot stop the others.
const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .filter((f) => filters.length === 0 || filters.some((x) => f.slice(0, -3).includes(x))).sort();
for (const file of files) {
  const mod = (await import(new URL(file, import.meta.url).href)) as BenchModule;
  if (filters.length > 0 && !filters.some((f) => mod.name.includes(f))) continue;
  process.stdout.write(`\n== ${mod.name} (${file})\n`);
  await mod.run(ctx);
}
