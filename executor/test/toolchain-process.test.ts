// jco runs in a process of its own: preparing a module leaves the caller (a storage node) without
// jco's compiled WebAssembly and transpile memory, the process ends when no preparation has come
// for a while, and one that dies mid-way fails that preparation as the node's fault (ERR_INTERNAL,
// nothing refused on the module's account) while the next preparation starts a new one.

import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { prepareModule, JCO_IDLE_MS } from '../src/component.ts';
import { waitFor } from '@insitu/test/wait';

const module = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../wasm-jobs/build/${name}.wasm`, import.meta.url)));

/** This process's children running the toolchain script. */
function toolchains(): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('worker/jco.mjs')) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

test.serial('a preparation runs jco in a process of its own, which ends when idle; the caller keeps none of its memory', async (t) => {
  const before = rssMiB();
  const prepared = await prepareModule(module('csv-agg'));
  t.is(prepared.kind, 'core');
  t.true(Object.keys(prepared.coreModules).length >= 2);
  t.is(toolchains().length, 1);
  // In this process, loading jco and one transpile took about 100 MiB that it never gave back.
  t.true(rssMiB() - before < 50, `RSS grew by ${Math.round(rssMiB() - before)} MiB`);
  await waitFor('the idle toolchain process to end', async () => toolchains().length === 0, JCO_IDLE_MS + 30_000);
  // And a later preparation starts it again.
  t.is((await prepareModule(module('wc'))).kind, 'core');
});

test.serial('a toolchain process killed mid-preparation fails it with ERR_INTERNAL, not as a refusal of the module; the next one starts afresh', async (t) => {
  const pending = prepareModule(module('kmeans'));
  await waitFor('the toolchain process to start', async () => toolchains().length > 0, 30_000);
  for (const pid of toolchains()) process.kill(pid, 'SIGKILL');
  const err = await t.throwsAsync(pending);
  t.is((err as { code?: string }).code, 'ERR_INTERNAL');
  t.regex(err!.message, /component toolchain exited \(SIGKILL\) while preparing the module/);
  t.is((await prepareModule(module('kmeans'))).kind, 'core');
});
