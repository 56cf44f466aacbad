// The insitu CLI, run in process against a real in-process testnet.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { run } from '@insitu/cli';
import { createTestnet, type Testnet } from '../src/testnet.ts';

let net: Testnet;
let keyFile: string;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 2 });
  keyFile = join(net.dir, 'alice.key');
  await writeFile(keyFile, `${net.accounts[0]!.privateKey}\n`);
});
test.after.always(async () => {
  await net?.stop();
});

function capture(): Writable & { text(): string; bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  }) as Writable & { text(): string; bytes(): Buffer };
  w.text = () => Buffer.concat(chunks).toString('utf8');
  w.bytes = () => Buffer.concat(chunks);
  return w;
}

async function cli(...args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await run([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keyFile], { stdout, stderr, env: {}, cwd: net.dir });
  return { code, out: stdout.text(), err: stderr.text(), bytes: stdout.bytes() };
}

test.serial('put, ls, head, get and rm through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-bucket');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /created bucket cli-bucket \(private/);
  for (const size of [1, 16 * 1024 * 1024 + 1]) {
    const data = randomBytes(size);
    const file = join(net.dir, `in-${size}`);
    await writeFile(file, data);
    r = await cli('put', file, `cli-bucket/file-${size}`);
    t.is(r.code, 0, r.err);
    t.regex(r.out, /stored cli-bucket\/file-\d+ .*sealed/);
    const outFile = join(net.dir, `out-${size}`);
    r = await cli('get', `cli-bucket/file-${size}`, outFile);
    t.is(r.code, 0, r.err);
    t.true((await readFile(outFile)).equals(data));
  }
  const data = await readFile(join(net.dir, 'in-16777217'));
  r = await cli('get', 'cli-bucket/file-16777217', '--range', '16777210-16777216');
  t.is(r.code, 0, r.err);
  t.true(r.bytes.equals(data.subarray(16777210, 16777217)));
  r = await cli('ls', 'cli-bucket', '--json');
  t.deepEqual((JSON.parse(r.out) as { objectName: string }[]).map((o) => o.objectName).sort(), ['file-1', 'file-16777217']);
  r = await cli('head', 'cli-bucket/file-1', '--json');
  const head = JSON.parse(r.out) as { status: string; payloadSize: string; checksums: string[]; placement: { role: string }[] };
  t.is(head.status, 'sealed');
  t.is(head.payloadSize, '1');
  t.is(head.checksums.length, 7);
  t.deepEqual(head.placement.map((p) => p.role), ['primary', 'data', 'data', 'data', 'data', 'parity', 'parity']);
  r = await cli('head', 'cli-bucket/file-1');
  t.regex(r.out, /piece 5 \(parity\)/);
  r = await cli('policy', 'grant', 'cli-bucket', net.accounts[1]!.address, '--actions', 'get,list');
  t.is(r.code, 0, r.err);
  r = await cli('policy', 'ls', 'cli-bucket', '--json');
  t.deepEqual((JSON.parse(r.out) as { statements: { actions: string[] }[] }[])[0]!.statements[0]!.actions, ['get-object', 'list-object']);
  r = await cli('rm', 'cli-bucket/file-1');
  t.is(r.code, 0, r.err);
  r = await cli('account', '--json');
  t.is((JSON.parse(r.out) as { address: string }).address, net.accounts[0]!.address);
});

test.serial('bad input gets a clear error with a stable code and a non-zero exit', async (t) => {
  let r = await cli('get', 'cli-bucket/none');
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_OBJECT_NOT_FOUND: /m);
  r = await cli('put', join(net.dir, 'missing-file'), 'cli-bucket/x');
  t.is(r.code, 1);
  t.regex(r.err, /error ERR_NOT_FOUND: cannot read/);
  r = await cli('get', 'cli-bucket/file-16777217', '--range', '9-3');
  t.regex(r.err, /ERR_INVALID_RANGE/);
  r = await cli('bucket', 'create', 'Bad_Name');
  t.regex(r.err, /ERR_INVALID_NAME/);
  r = await cli('put', join(net.dir, 'in-1'), 'cli-bucket');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: "cli-bucket" names no object/);
  r = await cli('policy', 'grant', 'cli-bucket', net.accounts[1]!.address, '--actions', 'fly');
  t.regex(r.err, /unknown action "fly"/);
  r = await cli('get', 'cli-bucket/none', '--json');
  t.is((JSON.parse(r.err) as { error: { code: string } }).error.code, 'ERR_OBJECT_NOT_FOUND');
  r = await cli('no-such-command');
  t.is(r.code, 2);
  const stdout = capture();
  const stderr = capture();
  t.is(await run(['account'], { stdout, stderr, env: {}, cwd: net.dir }), 1);
  t.regex(stderr.text(), /ERR_CONFIG: no network/);
});
