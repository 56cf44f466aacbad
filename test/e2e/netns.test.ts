// The devnet over a simulated network: the chain, each of the 7 nodes and the client in network
// namespaces of their own, 20 ms each way and 1 Gbit/s per host (test/src/netns.ts). A small
// upload reads back verified and a job runs beside it, the delay is really on the path, and the
// namespaces are gone afterwards, also after a failure and after a run that was killed. Where
// namespaces cannot be made (not root, no iproute2, a sandbox) the tests are skipped, with the
// reason in their titles.

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSimulatedNetwork, namespacesUnavailable, removeLeftovers, runClient, type SimulatedNetwork } from '../src/netns.ts';
import { testSeed } from '../src/random.ts';
import { waitFor } from '../src/wait.ts';

const run = promisify(execFile);
const unavailable = await namespacesUnavailable();
const maybe = unavailable ? test.serial.skip : test.serial;
const because = unavailable ? ` (skipped: ${unavailable})` : '';

const ours = async (): Promise<string[]> => (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`insitu-sim-${process.pid}-`));

maybe(`over a simulated network, an upload reads back verified and a job runs beside the data${because}`, async (t) => {
  t.timeout(280_000); // the devnet alone may take two minutes to start on a busy 2-core machine
  const seed = testSeed();
  t.log(`seed ${seed} (replay with INSITU_TEST_SEED=${seed})`);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-netns-'));
  let net: SimulatedNetwork | undefined;
  t.teardown(async () => {
    await net?.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  try {
    net = await createSimulatedNetwork({ hosts: ['chain', ...Array.from({ length: 7 }, (_, i) => `node-${i + 1}`), 'client'], delayMs: 20, rateMbit: 1000 });
    t.log(`delay by ${net.delayBy}, MTU ${net.mtu}`);
    const result = await runClient(net, { mode: 'check', dir, seed });
    const error = result.lines.find((l) => l.error)?.error;
    t.is(result.code, 0, `the client side failed: ${String(error ?? '')}\n${result.stderr}`);
    const c = result.lines.find((l) => l.check)?.check as Record<string, unknown> | undefined;
    if (!c) return void t.fail('the client side reported no result');
    t.log(`round trip ${Number(c.rttMs).toFixed(1)} ms; upload ${Math.round(Number(c.uploadMs))} ms, read ${Math.round(Number(c.downloadMs))} ms, job ${Math.round(Number(c.jobMs))} ms`);
    // Every process is reached at its own namespace's address, and the delay is on the path: a TCP
    // connect from the client to the chain takes a round trip of two 20 ms delays.
    t.regex(String(c.rpcUrl), /^http:\/\/10\.77\.0\.10:\d+$/);
    t.deepEqual((c.endpoints as string[]).map((e) => new URL(e).hostname), Array.from({ length: 7 }, (_, i) => net!.address(`node-${i + 1}`)));
    t.true(Number(c.rttMs) >= 38, `a round trip took ${c.rttMs} ms, less than the simulated 40 ms`);
    t.is(c.readSha256, c.sha256, 'the bytes read are the bytes uploaded');
    t.is(String(c.jobOutput).split(/\s+/)[0], String(c.expectedLines), `the job counted ${c.jobOutput} (lines words bytes)`);
    // Each timed step waited on the network: an upload is at least eight round trips (create,
    // send, sign, seal), a read two (head, request).
    t.true(Number(c.uploadMs) >= 8 * 40 && Number(c.downloadMs) >= 2 * 40, 'the operations crossed the delayed links');
    t.is(net.fault(), undefined);
  } finally {
    await net?.destroy();
  }
  t.deepEqual(await ours(), [], 'no namespace is left');
});

maybe(`a failed run leaves no namespace behind, and a killed run's namespaces go with the next${because}`, async (t) => {
  // Set-up that fails half-way (the second host's namespace exists already) removes what it made.
  await t.throwsAsync(createSimulatedNetwork({ hosts: ['a', 'b', 'a'], delayMs: 20, rateMbit: 1000 }));
  t.deepEqual(await ours(), []);
  // A run whose process is gone (killed): its namespace and what runs in it are removed.
  const child = execFile('sleep', ['60']);
  const dead = child.pid!;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const stale = `insitu-sim-${dead}-x`;
  await run('ip', ['netns', 'add', stale]);
  const inside = execFile('ip', ['netns', 'exec', stale, 'sleep', '60']);
  const ended = new Promise<string | null>((r) => inside.once('exit', (_code, signal) => r(signal)));
  await waitFor('the process in the stale namespace to start', async () => (await run('ip', ['netns', 'pids', stale])).stdout.trim() !== '');
  const removed = await removeLeftovers();
  t.true(removed.includes(stale), `removed ${removed.join(', ')}`);
  t.is(await ended, 'SIGKILL', 'what ran in it was stopped');
  t.false((await run('ip', ['netns', 'list'])).stdout.includes(stale));
});
