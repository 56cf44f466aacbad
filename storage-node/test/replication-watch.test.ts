// A replication's stall watch judges the secondary by what is heard from it: one that answers
// nothing (a socket that accepts and never answers, as a frozen process's kernel does) is
// declared stalled; one that answers its health probe late, as a process with a busy event loop
// does, is not; a primary whose own event loop was held up does not blame the secondary for it.
// Real sockets, real timers; every wait is for a condition, bounded only to fail instead of hang.

import test from 'ava';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@insitu/test/wait';
import { heardFrom, watchReplication } from '../src/http/replication-watch.ts';

const STALL_MS = 1_000;

// Servers stay open until every test is done, so no test's endpoint is another's port reused.
const closing: (() => void)[] = [];
test.after.always(() => {
  for (const close of closing) close();
});

const listening = async <S extends TcpServer | Server>(server: S): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** Waits for `cond`, polling often (the tests time stalls of about a second), failing instead of hanging. */
const until = (what: string, cond: () => boolean): Promise<unknown> => waitFor(what, async () => cond(), 30_000, 20);

/** A socket server that accepts and never answers, as a frozen process's kernel does. */
async function frozenSecondary(): Promise<{ endpoint: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const frozen = createTcpServer((s) => sockets.push(s));
  const endpoint = await listening(frozen);
  closing.push(() => {
    for (const s of sockets) s.destroy();
    frozen.close();
  });
  return { endpoint, sockets };
}

test.serial('a secondary that answers nothing is declared stalled after the stall time of waiting on it, not before', async (t) => {
  const { endpoint, sockets } = await frozenSecondary();
  const started = performance.now();
  let stalledAt = 0;
  const watch = watchReplication({ endpoint, stallMs: STALL_MS, waiting: () => true, onStall: () => (stalledAt = performance.now()) });
  t.teardown(() => watch.stop());
  await until('the stall', () => stalledAt > 0);
  t.true(stalledAt - started >= STALL_MS, `declared after ${Math.round(stalledAt - started)} ms`);
  t.true(sockets.length >= 1, 'it was probed');
});

test.serial('a secondary that answers its probe late (a busy event loop) is waited for, however long the wait', async (t) => {
  let answered = 0;
  // Each probe is answered after 60% of the stall time: far past a deadline of half of it.
  const slow = createServer((req, res) => setTimeout(() => {
    answered++;
    res.end('ok');
  }, STALL_MS * 0.6));
  const endpoint = await listening(slow);
  closing.push(() => slow.close());
  let stalled = false;
  const watch = watchReplication({ endpoint, stallMs: STALL_MS, waiting: () => true, onStall: () => (stalled = true) });
  t.teardown(() => watch.stop());
  await until('three late answers', () => answered >= 3 || stalled);
  t.false(stalled, 'a secondary that answers is not declared stalled');
});

test.serial('what other uploads hear from a secondary, and pieces its stream takes, count as signs of life; silence while not waiting on it does not count', async (t) => {
  const { endpoint } = await frozenSecondary();
  let stalled = false;
  let waiting = false;
  const watch = watchReplication({ endpoint, stallMs: STALL_MS, waiting: () => waiting, onStall: () => (stalled = true) });
  t.teardown(() => watch.stop());
  // Kept alive by answers to other uploads and by its stream moving, for several stall times.
  let beats = 0;
  const beat = setInterval(() => {
    beats++;
    if (beats % 2 === 0) heardFrom(endpoint);
    else watch.progress();
  }, STALL_MS / 5);
  waiting = true;
  await until('a dozen signs of life', () => beats >= 12 || stalled);
  clearInterval(beat);
  t.false(stalled, 'not stalled while heard from');
  // Not waited on: silence is not the secondary's doing.
  waiting = false;
  const quietFrom = beats;
  const tick = setInterval(() => beats++, STALL_MS / 5);
  t.teardown(() => clearInterval(tick));
  await until('a quiet spell of twice the stall time', () => beats - quietFrom >= 10 || stalled);
  t.false(stalled, 'not stalled while nothing is asked of it');
  waiting = true;
  await until('the stall once waited on again', () => stalled);
  t.pass();
});

test.serial('a primary whose own event loop was held up does not blame the secondary for the time it was not watching', async (t) => {
  let answered = 0;
  const alive = createServer((req, res) => {
    answered++;
    res.end('ok');
  });
  const endpoint = await listening(alive);
  closing.push(() => alive.close());
  let stalled = false;
  const watch = watchReplication({ endpoint, stallMs: STALL_MS, waiting: () => true, onStall: () => (stalled = true) });
  t.teardown(() => watch.stop());
  // Holds this process's event loop for twice the stall time: the secondary's answers wait unread.
  const until2 = performance.now() + 2 * STALL_MS;
  while (performance.now() < until2) { /* busy */ }
  const before = answered;
  await until('the secondary answering again after the hold', () => answered >= before + 2 || stalled);
  t.false(stalled, 'the held-up time did not count against the secondary');
});
