// Builds the packages others install (the shared core, the SDK, the executor, the chain, the
// storage node and the CLI) from TypeScript to dist/ with declarations: one `tsc --build` over the
// packages' tsconfig.build.json, whose references give the order (each package compiles against
// the declarations of the ones it uses). Incremental: unchanged packages are not compiled again.
// Run by `npm ci` (prepare) and by the packaging test.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const started = Date.now();
try {
  // The CLI's project references every other built package.
  execFileSync(process.execPath, [tsc, '--build', 'cli/tsconfig.build.json', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
} catch {
  console.error('build: failed');
  process.exit(1);
}
console.error(`build: protocol, sdk, executor, chain, storage-node, cli in ${((Date.now() - started) / 1000).toFixed(1)} s`);
