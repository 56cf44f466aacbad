// A developer's own job with the CLI alone, against a real in-process testnet: a module no node
// could run is refused before anything is escrowed; the modules the SDK stores stay out of the
// owner's listings (`client.objects.list`, `insitu ls`) and go with the bucket
// (`client.buckets.delete`, `insitu bucket rm`); `insitu job init` → `npm run build` → `insitu job run`.

import test from 'ava';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFile, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@insitu/sdk';
import { run } from '@insitu/cli';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { waitFor } from '../src/wait.ts';
import { capture } from '../src/capture.ts';

let net: Testnet;
let keyFile: string;
const wcPath = fileURLToPath(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 2 });
  keyFile = join(net.dir, 'dev.key');
  await writeFile(keyFile, `${net.accounts[0]!.privateKey}\n`);
});
test.after.always(async () => {
  await net?.stop();
});

async function cli(...args: string[]) {
  const stdout = capture();
  const stderr = capture();
  // The network and key come first: arguments after `--` all go to the job.
  const code = await run(['--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key', keyFile, ...args], { stdout, stderr, env: {}, cwd: net.dir });
  return { code, out: stdout.text(), err: stderr.text() };
}

type Wabt = { parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };
/** A WebAssembly text module assembled with wabt. */
async function wat(text: string): Promise<Uint8Array> {
  const wabt = await (createRequire(import.meta.url)('wabt') as () => Promise<Wabt>)();
  const m = wabt.parseWat('job.wat', text);
  const { buffer } = m.toBinary({});
  m.destroy();
  return buffer;
}

const client = () => createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });

test.serial('a module no node could run is refused before anything is escrowed, with the code a node would give', async (t) => {
  const c = await client();
  let r = await cli('bucket', 'create', 'checked');
  t.is(r.code, 0, r.err);
  await writeFile(join(net.dir, 'in.txt'), 'a b\nc\n');
  r = await cli('put', 'in.txt', 'checked/in.txt');
  t.is(r.code, 0, r.err);
  const before = (await c.account()).balance;
  const jobsBefore = (await c.jobs.list()).length;
  const bad: [string, Uint8Array, string][] = [
    ['not wasm at all', new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'ERR_JOB_INVALID_MODULE'],
    ['truncated wasm', (await readFile(wcPath)).subarray(0, 200), 'ERR_JOB_INVALID_MODULE'],
    ['a host import outside WASI', await wat('(module (import "env" "read_secret" (func)) (memory (export "memory") 1) (func (export "_start") call 0))'), 'ERR_JOB_FORBIDDEN_IMPORT'],
    ['no _start', await wat('(module (memory (export "memory") 1) (func (export "main")))'), 'ERR_JOB_NO_ENTRYPOINT'],
  ];
  for (const [what, bytes, code] of bad) {
    const file = join(net.dir, `bad-${code}-${bytes.length}.wasm`);
    await writeFile(file, bytes);
    r = await cli('job', 'run', file, 'checked/in.txt');
    t.is(r.code, 1, what);
    t.regex(r.err, new RegExp(`^error ${code}: .*nothing was escrowed`, 'm'), what);
    r = await cli('job', 'run', file, 'checked/in.txt', '--json');
    t.is((JSON.parse(r.err) as { error: { code: string } }).error.code, code, `${what}, under --json`);
  }
  // Memories the module declares at start beyond the job's --memory: the node would refuse it to run.
  const big = join(net.dir, 'big-memory.wasm');
  await writeFile(big, await wat('(module (memory (export "memory") 100) (func (export "_start")))'));
  r = await cli('job', 'run', big, 'checked/in.txt', '--memory', '4');
  t.regex(r.err, /^error ERR_JOB_MEMORY_LIMIT: .*nothing was escrowed/m);
  // A bad reduce module is refused too, before the maps are escrowed.
  r = await cli('job', 'run', wcPath, 'checked/', '--reduce', join(net.dir, `bad-ERR_JOB_NO_ENTRYPOINT-${bad[3]![1].length}.wasm`));
  t.regex(r.err, /^error ERR_JOB_NO_ENTRYPOINT: /m);
  t.is((await c.account()).balance, before, 'no fee, no escrow: not one transaction was sent');
  t.is((await c.jobs.list()).length, jobsBefore, 'no job was submitted');
  t.deepEqual((await c.objects.list('checked', { includeJobModules: true })).map((o) => o.objectName), ['in.txt'], 'no module was stored');
});

