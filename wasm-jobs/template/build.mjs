// Builds assembly/index.ts into build/job.wasm: a WASI preview1 command that insitu wraps into a
// component when you submit it. Run: npm run build
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const asc = require.resolve('assemblyscript/bin/asc.js');
// asc finds the WASI shim's library relative to the working directory: run it from the folder
// that holds node_modules and name the shim's config relative to it.
const shimConfig = require.resolve('@assemblyscript/wasi-shim/asconfig.json');
const cwd = shimConfig.slice(0, shimConfig.lastIndexOf('node_modules'));
mkdirSync(join(root, 'build'), { recursive: true });
const r = spawnSync(process.execPath, [
  asc, join(root, 'assembly', 'index.ts'), '--config', relative(cwd, shimConfig),
  // The incremental runtime only uses memory it grew itself, leaving the WASI adapter's page alone.
  '-O3', '--runtime', 'incremental', '--noAssert', '-o', join(root, 'build', 'job.wasm'),
], { stdio: 'inherit', cwd });
if (r.status !== 0) process.exit(r.status ?? 1);
console.log('built build/job.wasm');
