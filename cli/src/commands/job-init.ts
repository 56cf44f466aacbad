// insitu job init <dir>: a new job to start from — AssemblyScript source, its build script (one
// command: npm run build) and a test input — copied from wasm-jobs' template.

import { cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import type { CommandContext } from './context.ts';

/** The template's folder, wherever the wasm-jobs package is installed. */
const templateDir = (): string => dirname(createRequire(import.meta.url).resolve('@insitu/wasm-jobs/template/package.json'));

/** A package name from a folder name: lower case, npm's characters only. */
const packageName = (dir: string): string => basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'insitu-job';

export function jobInitCommand({ io, out }: CommandContext): Command {
  return new Command('init').argument('<dir>', 'a new or empty folder').description('start a new job: AssemblyScript source, its build script and a test input')
    .action(async (target: string) => {
      const dir = resolve(io.cwd, target);
      const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        if (e.code === 'ENOTDIR') throw new InsituError('ERR_INVALID_ARGUMENT', `${target} is a file, not a folder`);
        throw e;
      });
      // Nothing of the user's is ever overwritten.
      if (existing.length > 0) throw new InsituError('ERR_INVALID_ARGUMENT', `${target} is not empty: give a new or empty folder`);
      await mkdir(dir, { recursive: true });
      await cp(templateDir(), dir, { recursive: true, errorOnExist: true, force: false });
      // npm leaves .gitignore files out of packages, so the template carries it without the dot.
      await rename(join(dir, 'gitignore'), join(dir, '.gitignore'));
      const pkgPath = join(dir, 'package.json');
      const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as Record<string, unknown>;
      await writeFile(pkgPath, `${JSON.stringify({ ...pkg, name: packageName(dir) }, null, 2)}\n`);
      const files = ['package.json', 'build.mjs', 'assembly/index.ts', 'assembly/io.ts', 'input.txt', 'README.md', '.gitignore'];
      const where = relative(io.cwd, dir) || '.';
      out().result({ dir, files },
        `created a job in ${where}: ${files.join(', ')}\n\n` +
        `  cd ${where}\n  npm install\n  npm run build                     # → build/job.wasm\n` +
        '  insitu bucket create <bucket>\n  insitu put input.txt <bucket>/input.txt\n  insitu job run build/job.wasm <bucket>/input.txt');
    });
}