test.serial('stored job modules stay out of ls and go with bucket rm, unless a job elsewhere may still be re-run from one', async (t) => {
  const c = await client();
  for (const b of ['data', 'tools']) t.is((await cli('bucket', 'create', b)).code, 0);
  await writeFile(join(net.dir, 'lines.txt'), 'one two\nthree\n');
  let r = await cli('put', 'lines.txt', 'data/lines.txt');
  t.is(r.code, 0, r.err);
  r = await cli('job', 'run', wcPath, 'data/lines.txt', '--quiet');
  t.is(r.code, 0, r.err);
  t.is(r.out, '2 3 14\n');
  r = await cli('job', 'run', wcPath, 'data/lines.txt', '--module-bucket', 'tools', '--quiet');
  t.is(r.code, 0, r.err);

  // The SDK's listing leaves the module out unless asked; a page is not cut short by it (the
  // module's name sorts before lines.txt).
  const module = `.insitu/modules/${createHash('sha256').update(await readFile(wcPath)).digest('hex')}.wasm`;
  const names = async (o: Parameters<typeof c.objects.list>[1] = {}) => (await c.objects.list('data', o)).map((x) => x.objectName);
  t.deepEqual(await names(), ['lines.txt']);
  t.deepEqual(await names({ limit: 1 }), ['lines.txt']);
  t.deepEqual(await names({ includeJobModules: true }), [module, 'lines.txt']);
  t.deepEqual(await names({ includeJobModules: true, limit: 1 }), [module]);

  r = await cli('ls', 'data');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^NAME +SIZE +STATUS +CREATED\nlines\.txt +/);
  t.notRegex(r.out, /\.insitu/, 'the module is not in the owner\'s listing');
  t.regex(r.err, /1 stored job module not shown; --all shows them/);
  r = await cli('ls', 'data', '--json');
  t.deepEqual((JSON.parse(r.out) as { objectName: string }[]).map((o) => o.objectName), ['lines.txt']);
  r = await cli('ls', 'data', '--all', '--json');
  t.is((JSON.parse(r.out) as { objectName: string }[]).filter((o) => /^\.insitu\/modules\/[0-9a-f]{64}\.wasm$/.test(o.objectName)).length, 1, '--all shows it');
  r = await cli('ls', 'tools');
  t.regex(r.out, /^\(no objects\)/);

  r = await cli('bucket', 'rm', 'data');
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_BUCKET_NOT_EMPTY: /m, 'the owner\'s own objects still block it');
  t.deepEqual(await names({ includeJobModules: true }), [module, 'lines.txt'], 'and the module stays while they are there');
  r = await cli('rm', 'data/lines.txt');
  t.is(r.code, 0, r.err);
  r = await cli('bucket', 'rm', 'data');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /removed bucket data \(and 1 stored job module\)/);
  r = await cli('bucket', 'ls', '--json');
  t.false((JSON.parse(r.out) as { name: string }[]).some((b) => b.name === 'data'));

  // The job over data/lines.txt with its module in tools is within its dispute window: a verifier
  // would re-run it from that module. (Its input is gone now, but the check does not depend on a
  // race with the input's owner: another job's input could be anyone's.)
  const jobs = await c.jobs.list();
  const held = jobs.find((j) => j.moduleBucket === 'tools')!;
  t.true(held.releaseAt > 0);
  r = await cli('bucket', 'rm', 'tools');
  t.is(r.code, 1);
  t.regex(r.err, new RegExp(`^error ERR_JOB_RUNNING: job ${held.id} .*may still be re-run from its module in tools`, 'm'));
  await t.throwsAsync(c.buckets.delete('tools'), { code: 'ERR_JOB_RUNNING' }, 'the SDK refuses it alike');
  t.deepEqual((await c.objects.list('tools', { includeJobModules: true })).map((x) => x.objectName), [module], 'the module is kept');
  await c.chain.advanceTime(3700);
  await waitFor('the dispute window to close', async () => {
    await c.chain.transfer(net.accounts[0]!.address, 1n);
    return (await c.jobs.get(held.id)).releaseAt === 0;
  });
  // Another account's delete takes nothing of the owner's with it: the chain refuses, the module stays.
  const other = await net.client(1);
  await t.throwsAsync(other.buckets.delete('tools'), { code: 'ERR_PERMISSION_DENIED' });
  t.deepEqual((await c.objects.list('tools', { includeJobModules: true })).map((x) => x.objectName), [module]);
  const removed = await c.buckets.delete('tools');
  t.deepEqual(removed.removedJobModules, [module]);
  await t.throwsAsync(c.buckets.head('tools'), { code: 'ERR_BUCKET_NOT_FOUND' });
});

test.serial('job init scaffolds a job that builds with one command and runs with job run', async (t) => {
  let r = await cli('job', 'init', 'my-job');
  t.is(r.code, 0, r.err);
  const dir = join(net.dir, 'my-job');
  t.deepEqual((await readdir(dir)).sort(), ['.gitignore', 'README.md', 'assembly', 'build.mjs', 'input.txt', 'package.json']);
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name: string; scripts: { build: string }; devDependencies: Record<string, string> };
  t.is(pkg.name, 'my-job');
  t.truthy(pkg.devDependencies.assemblyscript, 'it depends on AssemblyScript');
  r = await cli('job', 'init', 'my-job');
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_INVALID_ARGUMENT: my-job is not empty/m, 'nothing of the user\'s is overwritten');

  // `npm install` would fetch the packages the scaffold names; the repository has them installed.
  await symlink(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(dir, 'node_modules'), 'dir');
  await promisify(execFile)('npm', ['run', 'build'], { cwd: dir, timeout: 600_000 });
  r = await cli('bucket', 'create', 'words');
  t.is(r.code, 0, r.err);
  r = await cli('put', join(dir, 'input.txt'), 'words/input.txt');
  t.is(r.code, 0, r.err);
  r = await cli('job', 'run', join(dir, 'build', 'job.wasm'), 'words/input.txt', '--quiet', '--', '3');
  t.is(r.code, 0, r.err);
  t.is(r.out, 'the 3\ndog 2\nfox 2\n');
  // Each data piece mapped and the counts added up give the single run's output.
  r = await cli('job', 'run', join(dir, 'build', 'job.wasm'), 'words/input.txt', '--parallel', '--quiet');
  t.is(r.code, 0, r.err);
  t.is(r.out, 'the 3\ndog 2\nfox 2\na 1\nbrown 1\njumps 1\nlazy 1\nover 1\nquick 1\nruns 1\nsleeps 1\n');
});
