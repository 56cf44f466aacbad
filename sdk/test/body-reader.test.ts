// Reading a node's answer into the caller's buffers (sp/body-reader.ts), against a raw socket
// server that answers as a node may: whole, split at odd places, silent, cut off, or with an error.

import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { openBody } from '../src/sp/body-reader.ts';

const connections = new WeakMap<Server, Set<Socket>>();

async function serve(answer: (socket: Socket) => void): Promise<{ url: URL; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => answer(socket));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  connections.set(server, sockets);
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`), server };
}

// Each server closes only its own connections: the tests of this file run at the same time.
const stop = (server: Server): Promise<void> => new Promise((r) => {
  server.close(() => r());
  for (const s of connections.get(server) ?? []) s.destroy();
});

test('a body split across many small writes fills reads of any size exactly', async (t) => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const { url, server } = await serve((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\n\r\n`);
    for (let at = 0; at < data.length; at += 70_001) socket.write(data.subarray(at, at + 70_001));
    socket.end();
  });
  t.teardown(() => stop(server));
  const body = await openBody(url, { headers: {}, stallMs: 10_000, what: 'test' });
  t.is(body.length, data.length);
  const out = Buffer.alloc(data.length);
  for (let at = 0, step = 1; at < out.length; at += step, step = step * 7 + 3) await body.read(out.subarray(at, Math.min(out.length, at + step)));
  t.true(out.equals(data));
});

test('reads of whole units are told as their bytes land and are filled exactly', async (t) => {
  const data = randomBytes(5 * 1024 * 1024 + 3);
  const { url, server } = await serve((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${data.length}\r\n\r\n`);
    for (let at = 0; at < data.length; at += 300_007) socket.write(data.subarray(at, at + 300_007));
    socket.end();
  });
  t.teardown(() => stop(server));
  const body = await openBody(url, { headers: {}, stallMs: 10_000, what: 'test' });
  const out = Buffer.alloc(data.length);
  // Units of 2 MiB and the rest, each one read, as a download reads its segments.
  for (let at = 0; at < out.length;) {
    const unit = out.subarray(at, Math.min(out.length, at + 2 * 1024 * 1024));
    const seen: number[] = [];
    await body.read(unit, (filled) => seen.push(filled));
    t.is(seen.at(-1), unit.length);
    t.true(seen.every((n, i) => n > (seen[i - 1] ?? 0)));
    at += unit.length;
  }
  t.true(out.equals(data));
  await t.throwsAsync(body.read(new Uint8Array(1)), { code: 'ERR_SIZE_MISMATCH' } as never);
});

test('a node that goes silent mid-body is ERR_NODE_UNAVAILABLE after the stall deadline', async (t) => {
  const { url, server } = await serve((socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789'));
  t.teardown(() => stop(server));
  const body = await openBody(url, { headers: {}, stallMs: 1000, what: 'test' });
  await body.read(new Uint8Array(10));
  await t.throwsAsync(body.read(new Uint8Array(10)), { code: 'ERR_NODE_UNAVAILABLE' } as never);
});

test('an answer cut off short is ERR_SIZE_MISMATCH, and an error answer carries the node\'s code', async (t) => {
  const cut = await serve((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789'));
  t.teardown(() => stop(cut.server));
  const body = await openBody(cut.url, { headers: {}, stallMs: 10_000, what: 'test' });
  await t.throwsAsync(body.read(new Uint8Array(100)), { code: 'ERR_SIZE_MISMATCH' } as never);
  const xml = '<Error><Code>ERR_CHECKSUM_MISMATCH</Code><Message>segment 0 is corrupt</Message></Error>';
  const err = await serve((socket) => socket.end(`HTTP/1.1 500 Internal\r\ncontent-length: ${xml.length}\r\n\r\n${xml}`));
  t.teardown(() => stop(err.server));
  const e = await t.throwsAsync(openBody(err.url, { headers: {}, stallMs: 10_000, what: 'test' }));
  t.is((e as { code?: string }).code, 'ERR_CHECKSUM_MISMATCH');
  t.regex(e!.message, /corrupt/);
});

test('a reader whose own thread was busy past the deadline reads the bytes that arrived meanwhile instead of calling the node silent', async (t) => {
  // The node runs on another thread, so it sends while this one is blocked; it says when the
  // kernel has the bytes through shared memory, which this thread waits on.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const net = require('node:net');
    let conn;
    const server = net.createServer((socket) => {
      conn = socket;
      socket.on('error', () => undefined);
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\\r\\ncontent-length: 20\\r\\n\\r\\n0123456789'));
    });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    parentPort.on('message', (m) => {
      if (m === 'send') conn.write('abcdefghij', () => { Atomics.store(workerData, 0, 1); Atomics.notify(workerData, 0); });
      else { conn?.destroy(); server.close(); parentPort.close(); }
    });
  `, { eval: true, workerData: flag });
  t.teardown(() => worker.terminate());
  const [port] = (await once(worker, 'message')) as [number];
  const stallMs = 200;
  const body = await openBody(new URL(`http://127.0.0.1:${port}/x`), { headers: {}, stallMs, what: 'test' });
  const first = new Uint8Array(10);
  await body.read(first);
  const second = new Uint8Array(10);
  const reading = body.read(second);
  worker.postMessage('send');
  Atomics.wait(flag, 0, 0);
  // Blocked past the deadline, with the bytes in the socket.
  for (const until = performance.now() + 2 * stallMs; performance.now() < until;);
  await reading;
  t.is(Buffer.from(second).toString(), 'abcdefghij');
  worker.postMessage('stop');
});
