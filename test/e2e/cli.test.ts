// The insitu CLI, run in process against a real in-process testnet.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { seeded } from '../src/random.ts';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { computeChecksums } from '@insitu/protocol';
import { createClient } from '@insitu/sdk';
import { run } from '@insitu/cli';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { capture } from '../src/capture.ts';

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

/** An object's text as `c` reads it, or the error code it gets. */
async function readAs(c: { objects: { get(b: string, n: string): AsyncIterable<Uint8Array> } }, bucket: string, name: string): Promise<string> {
  try {
    const parts: Uint8Array[] = [];
    for await (const chunk of c.objects.get(bucket, name)) parts.push(chunk);
    return Buffer.concat(parts).toString();
  } catch (e) {
    return (e as { code: string }).code;
  }
}

async function cliWith(stdin: Readable | undefined, ...args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await run([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keyFile], { stdout, stderr, env: {}, cwd: net.dir, ...(stdin ? { stdin } : {}) });
  return { code, out: stdout.text(), err: stderr.text(), bytes: stdout.bytes() };
}
const cli = (...args: string[]) => cliWith(undefined, ...args);

test.serial('put, ls, head, get and rm through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-bucket');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /created bucket cli-bucket \(private/);
  // Four segments: `insitu get` reads each into memory it reused, written out before the next.
  for (const size of [1, 3 * 16 * 1024 * 1024 + 1]) {
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
  const data = await readFile(join(net.dir, 'in-50331649'));
  r = await cli('get', 'cli-bucket/file-50331649');
  t.is(r.code, 0, r.err);
  t.true(r.bytes.equals(data), 'the whole object to stdout');
  r = await cli('get', 'cli-bucket/file-50331649', '--range', '16777210-16777216');
  t.is(r.code, 0, r.err);
  t.true(r.bytes.equals(data.subarray(16777210, 16777217)));
  r = await cli('ls', 'cli-bucket', '--json');
  t.deepEqual((JSON.parse(r.out) as { objectName: string }[]).map((o) => o.objectName).sort(), ['file-1', 'file-50331649']);
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
  r = await cli('get', 'cli-bucket/file-50331649', '--range', '9-3');
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
  t.regex(r.err, /unknown command 'no-such-command'/);
  r = await cli('put', 'only-a-file');
  t.is(r.code, 2);
  t.regex(r.err, /missing required argument 'target'/);
  r = await cli('policy', 'grant', 'cli-bucket', net.accounts[1]!.address);
  t.is(r.code, 2);
  t.regex(r.err, /required option '--actions <list>' not specified/);
  r = await cli('get', 'cli-bucket/file-1', '--range', 'abc');
  t.is(r.code, 1);
  t.regex(r.err, /ERR_INVALID_RANGE: --range "abc"/);
  r = await cli('devnet', 'up', '--nodes', '3', '--dir', join(net.dir, 'never'));
  t.is(r.code, 1);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: --nodes must be an integer of at least 7/);
  r = await cli('devnet', 'node', 'stop', 'two', '--dir', join(net.dir, 'never'));
  t.regex(r.err, /ERR_INVALID_ARGUMENT: node number "two"/);
  r = await cli('devnet', 'status', '--dir', join(net.dir, 'never'));
  t.regex(r.err, /ERR_CONFIG: no devnet in/);
  r = await cli('--help');
  t.is(r.code, 0);
  t.regex(r.out, /Usage: insitu/);
  r = await cli('put', '--help');
  t.is(r.code, 0);
  t.regex(r.out, /--replace-stale/);
  const stdout = capture();
  const stderr = capture();
  t.is(await run(['account'], { stdout, stderr, env: {}, cwd: net.dir }), 1);
  t.regex(stderr.text(), /ERR_CONFIG: no network/);
});

