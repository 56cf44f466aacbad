// The packages as others get them. The build runs, `npm pack` packs the shared core, the SDK, the
// CLI and what the CLI runs, and the tarballs go into an empty project (third-party dependencies
// from the npm cache; no package of this project comes from a registry). There: a plain Node ESM
// script stores, reads back and runs a job against a devnet, a CommonJS script require()s the SDK,
// tsc checks a TypeScript file written against the SDK's types, and the installed `insitu` answers
// --version and --help without tsx. An SDK-only install pulls in no WebAssembly toolchain and no
// chain, node or executor code.

import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestnet, type Testnet } from '@insitu/test';

const exec = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const PACKED = ['protocol', 'sdk', 'executor', 'chain', 'storage-node', 'cli', 'wasm-jobs'];
/** What an SDK user must never get: the WebAssembly toolchain, and the chain, node and executor. */
const NOT_FOR_SDK_USERS = ['@bytecodealliance/jco', 'assemblyscript', 'wabt', 'binaryen', '@insitu/chain', '@insitu/storage-node', '@insitu/executor', '@insitu/cli', 'tsx', 'typescript'];

let net: Testnet;
let work: string;
let project: string;
let home: string;
const timings: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - started) / 1000;
  }
}

async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'insitu-packages-'));
  project = join(work, 'project');
  home = join(work, 'home');
  await Promise.all([mkdir(project), mkdir(home)]);
  const devnet = timed('devnet', async () => {
    net = await createTestnet({ nodes: 7, accounts: 1 });
    const account = net.accounts[0]!;
    // What `insitu devnet up` leaves behind for SDK users: devnet.json naming the chain and an account.
    await writeFile(join(home, 'devnet.json'), JSON.stringify({
      chainId: net.chainId, evmChainId: '9000', rpcUrl: net.rpcUrl, control: 'http://127.0.0.1:9', dir: home, nodes: [],
      account: { address: account.address, privateKey: account.privateKey, keyFile: join(home, 'account.key') },
    }));
  });
  const packages = (async () => {
    await timed('build', () => run(process.execPath, ['scripts/build.mjs'], repo));
    await timed('pack', () => run('npm', ['pack', ...PACKED.flatMap((p) => ['-w', p]), '--pack-destination', work, '--silent'], repo));
    const tarballs = (await readdir(work)).filter((f) => f.endsWith('.tgz')).map((f) => join(work, f));
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    await timed('install', () => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], project));
  })();
  await Promise.all([devnet, packages]);
});

