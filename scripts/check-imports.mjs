// The walls between workspaces, checked (part of `npm run lint`): a module imports another
// workspace only through one of that workspace's declared entry points ("exports" in its
// package.json), never by a relative path into its folder, and only workspaces it declares as
// dependencies. Prints each offending import and exits 1 if there is any.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const workspaces = new Map(rootPkg.workspaces.map((dir) => [dir, JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))]));
const byName = new Map([...workspaces].map(([dir, pkg]) => [pkg.name, { dir, pkg }]));

/** Whether `sub` ("." or "./x") matches one of the package's export keys (with * patterns). */
function exported(pkg, sub) {
  return Object.keys(pkg.exports ?? {}).some((key) => {
    if (!key.includes('*')) return key === sub;
    const [head = '', tail = ''] = key.split('*');
    return sub.startsWith(head) && sub.endsWith(tail) && sub.length >= head.length + tail.length;
  });
}

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name === 'assembly' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

const problems = [];
let checked = 0;
for (const [dir, pkg] of workspaces) {
  const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }));
  for (const file of files(join(root, dir))) {
    const src = readFileSync(file, 'utf8');
    const where = relative(root, file);
    for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\bresolve\(\s*)(['"])([^'"\n]+)\1/gm)) {
      const spec = m[2] ?? '';
      checked++;
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(dirname(file), spec)).split(sep)[0];
        if (target !== dir && workspaces.has(target)) problems.push(`${where}: ${spec} reaches into ${target}/ by a relative path`);
        continue;
      }
      const scoped = /^(@insitu\/[^/]+)(\/.*)?$/.exec(spec);
      if (!scoped) continue;
      const [, name = '', sub = ''] = scoped;
      const other = byName.get(name);
      if (!other) {
        problems.push(`${where}: ${spec}: no workspace is named ${name}`);
        continue;
      }
      if (!exported(other.pkg, `.${sub}`)) problems.push(`${where}: ${spec} is not an entry point of ${name}`);
      if (other.dir !== dir && !declared.has(name)) problems.push(`${where}: ${spec}: ${pkg.name} does not declare ${name} as a dependency`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} import(s) cross a workspace's wall`);
  process.exit(1);
}
console.error(`imports: ${checked} checked, every import of another workspace goes through its entry points`);
