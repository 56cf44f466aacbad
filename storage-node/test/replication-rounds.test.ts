// The primary's rounds of small objects (replication-batch.ts) against six secondaries on real
// HTTP servers that answer PUT /insitu/v1/replicate-pieces as a node does (each piece accepted
// or refused, one BLS signature over the accepted objects), some of them misbehaving, and a chain
// client that records the rounds it is asked to seal.

import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blsPublicKey, blsSign, generateBlsKey, generatePrivateKey, InsituError, type ErrorCode } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc, type ChainClient, type SealObjectsInput, type StorageProvider } from '@insitu/protocol/chain';
import { createReplicationBatcher, type SmallUpload } from '../src/replication-batch.ts';
import { parseApproval, parseBatch } from '../src/http/replicate-batch.ts';

const CHAIN_ID = 'insitu_9000-1';
const GVG = 3;

interface Fake {
  sp: StorageProvider;
  server: Server;
  /** Object ids this secondary refuses, with the code it answers. */
  refuse: Map<bigint, string>;
  mode: 'honest' | 'bad-signature' | 'frozen' | 'disk-full';
  requests: string[];
  /** Object ids it holds. */
  held: Set<bigint>;
}

async function secondaries(t: { teardown(fn: () => Promise<void> | void): void }, hashes: Map<bigint, Uint8Array>): Promise<Fake[]> {
  const fakes: Fake[] = [];
  for (let j = 0; j < 6; j++) {
    const secret = generateBlsKey();
    const fake: Fake = { sp: undefined as never, server: undefined as never, refuse: new Map(), mode: 'honest', requests: [], held: new Set() };
    fake.server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (fake.mode === 'frozen') return; // answers nothing, health probes included
      if (url.pathname === '/healthz') return res.end('ok');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fake.requests.push(url.search);
        if (fake.mode === 'disk-full') {
          res.writeHead(507, { 'x-insitu-error-code': 'ERR_NODE_DISK_FULL' });
          return res.end('no space left');
        }
        const approving = url.searchParams.has('approve');
        const entries = approving ? parseApproval(url.searchParams.get('approve')) : parseBatch(url.searchParams.get('pieces'));
        const accepted: bigint[] = [];
        const results = entries.map((e) => {
          const code = fake.refuse.get(e.objectId) ?? (approving && !fake.held.has(e.objectId) ? 'ERR_NOT_FOUND' : undefined);
          if (code) return { code, message: `refused ${e.objectId}` };
          fake.held.add(e.objectId);
          accepted.push(e.objectId);
          return { ok: true };
        });
        const doc = sealObjectsSignDoc({ chainId: CHAIN_ID, gvgId: Number(url.searchParams.get('gvg')), objects: accepted.map((id) => ({ objectId: id, checksumsHash: hashes.get(id)! })) });
        const key = fake.mode === 'bad-signature' ? generateBlsKey() : secret;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ results, ...(accepted.length ? { signature: Buffer.from(blsSign(doc, key)).toString('hex') } : {}) }));
      });
    });
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    fake.sp = { id: 10 + j, endpoint, blsKey: blsPublicKey(secret) } as StorageProvider;
    t.teardown(() => {
      fake.server.closeAllConnections();
      fake.server.close();
    });
    fakes.push(fake);
  }
  return fakes;
}

function setup(t: { teardown(fn: () => Promise<void> | void): void }, opts: { skip?: Set<bigint>; stallMs?: number } = {}) {
  const hashes = new Map<bigint, Uint8Array>();
  const sealed: SealObjectsInput[] = [];
  const chain = {
    async sealObjects(input: SealObjectsInput) {
      sealed.push(input);
      return { txHash: '0x', height: 1n, skipped: input.objects.map((o) => o.objectId).filter((id) => opts.skip?.has(id)) };
    },
  } as unknown as ChainClient;
  const batcher = createReplicationBatcher({ operatorKey: generatePrivateKey(), stallMs: opts.stallMs ?? 2_000, chainId: CHAIN_ID, chain });
  let next = 100n;
  const upload = (fakes: Fake[], extra: Partial<SmallUpload> = {}): { id: bigint; done: Promise<unknown>; committed: () => boolean } => {
    const id = next++;
    const checksums = Array.from({ length: 7 }, (_, i) => new Uint8Array(32).fill(Number(id % 200n) + i));
    let committed = false;
    hashes.set(id, checksumsHash(checksums));
    const done = batcher.seal({
      objectId: id, checksums, gvgId: GVG, secondaries: fakes.map((f) => f.sp), pieces: fakes.map((_, j) => new Uint8Array(100).fill(j)), what: `b/o-${id}`,
      commit: async () => {
        committed = true;
      },
      ...extra,
    });
    done.catch(() => undefined);
    return { id, done, committed: () => committed };
  };
  return { hashes, sealed, upload };
}

