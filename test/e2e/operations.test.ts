// Operating a node: Prometheus metrics, readiness, status.

import test from 'ava';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { spDispatcher } from '@insitu/sdk/sp';
import { createTestnet } from '../src/testnet.ts';

const get = async (url: string) => {
  const res = await request(url, { dispatcher: spDispatcher });
  return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: await res.body.text() };
};

/** The value of one sample in Prometheus text, by name and labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

test('a node serves Prometheus metrics, readiness that follows the chain, and its status', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  t.teardown(() => net.stop());
  const alice = await net.client();
  await alice.buckets.create('ops');
  await alice.objects.put('ops', 'a.txt', Buffer.from('one two\nthree\n'));
  const job = await alice.jobs.submit({ module: await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)), input: 'ops/a.txt', maxFee: 10n ** 16n });
  const primary = (await alice.objects.head('ops', 'a.txt')).placement[0]!;

  const m = await get(`${primary.endpoint}/metrics`);
  t.is(m.status, 200);
  t.regex(m.type, /^text\/plain/);
  t.true((sample(m.text, 'insitu_http_requests_total', { route: 'put-object', method: 'PUT', status: '200' }) ?? 0) >= 2, 'the object and the module');
  t.is(sample(m.text, 'insitu_jobs_total', { mode: 'whole', outcome: 'succeeded' }), 1);
  t.is(sample(m.text, 'insitu_job_fuel_total'), Number(job.receipt.fuelUsed));
  t.true((sample(m.text, 'insitu_pieces_held') ?? 0) >= 2);
  t.true((sample(m.text, 'insitu_bytes_held') ?? 0) >= 14);
  t.true((sample(m.text, 'insitu_http_bytes_received_total', { route: 'put-object' }) ?? 0) >= 14);
  t.true((sample(m.text, 'insitu_http_request_duration_seconds_count', { route: 'put-object', method: 'PUT' }) ?? 0) >= 2);
  t.is(sample(m.text, 'insitu_repairs_total', { result: 'ok' }) ?? 0, 0);
  t.notRegex(m.text, /a\.txt|ops\//, 'no object names in labels');

  let r = await get(`${primary.endpoint}/readyz`);
  t.is(r.status, 200, r.text);
  t.like(JSON.parse(r.text), { ready: true });
  const status = JSON.parse((await get(`${primary.endpoint}/status`)).text);
  t.like(status, { spId: primary.spId });
  t.true(status.pieces >= 2);
  t.like(status.recovery, { repairsOk: 0, repairsFailed: 0 });

  // Without the chain the node is alive but not ready; with it back, ready again.
  await net.chain.stop();
  t.is((await get(`${primary.endpoint}/healthz`)).status, 200);
  r = await get(`${primary.endpoint}/readyz`);
  t.is(r.status, 503);
  t.regex(JSON.parse(r.text).checks.chain, /^fail/);
  await net.restartChain();
  r = await get(`${primary.endpoint}/readyz`);
  t.is(r.status, 200, r.text);

  // Storage income: ten days of flows wait for the primary; insitu node settle pays them out.
  const { run } = await import('@insitu/cli');
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await alice.chain.advanceTime(10 * 86_400);
  let out = '';
  let err = '';
  const io = { stdout: { write: (x: string | Uint8Array) => { out += String(x); return true; } }, stderr: { write: (x: string | Uint8Array) => { err += String(x); return true; } }, env: {}, cwd: net.dir };
  const cli = async (...args: string[]) => {
    out = '';
    err = '';
    return run([...args, '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--json'], io as never);
  };
  t.is(await cli('node', 'status', '--sp', String(primary.spId)), 0, err);
  const income = BigInt((JSON.parse(out) as { storageIncome: { unsettled: string } }).storageIncome.unsettled);
  t.true(income > 0n, 'the primary has earned for storing');
  // Anyone may settle (here Alice, so the provider pays no fee and its gain is exactly the income).
  const keyFile = join(net.dir, 'alice.key');
  await writeFile(keyFile, `${net.accounts[0]!.privateKey}\n`);
  const funding = (await alice.chain.getStorageProvider(primary.spId)).fundingAddress;
  const before = (await alice.chain.getAccount(funding)).balance;
  t.is(await cli('node', 'settle', '--sp', String(primary.spId), '--key-file', keyFile), 0, err);
  const gained = (await alice.chain.getAccount(funding)).balance - before;
  t.true(gained >= income, `the funding address was paid ${gained} (${income} were waiting)`);
  t.is(await cli('node', 'status', '--sp', String(primary.spId)), 0, err);
  t.true(BigInt((JSON.parse(out) as { storageIncome: { unsettled: string } }).storageIncome.unsettled) < income);
});

test('insitu node start runs a new provider on its own, and insitu node status reports on it', async (t) => {
  const { spawn } = await import('node:child_process');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createInterface } = await import('node:readline');
  const { generatePrivateKey, privateKeyToAddress } = await import('@insitu/protocol');
  const { writeKeyFile } = await import('@insitu/protocol');
  const { freePort } = await import('@insitu/cli/devnet');
  const { run } = await import('@insitu/cli');
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'insitu-node-'));
  t.teardown(async () => {
    await net.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const alice = await net.client();
  const key = generatePrivateKey();
  await writeKeyFile(join(dir, 'operator.key'), key);
  const port = await freePort();
  // Without the deposit it says what is needed and how to get it, and registers nothing.
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string | Uint8Array) => { out += String(s); return true; } }, stderr: { write: (s: string | Uint8Array) => { err += String(s); return true; } }, env: {}, cwd: dir };
  const poor = await run(['node', 'start', '--dir', join(dir, 'poor'), '--chain', net.rpcUrl, '--chain-id', net.chainId, '--key', join(dir, 'operator.key'), '--port', String(port)], io as never);
  t.not(poor, 0);
  t.regex(err, /ERR_INSUFFICIENT_BALANCE/);
  t.regex(err, /deposits at least 10000000000000000000 base units/);
  t.regex(err, new RegExp(`admin account ${net.accounts[0]!.address}`, 'i'));
  t.is((await alice.chain.listStorageProviders()).length, 7);
  await alice.chain.transfer(privateKeyToAddress(key), 2n * 10n ** 19n);
  out = '';
  err = '';
  const child = spawn(process.execPath, [new URL('../../cli/bin/insitu.js', import.meta.url).pathname, 'node', 'start', '--dir', join(dir, 'data'), '--chain', net.rpcUrl,
    '--chain-id', net.chainId, '--key', join(dir, 'operator.key'), '--port', String(port), '--scrub-interval-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const waiting = new Promise<void>((resolve) => createInterface({ input: child.stderr! }).on('line', (l) => { if (/waiting for admission/.test(l)) resolve(); }));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => { if (/serving at/.test(l)) resolve(l); });
    void exited.then((code) => reject(new Error(`node start exited with ${code}: ${stderr.join('\n')}`)));
  });
  await Promise.race([waiting, ready]);
  t.true(stderr.some((l) => /waiting for admission: the admin account/.test(l)), 'it waits for the admin');
  t.is((await alice.chain.getStorageProvider(8)).status, 'in-maintenance');
  t.not(await run(['node', 'admit', '8', '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--key-file', join(dir, 'operator.key')], io as never), 0);
  t.regex(err, /ERR_PERMISSION_DENIED/, 'only the admin admits');
  await alice.chain.admitProvider(8);
  t.regex(await ready, /storage node 8 serving at http:\/\/sp-[0-9a-f]{8}\.localhost:\d+/);
  t.true(stderr.some((l) => /registered as storage provider 8/.test(l)));
  const groups = await alice.chain.listGlobalVirtualGroups(8);
  t.true(groups.some((g) => g.primarySpId === 8 && g.secondarySpIds.length === 6), 'a group of its own');

  // A bucket on the new provider stores and serves like any other.
  await alice.buckets.create('on-eight', { primarySp: privateKeyToAddress(key) });
  await alice.objects.put('on-eight', 'x', Buffer.from('held by the newcomer\n'));
  const parts: Uint8Array[] = [];
  for await (const c of alice.objects.get('on-eight', 'x')) parts.push(c);
  t.is(Buffer.concat(parts).toString(), 'held by the newcomer\n');

  out = '';
  err = '';
  const code = await run(['node', 'status', '--sp', '8', '--rpc', net.rpcUrl, '--chain-id', net.chainId, '--json'], io as never);
  t.is(code, 0, err);
  const report = JSON.parse(out) as { spId: number; healthy: boolean; ready: boolean; pieces: number; chainStatus: string };
  t.like(report, { spId: 8, healthy: true, ready: true, chainStatus: 'in-service' });
  t.true(report.pieces >= 1);
  child.kill('SIGTERM');
  t.is(await exited, 0, 'Ctrl-C stops it cleanly');
});