test.serial('empty and ~40 MiB files, stdin, relative paths, --json results and bucket ls/rm through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-sizes', '--public-read', '--json');
  t.is(r.code, 0, r.err);
  t.is((JSON.parse(r.out) as { visibility: string }).visibility, 'public-read');
  const { rand, bytes } = seeded((l) => t.log(l));
  for (const size of [0, 40 * 1024 * 1024 + rand(1024 * 1024)]) {
    const data = bytes(size);
    await writeFile(join(net.dir, `sized-${size}`), data);
    r = await cli('put', `sized-${size}`, `cli-sizes/sized-${size}`, '--json');
    t.is(r.code, 0, r.err);
    const info = JSON.parse(r.out) as { payloadSize: string; status: string; checksums: string[] };
    t.is(info.payloadSize, String(size));
    t.is(info.status, 'sealed');
    t.deepEqual(info.checksums, (await computeChecksums(data)).checksums.map((c) => Buffer.from(c).toString('hex')));
    r = await cli('get', `cli-sizes/sized-${size}`, `back-${size}`, '--json');
    t.is(r.code, 0, r.err);
    t.is((JSON.parse(r.out) as { bytes: number }).bytes, size);
    t.true((await readFile(join(net.dir, `back-${size}`))).equals(data), `size ${size}`);
  }
  r = await cli('get', 'cli-sizes/sized-0');
  t.is(r.code, 0, r.err);
  t.is(r.bytes.length, 0);
  const piped = randomBytes(300_000);
  r = await cliWith(Readable.from([piped.subarray(0, 100_000), piped.subarray(100_000)]), 'put', '-', 'cli-sizes/from-stdin');
  t.is(r.code, 0, r.err);
  r = await cli('get', 'cli-sizes/from-stdin');
  t.true(r.bytes.equals(piped));
  r = await cli('bucket', 'ls', '--json');
  t.true((JSON.parse(r.out) as { name: string }[]).some((b) => b.name === 'cli-sizes'));
  r = await cli('bucket', 'create', 'cli-empty');
  t.is(r.code, 0, r.err);
  r = await cli('bucket', 'rm', 'cli-empty');
  t.is(r.code, 0, r.err);
  r = await cli('bucket', 'ls');
  t.notRegex(r.out, /cli-empty/);
});

test.serial('a stale unfinished upload is reported, cancelled, or replaced through the CLI; a failed get leaves no file', async (t) => {
  let r = await cli('bucket', 'create', 'cli-stale');
  t.is(r.code, 0, r.err);
  const alice = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
  const ghost = randomBytes(500);
  const { checksums } = await computeChecksums(ghost);
  await alice.chain.createObject({ bucket: 'cli-stale', name: 'obj', payloadSize: 500n, checksums });
  const data = randomBytes(800);
  await writeFile(join(net.dir, 'stale-in'), data);
  r = await cli('put', 'stale-in', 'cli-stale/obj');
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_OBJECT_EXISTS: .*insitu cancel cli-stale\/obj/m);
  r = await cli('ls', 'cli-stale');
  t.regex(r.out, /^NAME +SIZE +STATUS +CREATED\nobj +500 B +created +\d{4}-\d\d-\d\dT/m, 'an aligned table with human sizes and dates');
  r = await cli('cancel', 'cli-stale/obj');
  t.is(r.code, 0, r.err);
  r = await cli('ls', 'cli-stale');
  t.regex(r.out, /no objects/);
  await alice.chain.createObject({ bucket: 'cli-stale', name: 'obj', payloadSize: 500n, checksums });
  r = await cli('put', 'stale-in', 'cli-stale/obj', '--replace-stale');
  t.is(r.code, 0, r.err);
  r = await cli('get', 'cli-stale/obj');
  t.true(r.bytes.equals(data));
  r = await cli('get', 'cli-stale/missing', 'never-written');
  t.is(r.code, 1);
  await t.throwsAsync(access(join(net.dir, 'never-written')));
  await writeFile(join(net.dir, 'keep-me'), 'precious');
  r = await cli('get', 'cli-stale/missing', 'keep-me');
  t.is(r.code, 1);
  t.is(await readFile(join(net.dir, 'keep-me'), 'utf8'), 'precious', 'a failed get leaves an existing file alone');
  t.deepEqual((await readdir(net.dir)).filter((f) => f.includes('.partial-')), []);
  r = await cli('get', 'cli-stale/obj', join('no-such-dir', 'x'));
  t.regex(r.err, /ERR_INVALID_ARGUMENT: cannot write/);
  r = await cli('policy', 'grant', 'cli-stale/obj', net.accounts[1]!.address, '--actions', 'get');
  t.is(r.code, 0, r.err);
  r = await cli('policy', 'revoke', 'cli-stale/obj', net.accounts[1]!.address);
  t.is(r.code, 0, r.err);
  r = await cli('policy', 'ls', 'cli-stale/obj', '--json');
  t.deepEqual(JSON.parse(r.out), []);
});