const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'sealed', (e: unknown) => (e instanceof InsituError ? e.code : String(e)));

test('uploads handed over together are one round: one request per secondary, one seal of them all', async (t) => {
  const s = setup(t);
  const fakes = await secondaries(t, s.hashes);
  const ups = Array.from({ length: 5 }, () => s.upload(fakes));
  t.deepEqual(await Promise.all(ups.map((u) => codeOf(u.done))), Array(5).fill('sealed'));
  for (const f of fakes) t.is(f.requests.length, 1, 'one request per secondary');
  t.is(s.sealed.length, 1, 'one seal');
  t.deepEqual(s.sealed[0]!.objects.map((o) => o.objectId), ups.map((u) => u.id));
  t.is(s.sealed[0]!.gvgId, GVG);
  t.true(ups.every((u) => u.committed()), 'every copy committed before the seal');
});

test('a piece one secondary refuses fails its own upload with that secondary named; the others are approved again and sealed', async (t) => {
  const s = setup(t);
  const fakes = await secondaries(t, s.hashes);
  const ups = Array.from({ length: 4 }, () => s.upload(fakes));
  fakes[2]!.refuse.set(ups[1]!.id, 'ERR_CHECKSUM_MISMATCH');
  const codes = await Promise.all(ups.map((u) => codeOf(u.done)));
  t.deepEqual(codes, ['sealed', 'ERR_CHECKSUM_MISMATCH', 'sealed', 'sealed']);
  // Every copy is committed as the round starts (put-object.ts deletes that of an upload that fails).
  t.true(ups.every((u) => u.committed()), 'copies committed while the round replicates');
  t.is(s.sealed.length, 1);
  t.deepEqual(s.sealed[0]!.objects.map((o) => o.objectId), [ups[0]!.id, ups[2]!.id, ups[3]!.id]);
  // The five that signed the longer list were asked to approve the shorter one; the one that refused was not.
  for (const [j, f] of fakes.entries()) t.is(f.requests.filter((q) => q.includes('approve=')).length, j === 2 ? 0 : 1, `secondary ${j}`);
});

test('an object the chain skips (cancelled meanwhile) fails alone with ERR_OBJECT_NOT_FOUND', async (t) => {
  const skip = new Set<bigint>();
  const s = setup(t, { skip });
  const fakes = await secondaries(t, s.hashes);
  const ups = Array.from({ length: 3 }, () => s.upload(fakes));
  skip.add(ups[2]!.id);
  t.deepEqual(await Promise.all(ups.map((u) => codeOf(u.done))), ['sealed', 'sealed', 'ERR_OBJECT_NOT_FOUND']);
});

test('a secondary whose approval does not verify is named, and its round fails', async (t) => {
  const s = setup(t);
  const fakes = await secondaries(t, s.hashes);
  fakes[4]!.mode = 'bad-signature';
  const ups = Array.from({ length: 2 }, () => s.upload(fakes));
  for (const u of ups) await t.throwsAsync(u.done, { message: new RegExp(`secondary ${fakes[4]!.sp.id} returned an approval that does not verify`) });
  t.is(s.sealed.length, 0, 'nothing sealed');
});

test('a full secondary and a frozen one fail the round with their own codes, naming them', async (t) => {
  const s = setup(t, { stallMs: 300 });
  const fakes = await secondaries(t, s.hashes);
  /** With secondary k in `mode`, an upload fails with `code` naming it; k is honest again after. */
  const failsNaming = async (k: number, mode: Fake['mode'], code: ErrorCode): Promise<void> => {
    fakes[k]!.mode = mode;
    const e = await t.throwsAsync(s.upload(fakes).done) as InsituError;
    t.is(e.code, code);
    t.regex(e.message, new RegExp(`secondary ${fakes[k]!.sp.id} `));
    fakes[k]!.mode = 'honest';
  };
  await failsNaming(1, 'disk-full', 'ERR_NODE_DISK_FULL');
  await failsNaming(5, 'frozen', 'ERR_REPLICATION_FAILED');
  // Thawed, the next round goes through.
  t.is(await codeOf(s.upload(fakes).done), 'sealed');
});
