// Builds the packages others install (the shared core, the SDK, the executor, the chain, the
// storage node and the CLI) from TypeScript to dist/ with declarations, in dependency order: each
// package type-checks against the declarations of the ones it uses. Incremental: an unchanged
// package costs a moment. Run by `npm ci` (prepare) and by the packaging test.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const order = ['protocol', 'sdk', 'executor', 'chain', 'storage-node', 'cli'];
const only = process.argv.slice(2);
const started = Date.now();
for (const pkg of order) {
  if (only.length && !only.includes(pkg)) continue;
  try {
    execFileSync(process.execPath, [tsc, '-p', `${pkg}/tsconfig.build.json`], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build: ${pkg} failed`);
    process.exit(1);
  }
}
console.error(`build: ${only.length ? only.join(', ') : order.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