test.serial('progress bars appear on a terminal only', async (t) => {
  const data = randomBytes(3 * 1024 * 1024);
  await writeFile(join(net.dir, 'bar-in'), data);
  let r = await cli('bucket', 'create', 'cli-bar');
  t.is(r.code, 0, r.err);
  r = await cli('put', 'bar-in', 'cli-bar/quiet');
  t.is(r.code, 0, r.err);
  t.is(r.err, '', 'no bar when stderr is not a terminal');
  const tty = async (...args: string[]) => {
    const stdout = capture();
    const stderr = Object.assign(capture(), { isTTY: true });
    const code = await run([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', keyFile], { stdout, stderr, env: {}, cwd: net.dir });
    return { code, err: stderr.text() };
  };
  let rt = await tty('put', 'bar-in', 'cli-bar/loud');
  t.is(rt.code, 0, rt.err);
  t.regex(rt.err, /put cli-bar\/loud \[#{30}\] 100\.0% 3\.0 MiB\/3\.0 MiB [\d.]+ (B|KiB|MiB|GiB)\/s 0s left\x1b\[K\n$/, 'the bar shows speed and time left');
  rt = await tty('get', 'cli-bar/loud', 'bar-out');
  t.is(rt.code, 0, rt.err);
  t.regex(rt.err, /get cli-bar\/loud \[#{30}\] 100\.0%/);
  t.true((await readFile(join(net.dir, 'bar-out'))).equals(data));
});

test.serial('job run, status, output and ls through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-jobs');
  t.is(r.code, 0, r.err);
  await writeFile(join(net.dir, 'lines.txt'), 'one two\nthree\nfour five six\n');
  r = await cli('put', 'lines.txt', 'cli-jobs/lines.txt');
  t.is(r.code, 0, r.err);
  const wasm = new URL('../../wasm-jobs/build/wc.wasm', import.meta.url).pathname;
  r = await cli('job', 'run', wasm, 'cli-jobs/lines.txt');
  t.is(r.code, 0, r.err);
  t.is(r.out, '3 6 28\n');
  const id = /job (\d+) on provider/.exec(r.err)?.[1];
  t.truthy(id, r.err);
  r = await cli('job', 'status', id!, '--json');
  t.is(r.code, 0, r.err);
  t.is((JSON.parse(r.out) as { status: string }).status, 'settled');
  r = await cli('job', 'output', id!, 'wc-out.txt');
  t.is(r.code, 0, r.err);
  t.is(await readFile(join(net.dir, 'wc-out.txt'), 'utf8'), '3 6 28\n');
  r = await cli('job', 'ls', '--json');
  t.true((JSON.parse(r.out) as { id: string }[]).some((j) => j.id === id));
  r = await cli('job', 'ls');
  t.regex(r.out, /^\s*ID\s+STATUS\s+EXIT\s+INPUT\s+PROVIDER\s+FEE\s+SUBMITTED$/m, 'jobs as a table with headers');
  t.regex(r.out, new RegExp(`^\\s*${id}  settled\\s+succeeded\\s+cli-jobs/lines\\.txt\\s+\\d+\\s+[0-9.]+ BNB\\s+\\d{4}-\\d\\d-\\d\\dT`, 'm'), r.out);
  r = await cli('job', 'status', 'abc');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: job id must be a whole number/);
  r = await cli('job', 'run', wasm, 'cli-jobs/lines.txt', '--parallel');
  t.is(r.code, 0, r.err);
  t.is(r.out, '3 6 28\n', 'the parallel run agrees with the single one');
  t.is(r.err.match(/^map \d+ of data piece \d on provider \d+: succeeded/gm)?.length, 4, r.err);
  t.regex(r.err, /^reduce job \d+ on provider \d+: succeeded/m);
  const grep = new URL('../../wasm-jobs/build/grep.wasm', import.meta.url).pathname;
  r = await cli('job', 'run', grep, 'cli-jobs/lines.txt', 'f', '--env', 'LANG=C');
  t.is(r.code, 0, r.err);
  t.is(r.out, 'four five six\n');
  r = await cli('job', 'run', grep, 'cli-jobs/lines.txt', '--env', 'novalue');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: --env takes NAME=value/);
});

test.serial('bucket update and object update change visibility through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-vis');
  t.is(r.code, 0, r.err);
  await writeFile(join(net.dir, 'vis.txt'), 'visible\n');
  r = await cli('put', 'vis.txt', 'cli-vis/vis.txt');
  t.is(r.code, 0, r.err);
  r = await cli('bucket', 'update', 'cli-vis', '--visibility', 'public-read');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /bucket cli-vis is now public-read/);
  r = await cli('object', 'update', 'cli-vis/vis.txt', '--visibility', 'inherit');
  t.is(r.code, 0, r.err);
  r = await cli('head', 'cli-vis/vis.txt', '--json');
  t.is((JSON.parse(r.out) as { visibility: string }).visibility, 'inherit');
  r = await cli('object', 'update', 'cli-vis/vis.txt', '--visibility', 'everyone');
  t.not(r.code, 0);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: visibility must be one of private, public-read, inherit/);
});

