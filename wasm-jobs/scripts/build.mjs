// Builds the example jobs (AssemblyScript + the WASI shim) into build/<name>.wasm — WASI
// preview1 core modules that insitu wraps into components at submission.
// Run: npm run build -w wasm-jobs [-- <name>...]   (the built modules are committed)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const asc = require.resolve('assemblyscript/bin/asc.js');
// asc resolves the shim's library folder relative to the working directory, so run from the
// folder that holds node_modules and pass the config path relative to it.
const shimConfig = require.resolve('@assemblyscript/wasi-shim/asconfig.json');
const cwd = shimConfig.slice(0, shimConfig.lastIndexOf('node_modules'));
const relConfig = shimConfig.slice(cwd.length);
// `node scripts/build.mjs <name>...` builds only the named jobs.
const only = process.argv.slice(2);
const jobs = readdirSync(join(root, 'assembly')).filter((f) => f.endsWith('.ts') && (only.length === 0 || only.includes(f.replace(/\.ts$/, ''))));
for (const file of jobs) {
  const name = file.replace(/\.ts$/, '');
  const out = join(root, 'build', `${name}.wasm`);
  const r = spawnSync(process.execPath, [asc, join(root, 'assembly', file), '--config', relConfig, // The incremental runtime only takes memory it grew itself; the stub runtime's bump allocator
    // would run into the page the WASI adapter grows for its own state.
    '-O3', '--runtime', 'incremental', '--noAssert', '-o', out], { stdio: 'inherit', cwd });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(`built ${name} → build/${name}.wasm`);
}
