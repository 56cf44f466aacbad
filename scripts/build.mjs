// Builds the packages others install (the shared core, the SDK, the executor, the chain, the
// storage node and the CLI) from TypeScript to dist/ with declarations: one `tsc --build` over the
// packages' tsconfig.build.json, whose references give the order (each package compiles against
// the declarations of the ones it uses). Incremental: unchanged packages are not compiled again.
// Run by `npm ci` (prepare) and by the packaging test. After a build each package's dist/ gets the
// digest of the sources it was built from (dist/.source-digest), by which a devnet inside the
// repository runs its processes from dist/ only while dist/ matches the sources
// (protocol/src/node-script.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const started = Date.now();
const packages = /** @type {string[]} */ (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces)
  .filter((w) => existsSync(join(root, w, 'tsconfig.build.json')));
/** What was on disk for a package's build: each source's path, size and modification time. */
const touched = (/** @type {string} */ p) => ['tsconfig.build.json', ...readdirSync(join(root, p, 'src'), { recursive: true }).map((f) => join('src', String(f)))]
  .map((f) => statSync(join(root, p, f), { throwIfNoEntry: false }))
  .map((st) => `${st?.size}:${st?.mtimeMs}`).join(',');
// A build that fails half-way leaves no package claiming to match its sources.
for (const p of packages) rmSync(join(root, p, 'dist', '.source-digest'), { force: true });
const before = new Map(packages.map((p) => [p, touched(p)]));
try {
  // The CLI's project references every other built package.
  execFileSync(process.execPath, [tsc, '--build', 'cli/tsconfig.build.json', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
} catch {
  console.error('build: failed');
  process.exit(1);
}
// A package whose sources changed while the compiler ran gets no digest, and runs from its sources
// until the next build.
const { sourceDigest, writeSourceDigest } = await import(new URL('../protocol/dist/node-script.js', import.meta.url).href);
for (const p of packages) {
  if (before.get(p) === touched(p)) writeSourceDigest(join(root, p), sourceDigest(join(root, p)));
}
console.error(`build: protocol, sdk, executor, chain, storage-node, cli in ${((Date.now() - started) / 1000).toFixed(1)} s`);