test.after.always(async () => {
  console.log(`packages test timings (s): ${JSON.stringify(timings)}`);
  await net?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test.serial('every package of this project comes from its tarball, none from a registry', async (t) => {
  const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; version?: string }> };
  const ours = Object.entries(lock.packages).filter(([path]) => path.replace(/^.*node_modules\//, '').startsWith('@insitu/'));
  t.deepEqual(ours.map(([path]) => path.replace(/^.*node_modules\//, '')).sort(), PACKED.map((p) => `@insitu/${p}`).sort());
  for (const [path, entry] of ours) t.true(entry.resolved?.startsWith('file:'), `${path} resolved from ${entry.resolved}`);
  // Installed packages hold built JavaScript and declarations, not the TypeScript sources.
  t.false(existsSync(join(project, 'node_modules/@insitu/sdk/src')));
  t.true(existsSync(join(project, 'node_modules/@insitu/sdk/dist/index.d.ts')));
  t.true(existsSync(join(project, 'node_modules/@insitu/executor/dist/worker/worker.mjs')));
});

test.serial('an SDK-only install pulls in no WebAssembly toolchain and no chain, node or executor code', async (t) => {
  // The dependency closure of @insitu/sdk in the consumer's lockfile is exactly what
  // `npm install @insitu/sdk` would install.
  const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }> };
  const closure = new Set<string>();
  const visit = (at: string, name: string): void => {
    // Node's lookup: the nearest node_modules/<name> walking up from the dependent's folder.
    let dir = at;
    for (;;) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[path]) {
        if (closure.has(path)) return;
        closure.add(path);
        const entry = lock.packages[path]!;
        for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) visit(path, dep);
        return;
      }
      if (!dir) return;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up < 0 ? '' : dir.slice(0, up);
    }
  };
  visit('', '@insitu/sdk');
  const names = new Set([...closure].map((p) => p.replace(/^.*node_modules\//, '')));
  t.true(names.has('@insitu/protocol') && names.has('undici'), 'the closure was walked');
  for (const banned of NOT_FOR_SDK_USERS) t.false(names.has(banned), `${banned} is not installed with the SDK`);
  t.log(`an SDK-only install: ${names.size} packages`);
});

test.serial('a plain Node ESM script creates a bucket, uploads, reads back and runs a job against a devnet', async (t) => {
  await writeFile(join(project, 'store.mjs'), `
import { readFile } from 'node:fs/promises';
import { createClient, devnetClientOptions } from '@insitu/sdk';

const client = await createClient(await devnetClientOptions());
await client.buckets.create('packaged');
const data = Buffer.from('one two three\\nfour five\\n');
await client.objects.put('packaged', 'words.txt', data);
const parts = [];
for await (const chunk of client.objects.get('packaged', 'words.txt')) parts.push(chunk);
if (!Buffer.concat(parts).equals(data)) throw new Error('the object read back differs');
const run = await client.jobs.submit({ module: await readFile(process.env.JOB_MODULE), input: 'packaged/words.txt', maxFee: 10n ** 15n });
const output = Buffer.from(await client.jobs.output(run.id)).toString();
console.log(JSON.stringify({ state: run.receipt.state, output, sdk: import.meta.resolve('@insitu/sdk') }));
process.exit(0);
`);
  const module = join(project, 'node_modules/@insitu/wasm-jobs/build/wc.wasm');
  const out = await timed('esm-script', () => run(process.execPath, ['store.mjs'], project, { INSITU_HOME: home, JOB_MODULE: module, NODE_OPTIONS: '' }));
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { state: string; output: string; sdk: string };
  t.is(result.state, 'succeeded');
  t.is(result.output, '2 5 24\n', 'wc over the uploaded object');
  t.true(result.sdk.endsWith('/node_modules/@insitu/sdk/dist/index.js'), result.sdk);
});

test.serial('CommonJS code require()s the built SDK (Node ≥ 20.19)', async (t) => {
  await writeFile(join(project, 'require.cjs'), `
const sdk = require('@insitu/sdk');
const chain = require('@insitu/sdk/chain');
const err = new sdk.InsituError('ERR_NOT_FOUND', 'x');
console.log(JSON.stringify({ createClient: typeof sdk.createClient, createChainReader: typeof chain.createChainReader, code: err.code, isError: sdk.isInsituError(err) }));
`);
  const out = await run(process.execPath, ['require.cjs'], project, { NODE_OPTIONS: '' });
  t.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { createClient: 'function', createChainReader: 'function', code: 'ERR_NOT_FOUND', isError: true });
});

test.serial('tsc type-checks a TypeScript file written against the SDK\'s declarations', async (t) => {
  await writeFile(join(project, 'check.ts'), `
import { createClient, isInsituError, type InsituClient, type ObjectInfo, type ErrorCode } from '@insitu/sdk';
import { createChainReader } from '@insitu/sdk/chain';

export async function store(client: InsituClient, bytes: Uint8Array): Promise<bigint> {
  const info: ObjectInfo = await client.objects.put('photos', 'cat.jpg', bytes);
  return info.payloadSize;
}
export async function connect(): Promise<InsituClient> {
  const reader = createChainReader({ rpcUrl: 'http://127.0.0.1:26657', chainId: 'insitu_9000-1' });
  void reader;
  return createClient({ chain: { rpcUrl: 'http://127.0.0.1:26657', chainId: 'insitu_9000-1' }, account: { privateKey: '0x01' } });
}
export function code(e: unknown): ErrorCode | undefined {
  return isInsituError(e) ? e.code : undefined;
}
export async function wrong(client: InsituClient): Promise<void> {
  // The declarations are real types, not any: a bucket name is a string.
  // @ts-expect-error
  await client.buckets.create(42);
}
`);
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(repo, 'node_modules/@types')],
    },
    files: ['check.ts'],
  }));
  const tsc = join(dirname(fileURLToPath(import.meta.resolve('typescript/package.json'))), 'bin', 'tsc');
  await timed('tsc', () => run(process.execPath, [tsc, '-p', 'tsconfig.json'], project));
  // The same file with a type error fails: the check above is not vacuous.
  await writeFile(join(project, 'check.ts'), `${await readFile(join(project, 'check.ts'), 'utf8')}\nexport const n: number = (null as unknown as ObjectInfo).bucketName;\n`);
  await t.throwsAsync(run(process.execPath, [tsc, '-p', 'tsconfig.json'], project), { message: /TS2322/ });
});

test.serial('the installed insitu answers --version and --help and reads an object, as built JavaScript without tsx', async (t) => {
  const bin = join(project, 'node_modules/.bin/insitu');
  const cli = JSON.parse(await readFile(join(repo, 'cli/package.json'), 'utf8')) as { version: string };
  const version = await timed('insitu --version', () => run(bin, ['--version'], project, { INSITU_HOME: home, NODE_OPTIONS: '' }));
  t.is(version.trim(), cli.version);
  const help = await run(bin, ['--help'], project, { INSITU_HOME: home, NODE_OPTIONS: '' });
  t.regex(help, /Usage: insitu/);
  for (const command of ['bucket', 'put', 'get', 'job', 'devnet', 'node', 'key']) t.regex(help, new RegExp(`\\n\\s+${command}\\b`), command);
  // And it does real work: the object the ESM script stored, read back through the installed CLI.
  t.is(await run(bin, ['get', 'packaged/words.txt'], project, { INSITU_HOME: home, NODE_OPTIONS: '' }), 'one two three\nfour five\n');
  t.false(existsSync(join(project, 'node_modules/tsx')), 'no tsx installed');
  t.false(existsSync(join(project, 'node_modules/@insitu/cli/src')), 'no TypeScript sources shipped');
});