test.serial('policy put with readable statements: names with wildcards, deny wins, statements that end; the nodes enforce them', async (t) => {
  const bob = await net.client(1);
  let r = await cli('bucket', 'create', 'cli-pol');
  t.is(r.code, 0, r.err);
  for (const name of ['pub/a.txt', 'pub/secret.txt', 'priv/b.txt', 'old/c.txt']) {
    await writeFile(join(net.dir, 'pol.txt'), `${name}\n`);
    r = await cli('put', 'pol.txt', `cli-pol/${name}`);
    t.is(r.code, 0, r.err);
  }
  r = await cli('policy', 'put', 'cli-pol', bob.address, 'allow get,list on pub/*', 'deny get on pub/secret*', 'allow get on old/* until 2020-01-01');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /allow get,list on pub\/\*\n  deny get on pub\/secret\*\n  allow get on old\/\* until 2020-01-01T00:00:00.000Z/);
  const read = (name: string) => readAs(bob, 'cli-pol', name);
  t.is(await read('pub/a.txt'), 'pub/a.txt\n', 'allowed by the wildcard');
  t.is(await read('pub/secret.txt'), 'ERR_PERMISSION_DENIED', 'deny wins over allow');
  t.is(await read('priv/b.txt'), 'ERR_PERMISSION_DENIED', 'outside the names');
  t.is(await read('old/c.txt'), 'ERR_PERMISSION_DENIED', 'the statement has ended');
  r = await cli('policy', 'ls', 'cli-pol');
  t.regex(r.out, new RegExp(`${bob.address}\\n  allow get,list on pub/\\*`));
  r = await cli('policy', 'put', 'cli-pol', bob.address, 'allow fly');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: unknown action "fly"/);
  r = await cli('policy', 'put', 'cli-pol', bob.address, 'allow get until someday');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: "someday" is not a date/);
  r = await cli('policy', 'rm', 'cli-pol', bob.address);
  t.is(r.code, 0, r.err);
  t.is(await read('pub/a.txt'), 'ERR_PERMISSION_DENIED', 'removed');
});

