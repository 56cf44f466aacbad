import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { computeChecksums, segmentStream, EMPTY_HASH, hashOfHashes } from '@insitu/protocol';
import { createErasureCodec } from '@insitu/protocol/codec';
import { seeded } from '@insitu/test/random';

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

async function* chunked(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = sizes[i++ % sizes.length]!;
    yield data.subarray(at, at + n);
    at += n;
  }
}

test('segmentStream re-cuts any chunking into exact segments', async (t) => {
  const data = randomBytes(10_000);
  for (const sizes of [[1], [7, 3000, 1], [10_000], [4096], [2500]]) {
    const segs: Uint8Array[] = [];
    for await (const s of segmentStream(chunked(data, sizes), 2500)) segs.push(s.slice());
    t.deepEqual(segs.map((s) => s.length), [2500, 2500, 2500, 2500]);
    t.true(Buffer.concat(segs).equals(data));
  }
  const odd: Uint8Array[] = [];
  for await (const s of segmentStream(chunked(data.subarray(0, 2501), [100]), 2500)) odd.push(s.slice());
  t.deepEqual(odd.map((s) => s.length), [2500, 1]);
});

test('segmentStream stops with ERR_ABORTED when its signal fires', async (t) => {
  const ac = new AbortController();
  const it = segmentStream(chunked(randomBytes(10_000), [100]), 1000, { signal: ac.signal });
  await it.next();
  ac.abort();
  await t.throwsAsync(async () => { for await (const _ of it) { /* drain */ } }, { any: true, message: /abort/i });
});

test('checksums are hashes of per-segment hashes, for the object and every piece index', async (t) => {
  const params = { segmentSize: 1000, dataShards: 4, parityShards: 2 };
  const data = randomBytes(2345);
  const r = await computeChecksums(chunked(data, [333]), params);
  t.is(r.size, 2345n);
  t.is(r.checksums.length, 7);
  const segs = [data.subarray(0, 1000), data.subarray(1000, 2000), data.subarray(2000)];
  t.true(Buffer.from(r.checksums[0]!).equals(sha(Buffer.concat(segs.map(sha)))));
  const codec = createErasureCodec();
  for (let j = 0; j < 6; j++) {
    const expected = sha(Buffer.concat(segs.map((s) => sha(codec.encode(s)[j]!))));
    t.true(Buffer.from(r.checksums[1 + j]!).equals(expected), `piece ${j}`);
  }
  t.true(Buffer.from(hashOfHashes(r.pieceHashes[2]!)).equals(Buffer.from(r.checksums[3]!)));
});

test('an empty object has sha256("") as every checksum', async (t) => {
  const r = await computeChecksums(new Uint8Array(0));
  t.is(r.size, 0n);
  t.is(r.checksums.length, 7);
  for (const c of r.checksums) t.is(Buffer.from(c).toString('base64'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  t.true(Buffer.from(EMPTY_HASH).equals(sha(new Uint8Array(0))));
});

test('segments in shared memory, hashed partly on a second thread, give the same checksums as the same bytes hashed on one', async (t) => {
  const { bytes } = seeded((l) => t.log(l));
  for (const [segmentSize, dataShards] of [[1000, 4], [1003, 4], [1000, 1]] as const) {
    const params = { segmentSize, dataShards, parityShards: 2 };
    const data = bytes(3 * segmentSize + 345);
    // Whole segments as views of one SharedArrayBuffer, the short last one as it is.
    const shared = new Uint8Array(new SharedArrayBuffer(data.length));
    shared.set(data);
    const segments = [0, 1, 2].map((i) => shared.subarray(i * segmentSize, (i + 1) * segmentSize));
    const threaded = await computeChecksums([...segments, shared.subarray(3 * segmentSize)], params);
    const single = await computeChecksums(chunked(data, [777]), params);
    t.deepEqual(threaded.checksums.map((c) => Buffer.from(c).toString('hex')), single.checksums.map((c) => Buffer.from(c).toString('hex')), `${segmentSize}/${dataShards}`);
    t.deepEqual(threaded.pieceHashes, single.pieceHashes);
    t.is(threaded.size, BigInt(data.length));
  }
});
