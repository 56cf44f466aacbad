// Which way a program's process runs inside the repository: its package's dist/ only while each
// insitu package it uses was built from the sources now on disk (the build's digest matches the
// files' contents); any edit, a missing build or INSITU_RUN_SOURCES=1 runs the sources through tsx.

import test from 'ava';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeScript, sourceDigest, writeSourceDigest } from '@insitu/protocol';

/** Two workspace packages, a (the program, bin.ts) using b, both built and stamped. */
async function workspace(t: { teardown(fn: () => Promise<void>): void }): Promise<{ root: string; a: string; b: string }> {
  const root = await mkdtemp(join(tmpdir(), 'insitu-node-script-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'tsconfig.base.json'), '{}');
  const pkg = async (name: string, deps: Record<string, string>): Promise<string> => {
    const dir = join(root, name);
    await mkdir(join(dir, 'src', 'lib'), { recursive: true });
    await mkdir(join(dir, 'dist', 'lib'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `@insitu/${name}`, dependencies: deps }));
    await writeFile(join(dir, 'tsconfig.build.json'), '{"compilerOptions":{"outDir":"dist"}}');
    await writeFile(join(dir, 'src', 'bin.ts'), 'export const x: number = 1;\n');
    await writeFile(join(dir, 'src', 'lib', 'util.ts'), 'export const y = 2;\n');
    await writeFile(join(dir, 'dist', 'bin.js'), 'export const x = 1;\n');
    await writeFile(join(dir, 'dist', 'lib', 'util.js'), 'export const y = 2;\n');
    writeSourceDigest(dir, sourceDigest(dir));
    return dir;
  };
  const b = await pkg('b', {});
  const a = await pkg('a', { '@insitu/b': '0.1.0', undici: '^7' });
  await mkdir(join(root, 'node_modules', '@insitu'), { recursive: true });
  await symlink(b, join(root, 'node_modules', '@insitu', 'b'));
  return { root, a, b };
}

const runsTsx = (args: string[], file: string): boolean => args.includes('--conditions=insitu-source') && args.at(-1) === file;

test('a program whose package and dependencies match their build runs its built JavaScript, with no tsx', async (t) => {
  const { a } = await workspace(t);
  const s = nodeScript(join(a, 'src', 'bin.ts'));
  t.deepEqual(s, { args: [join(a, 'dist', 'bin.js')], built: true });
});

test('an edited source, in the program\'s package or in one it uses, runs the sources through tsx and says which package is stale', async (t) => {
  const { a, b } = await workspace(t);
  const file = join(a, 'src', 'bin.ts');
  await writeFile(join(a, 'src', 'lib', 'util.ts'), 'export const y = 3;\n');
  let s = nodeScript(file);
  t.false(s.built);
  t.true(runsTsx(s.args, file));
  t.regex(s.reason!, /^a\/dist is older than its sources/);
  // Put back byte for byte: the build matches again, whatever the files' times say.
  await writeFile(join(a, 'src', 'lib', 'util.ts'), 'export const y = 2;\n');
  t.true(nodeScript(file).built);
  // A dependency edited, or given a new file.
  await writeFile(join(b, 'src', 'lib', 'extra.ts'), 'export {};\n');
  s = nodeScript(file);
  t.false(s.built);
  t.regex(s.reason!, /^b\/dist is older than its sources/);
});

test('a dist/ that changed after its build was recorded (compiled some other way) runs the sources, even when the sources match', async (t) => {
  const { b, a } = await workspace(t);
  await writeFile(join(b, 'dist', 'lib', 'util.js'), 'export const y = 3;\n');
  const s = nodeScript(join(a, 'src', 'bin.ts'));
  t.false(s.built);
  t.regex(s.reason!, /^b\/dist changed since its build was recorded/);
});

test('a changed compiler configuration, a missing digest or a missing built file runs the sources', async (t) => {
  const { root, a, b } = await workspace(t);
  const file = join(a, 'src', 'bin.ts');
  await writeFile(join(root, 'tsconfig.base.json'), '{"compilerOptions":{"target":"es2020"}}');
  t.false(nodeScript(file).built);
  writeSourceDigest(a, sourceDigest(a));
  writeSourceDigest(b, sourceDigest(b));
  t.true(nodeScript(file).built);
  await rm(join(b, 'dist', '.source-digest'));
  t.regex(nodeScript(file).reason!, /^b is not built/);
  writeSourceDigest(b, sourceDigest(b));
  await rm(join(a, 'dist', 'bin.js'));
  t.regex(nodeScript(file).reason!, /dist\/bin\.js does not exist/);
});

test('INSITU_RUN_SOURCES=1 runs the sources even when the build matches; a JavaScript file runs as it is', async (t) => {
  const { a } = await workspace(t);
  const file = join(a, 'src', 'bin.ts');
  process.env.INSITU_RUN_SOURCES = '1';
  try {
    const s = nodeScript(file);
    t.false(s.built);
    t.true(runsTsx(s.args, file));
  } finally {
    delete process.env.INSITU_RUN_SOURCES;
  }
  t.deepEqual(nodeScript(join(a, 'dist', 'bin.js')).args, [join(a, 'dist', 'bin.js')]);
});