test.serial('groups through the CLI: create, add with expiry, policies naming a group, leave, delete', async (t) => {
  const bob = await net.client(1);
  let r = await cli('group', 'create', 'cli-readers', '--extra', 'docs team', '--json');
  t.is(r.code, 0, r.err);
  const groupId = String((JSON.parse(r.out) as { groupId: string }).groupId);
  r = await cli('group', 'add', 'cli-readers', bob.address, '--until', '2099-01-01');
  t.is(r.code, 0, r.err);
  r = await cli('group', 'members', 'cli-readers');
  t.regex(r.out, new RegExp(`^MEMBER +UNTIL\\n${bob.address}  2099-01-01T00:00:00Z$`, 'm'));
  r = await cli('group', 'ls');
  t.regex(r.out, new RegExp(`^ID +NAME +MEMBERS +NOTE\\n${groupId} +cli-readers +1 +docs team$`, 'm'));
  r = await cli('bucket', 'create', 'cli-grp');
  t.is(r.code, 0, r.err);
  await writeFile(join(net.dir, 'grp.txt'), 'for the group\n');
  r = await cli('put', 'grp.txt', 'cli-grp/shared/x.txt');
  t.is(r.code, 0, r.err);
  r = await cli('policy', 'put', 'cli-grp', `group:${groupId}`, 'allow get on shared/*');
  t.is(r.code, 0, r.err);
  const read = () => readAs(bob, 'cli-grp', 'shared/x.txt');
  t.is(await read(), 'for the group\n');
  r = await cli('policy', 'ls', 'cli-grp');
  t.regex(r.out, new RegExp(`group ${groupId}\\n  allow get on shared/\\*`));
  await bob.groups.leave(net.accounts[0]!.address, 'cli-readers');
  t.is(await read(), 'ERR_PERMISSION_DENIED');
  r = await cli('group', 'rm', 'cli-readers');
  t.is(r.code, 0, r.err);
  r = await cli('policy', 'put', 'cli-grp', 'group:abc', 'allow get');
  t.regex(r.err, /ERR_INVALID_ARGUMENT: "group:abc" is neither an account address nor group:<id>/);
});

test.serial('insitu account shows the flow rate and when the balance runs out; payment accounts and read quota through the CLI', async (t) => {
  let r = await cli('bucket', 'create', 'cli-pay', '--read-quota', '2MiB');
  t.is(r.code, 0, r.err);
  r = await cli('account');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /flow rate\s+-[\d.]+ BNB per 30 days/);
  t.regex(r.out, /runs out\s+(\d{4}-\d\d-\d\dT|in about \d+ years)/);
  r = await cli('bucket', 'quota', 'cli-pay', '--json');
  t.is(r.code, 0, r.err);
  t.is(JSON.parse(r.out).readQuotaSize, String(2 * 1024 * 1024));
  r = await cli('bucket', 'quota', 'cli-pay', '--buy', '5MiB');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /bought\s+5(\.0)? MiB/);
  r = await cli('bucket', 'quota', 'cli-pay', '--buy', 'lots');
  t.not(r.code, 0);
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);

  r = await cli('payment-account', 'create', '--json');
  t.is(r.code, 0, r.err);
  const pa = JSON.parse(r.out).address as string;
  r = await cli('bucket', 'update', 'cli-pay', '--payment-account', pa);
  t.not(r.code, 0, 'an empty payment account cannot carry the bucket');
  t.regex(r.err, /ERR_INSUFFICIENT_BALANCE/);
  r = await cli('payment-account', 'deposit', '0.01', '--to', pa);
  t.is(r.code, 0, r.err);
  r = await cli('bucket', 'update', 'cli-pay', '--payment-account', pa);
  t.is(r.code, 0, r.err);
  r = await cli('payment-account', 'ls');
  t.regex(r.out, new RegExp(`^ADDRESS +BALANCE +PER 30 DAYS\\n${pa} +0\\.0\\d+ BNB +-[\\d.]+ BNB$`, 'm'));
  r = await cli('payment-account', 'ls', '--base-units');
  t.regex(r.out, new RegExp(`${pa} +\\d+ wei +-\\d+ wei$`, 'm'), '--base-units prints base units');
  r = await cli('account', pa);
  t.regex(r.out, /payment account of 0x/);
  r = await cli('payment-account', 'withdraw', '1', '--from', pa);
  t.not(r.code, 0);
  t.regex(r.err, /ERR_INSUFFICIENT_BALANCE/);
  r = await cli('payment-account', 'disable-refund', pa);
  t.is(r.code, 0, r.err);
  r = await cli('payment-account', 'withdraw', '1wei', '--from', pa);
  t.regex(r.err, /ERR_PERMISSION_DENIED/);
  r = await cli('devnet', 'advance', '10d');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /chain time is now/);
});
