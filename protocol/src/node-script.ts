// How to start a Node process that runs one of insitu's programs (the chain, a storage node). A
// built package runs its JavaScript as it is. Inside the repository the program is a TypeScript
// source, and there are two ways to run it:
// - the package's built JavaScript (dist/), when dist/ was built from exactly the sources now in
//   the tree, for the program's package and every insitu package it uses: `scripts/build.mjs`
//   (run by `npm ci` and `npm run build`) writes each package's source digest, and the digest of
//   the JavaScript it built, into dist/.source-digest, and both are computed again here, over the
//   files' contents, before each start (so a dist/ compiled some other way, from other sources,
//   is not taken for the recorded build either). This spares every process tsx's loader thread, its transpiling
//   and the source maps it keeps (about 60 MiB of memory and seconds of start-up per process);
// - otherwise through tsx with the insitu-source condition, so an edit applies without a build and
//   a stale dist/ is never run. INSITU_RUN_SOURCES=1 always runs the sources this way.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Where a build leaves the digest of the sources it compiled, inside each package's dist/. */
export const SOURCE_DIGEST_FILE = '.source-digest';

export interface NodeScript {
  /** Node arguments that run the program. */
  args: string[];
  /** The built JavaScript (true), or the TypeScript source through tsx (false). */
  built: boolean;
  /** Why the sources run, when they do. */
  reason?: string;
}

/** The directory of the package.json nearest above `file`. */
function packageRoot(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The digest of what a package's build compiles: every file under src/ (path and content, in a
 * fixed order) and the compiler options (the package's tsconfig.build.json and the shared
 * tsconfig.base.json beside the packages).
 */
export function sourceDigest(pkgDir: string): string {
  const h = createHash('sha256');
  const add = (name: string, path: string): void => {
    if (!existsSync(path)) return;
    const body = readFileSync(path);
    h.update(`${name}\0${body.length}\0`).update(body);
  };
  add('tsconfig.build.json', join(pkgDir, 'tsconfig.build.json'));
  add('../tsconfig.base.json', join(pkgDir, '..', 'tsconfig.base.json'));
  const src = join(pkgDir, 'src');
  const files = existsSync(src) ? (readdirSync(src, { recursive: true }) as string[]).map((f) => join(src, f)).filter((f) => statSync(f).isFile()) : [];
  for (const f of files.map((p) => relative(pkgDir, p).split(sep).join('/')).sort()) add(f, join(pkgDir, f));
  return h.digest('hex');
}

/** The digest of the JavaScript a build left in dist/ (what a process would run). */
function builtDigest(pkgDir: string): string {
  const h = createHash('sha256');
  const dist = join(pkgDir, 'dist');
  const files = existsSync(dist) ? (readdirSync(dist, { recursive: true }) as string[]).filter((f) => /\.[mc]?js$/.test(f)).map((f) => f.split(sep).join('/')).sort() : [];
  for (const f of files) {
    const body = readFileSync(join(dist, f));
    h.update(`${f}\0${body.length}\0`).update(body);
  }
  return h.digest('hex');
}

/**
 * Records that `pkgDir`'s dist/ holds the build of the sources whose digest is `digest`, with the
 * digest of the JavaScript now in dist/.
 */
export function writeSourceDigest(pkgDir: string, digest: string): void {
  writeFileSync(join(pkgDir, 'dist', SOURCE_DIGEST_FILE), `${digest} ${builtDigest(pkgDir)}\n`);
}

/** The insitu packages `pkgDir` depends on at run time, found as Node finds them (node_modules). */
function insituDependencies(pkgDir: string): string[] {
  const deps = Object.keys((JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
  const found: string[] = [];
  for (const name of deps.filter((d) => d.startsWith('@insitu/'))) {
    for (let dir = pkgDir; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(candidate)) {
        found.push(realpathSync(candidate));
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return found;
}

/** Why `pkgDir` (and the insitu packages it uses) cannot run from dist/, or undefined if it can. */
function staleBuild(pkgDir: string, seen = new Set<string>()): string | undefined {
  if (seen.has(pkgDir)) return undefined;
  seen.add(pkgDir);
  // Packages without sources (the example jobs) have nothing to build.
  if (!existsSync(join(pkgDir, 'src'))) return undefined;
  const stamp = join(pkgDir, 'dist', SOURCE_DIGEST_FILE);
  if (!existsSync(stamp)) return `${relative(dirname(pkgDir), pkgDir)} is not built (npm run build)`;
  const [source, built] = readFileSync(stamp, 'utf8').trim().split(' ');
  if (source !== sourceDigest(pkgDir)) return `${relative(dirname(pkgDir), pkgDir)}/dist is older than its sources (npm run build)`;
  if (built !== builtDigest(pkgDir)) return `${relative(dirname(pkgDir), pkgDir)}/dist changed since its build was recorded (npm run build)`;
  for (const dep of insituDependencies(pkgDir)) {
    const why = staleBuild(dep, seen);
    if (why) return why;
  }
  return undefined;
}

/** How to run `file` (an absolute path): itself, its current build, or tsx over the source. */
export function nodeScript(file: string): NodeScript {
  if (!/\.[mc]?ts$/.test(file)) return { args: [file], built: true };
  const viaTsx = (reason: string): NodeScript => ({ args: ['--import', import.meta.resolve('tsx'), '--conditions=insitu-source', file], built: false, reason });
  if (process.env.INSITU_RUN_SOURCES === '1') return viaTsx('INSITU_RUN_SOURCES=1');
  const root = packageRoot(file);
  const rel = root ? relative(root, file).split(sep).join('/') : '';
  if (!root || !rel.startsWith('src/')) return viaTsx(`${file} is not a package source`);
  const built = join(root, 'dist', rel.slice('src/'.length).replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs'));
  if (!existsSync(built)) return viaTsx(`${relative(dirname(root), built)} does not exist (npm run build)`);
  const why = staleBuild(root);
  return why ? viaTsx(why) : { args: [built], built: true };
}

/** Node arguments that run `file` (an absolute path): see nodeScript. */
export function nodeScriptArgs(file: string): string[] {
  return nodeScript(file).args;
}
