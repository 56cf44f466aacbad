// The devnet as users run it: the chain and 7 nodes as child processes, devnet.json for other
// tools, and one node stopped and restarted through the supervisor's control endpoint.

import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@insitu/cli';
import { devnetUp } from '@insitu/cli/devnet';
import { capture } from '../src/capture.ts';
import { waitFor } from '../src/wait.ts';

test('devnet up runs a chain and 7 node processes, writes devnet.json, and stops and restarts one node', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-devnet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const net = await devnetUp({ dir, nodes: 7 });
  try {
    const file = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as { rpcUrl: string; chainId: string; nodes: unknown[]; account: { address: string; privateKey: string } };
    t.is(file.nodes.length, 7);
    t.regex(file.account.privateKey, /^0x[0-9a-f]{64}$/);
    const cli = async (...args: string[]) => {
      const stdout = capture();
      const stderr = capture();
      const code = await run([...args, '--dir', dir], { stdout, stderr, env: {}, cwd: dir });
      return { code, out: stdout.text(), err: stderr.text() };
    };
    let r = await cli('account', '--json');
    t.is(r.code, 0, r.err);
    t.is((JSON.parse(r.out) as { address: string }).address, file.account.address);
    r = await cli('bucket', 'create', 'devnet-bucket');
    t.is(r.code, 0, r.err);
    const src = join(dir, 'hello.txt');
    await writeFile(src, 'hello devnet\n');
    r = await cli('put', src, 'devnet-bucket/hello.txt');
    t.is(r.code, 0, r.err);
    r = await cli('devnet', 'node', 'stop', '1');
    t.is(r.code, 0, r.err);
    r = await cli('get', 'devnet-bucket/hello.txt');
    t.is(r.out, 'hello devnet\n', 'read with the primary down');
    r = await cli('devnet', 'node', 'start', '1');
    t.is(r.code, 0, r.err);
    r = await cli('devnet', 'node', 'stop', '9');
    t.regex(r.err, /ERR_INVALID_ARGUMENT: no node 9/);
    type Status = { chain: { running: boolean }; nodes: { name: string; running: boolean; pid: number | null; restarts: number }[] };
    const status = async (): Promise<Status> => {
      const s = await cli('devnet', 'status', '--json');
      t.is(s.code, 0, s.err);
      return JSON.parse(s.out) as Status;
    };
    let st = await status();
    t.true(st.chain.running);
    t.deepEqual(st.nodes.map((n) => n.running), Array(7).fill(true));
    // A node that dies on its own is restarted by the supervisor.
    const victim = st.nodes[2]!.pid!;
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 300; i++) {
      st = await status();
      if (st.nodes[2]!.running && st.nodes[2]!.pid !== victim) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    t.true(st.nodes[2]!.running, 'node 3 is running again');
    t.not(st.nodes[2]!.pid, victim);
    t.is(st.nodes[2]!.restarts, 1);
    // The devnet's dashboard and the JSON it polls.
    const page = await fetch(`${net.file.control}/`);
    t.is(page.status, 200);
    t.regex(await page.text(), /<title>insitu devnet insitu_9000-1<\/title>/);
    const view = (await (await fetch(`${net.file.control}/api/cluster`)).json()) as { nodes: { up: boolean }[]; objects: { bucket: string; name: string; placement: unknown[] }[]; payers: { address: string; perSecond: string; frozen: boolean }[] };
    const payer = view.payers.find((p) => p.address.toLowerCase() === file.account.address.toLowerCase());
    t.true(BigInt(payer!.perSecond) < 0n && !payer!.frozen, 'the devnet account pays for hello.txt');
    t.is(view.nodes.length, 7);
    t.true(view.nodes.every((n) => n.up));
    const hello = view.objects.find((o) => o.name === 'hello.txt');
    t.is(hello?.bucket, 'devnet-bucket');
    t.is(hello?.placement.length, 7);
    // One devnet per dir.
    const twice = await t.throwsAsync(devnetUp({ dir }));
    t.is((twice as { code?: string }).code, 'ERR_CONFIG');
    t.regex((twice as Error).message, /already running/);
    r = await cli('devnet', 'down');
    t.is(r.code, 0, r.err);
    await net.stopRequested;
  } finally {
    await net.stop();
  }
  const again = await devnetUp({ dir });
  try {
    const stdout = capture();
    const stderr = capture();
    t.is(await run(['get', 'devnet-bucket/hello.txt', '--dir', dir], { stdout, stderr, env: {}, cwd: dir }), 0, stderr.text());
    t.is(stdout.text(), 'hello devnet\n', 'a resumed devnet keeps its data');
  } finally {
    await again.stop();
  }
});

test('a devnet whose processes do not start in time fails with ERR_NODE_UNAVAILABLE and leaves none of them running', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'insitu-devnet-slow-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(devnetUp({ dir, nodes: 7, startTimeoutMs: 1 }));
  t.is((err as { code?: string }).code, 'ERR_NODE_UNAVAILABLE');
  t.regex((err as Error).message, /did not start within/);
  // Any process of this devnet names its directory on its command line.
  const mine = async (): Promise<number[]> => {
    const pids: number[] = [];
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes(dir)) pids.push(Number(pid));
    }
    return pids;
  };
  await waitFor('the timed-out processes to be gone', async () => (await mine()).length === 0, 30_000);
  t.deepEqual(await mine(), []);
});
