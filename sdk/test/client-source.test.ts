// Upload sources: files are read in place (and may be opened twice), streams are spooled to a
// temp file that is removed afterwards, and failures leave nothing behind.

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { prepareSource, counted } from '../src/client/source.ts';

// This file runs in its own process: point the spool at a private temp dir to watch it.
const realTmp = tmpdir();
let spoolRoot: string;
test.before(async () => {
  spoolRoot = await mkdtemp(join(realTmp, 'insitu-source-test-'));
  process.env.TMPDIR = spoolRoot;
});
test.after.always(async () => {
  process.env.TMPDIR = realTmp;
  await rm(spoolRoot, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  // Copied as they come: a file's chunks are buffers read into again for later chunks.
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

test.serial('a file path is read in place and can be opened twice', async (t) => {
  const data = randomBytes(5 * 1024 * 1024 + 7);
  const file = join(spoolRoot, 'in.bin');
  await writeFile(file, data);
  const src = await prepareSource(file);
  t.is(src.size, BigInt(data.length));
  t.true((await collect(src.open())).equals(data));
  t.true((await collect(src.open())).equals(data), 'a second pass gives the same bytes');
  await src.cleanup();
  t.deepEqual(await readdir(spoolRoot), ['in.bin'], 'nothing spooled for a file');
  await rm(file);
});

test.serial('a Node stream and an async iterable are spooled once, re-readable, and removed on cleanup', async (t) => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(50_000));
  const whole = Buffer.concat(chunks);
  for (const source of [Readable.from(chunks), (async function* () { yield* chunks; })()]) {
    const src = await prepareSource(source);
    t.is(src.size, BigInt(whole.length));
    t.is((await readdir(spoolRoot)).length, 1, 'one spool dir while the source is in use');
    t.true((await collect(src.open())).equals(whole));
    t.true((await collect(src.open())).equals(whole));
    await src.cleanup();
    t.deepEqual(await readdir(spoolRoot), []);
  }
});

test.serial('bytes pass through as they are, an empty source has size 0', async (t) => {
  const bytes = randomBytes(1000);
  const src = await prepareSource(bytes);
  t.true((await collect(src.open())).equals(bytes));
  const empty = await prepareSource((async function* () {})());
  t.is(empty.size, 0n);
  t.is((await collect(empty.open())).length, 0);
  await empty.cleanup();
  t.deepEqual(await readdir(spoolRoot), []);
});

test.serial('a missing file, a directory and a failing stream give stable codes and leave no spool behind', async (t) => {
  let e = await t.throwsAsync(prepareSource(join(spoolRoot, 'nope')));
  t.is((e as { code?: string }).code, 'ERR_NOT_FOUND');
  e = await t.throwsAsync(prepareSource(spoolRoot));
  t.is((e as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
  await t.throwsAsync(prepareSource((async function* () {
    yield randomBytes(10_000);
    throw new Error('source broke');
  })()), { message: 'source broke' });
  t.deepEqual(await readdir(spoolRoot), []);
  const ac = new AbortController();
  const pending = prepareSource((async function* () {
    yield randomBytes(10_000);
    ac.abort();
    await new Promise((r) => setTimeout(r, 10));
    yield randomBytes(10_000);
  })(), ac.signal);
  e = await t.throwsAsync(pending);
  t.is((e as { code?: string }).code, 'ERR_ABORTED');
  t.deepEqual(await readdir(spoolRoot), [], 'an aborted spool is removed');
});

test('counted reports every byte and stops on abort', async (t) => {
  let n = 0;
  const out = await collect(counted((async function* () { yield new Uint8Array(5); yield new Uint8Array(7); })(), (k) => (n += k)));
  t.is(out.length, 12);
  t.is(n, 12);
  const ac = new AbortController();
  ac.abort();
  const e = await t.throwsAsync(collect(counted((async function* () { yield new Uint8Array(1); })(), () => {}, ac.signal)));
  t.is((e as { code?: string }).code, 'ERR_ABORTED');
});

test.serial('a file\'s segments come whole and in order, the last one shorter, each valid until the next is asked for', async (t) => {
  const file = join(spoolRoot, 'segments.bin');
  for (const [size, expected] of [[2500, [1000, 1000, 500]], [3000, [1000, 1000, 1000]], [400, [400]], [0, []]] as const) {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7 + 3) % 256;
    await writeFile(file, data);
    const src = await prepareSource(file);
    const seen: Buffer[] = [];
    // Copied as they come: the buffers are read into again for later segments.
    for await (const seg of src.segments!(1000)) seen.push(Buffer.from(seg));
    t.deepEqual(seen.map((s) => s.length), [...expected], `${size} bytes`);
    t.true(Buffer.concat(seen).equals(data), `${size} bytes`);
    await src.cleanup();
  }
  await rm(file);
});
