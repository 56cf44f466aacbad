// Scrubbing is paced by entries as well as bytes: a node holding many small pieces checks them
// at a bounded number a second, not as fast as its index answers. A good entry is checked against
// the hashes its commit checked against the chain, without asking the chain for its object; one
// that fails is checked against the chain before it is reported.

import test from 'ava';
import { createHash } from 'node:crypto';
import { hashOfHashes } from '@insitu/protocol';
import { createScrubber, ENTRY_BYTES } from '../src/recovery/scrub.ts';
import { resolveRecoveryOptions } from '../src/recovery/options.ts';
import { createMemoryPieceStore } from '../src/store/memory.ts';
import { createNodeMetrics } from '../src/metrics.ts';
import { silentLogger, type NodeContext } from '../src/context.ts';
import type { RepairQueue } from '../src/recovery/queue.ts';

test('a pass over many small entries takes the time their count asks at the rate, finds the good ones without the chain and the bad one with it', async (t) => {
  const store = createMemoryPieceStore();
  const n = 30;
  const perSecond = 20;
  const piece = Buffer.alloc(100, 5);
  const hash = new Uint8Array(createHash('sha256').update(piece).digest());
  const checksums = [new Uint8Array(32), hashOfHashes([hash])];
  for (let i = 1; i <= n; i++) {
    const w = await store.createWriter({ objectId: BigInt(i), index: 0 });
    // Object 7's bytes rotted after their commit.
    await w.write(i === 7 ? Buffer.alloc(100, 6) : piece);
    await w.commit({ hashes: [hash], sizes: [piece.length] });
  }
  const lookups: bigint[] = [];
  const chain = {
    listGlobalVirtualGroups: async () => [{ id: 1, familyId: 1, primarySpId: 9, secondarySpIds: [2, 3, 4, 5, 6, 7] }],
    objectsInGroup: async (_g: number, o?: { afterId?: bigint }) => ((o?.afterId ?? 0n) > 0n ? [] : Array.from({ length: n }, (_, i) => ({ id: BigInt(i + 1), bucketName: 'b', objectName: `o${i}`, payloadSize: 400n }))),
    headObjectById: async (id: bigint) => {
      lookups.push(id);
      return { id, status: 'sealed', payloadSize: 400n, checksums };
    },
  };
  const ctx = {
    chain, store, logger: silentLogger, spId: 2, uploads: new Set(), metrics: createNodeMetrics(store),
    params: { maxSegmentSize: 16 * 1024 * 1024, dataChunks: 4, parityChunks: 2 },
  } as unknown as NodeContext;
  const opts = resolveRecoveryOptions({ scrubBytesPerSecond: perSecond * ENTRY_BYTES });
  const scrubber = createScrubber({ ctx, opts, signal: new AbortController().signal }, {} as RepairQueue);
  const t0 = performance.now();
  const report = await scrubber.scrubOnce();
  const seconds = (performance.now() - t0) / 1000;
  t.like(report, { checked: n, ok: n - 1, corrupt: 1, missing: 0 });
  t.deepEqual(lookups, [7n], 'only the entry that failed its hashes was looked up on the chain');
  // A second's worth goes at once (the limiter's burst); the rest at the rate.
  t.true(seconds >= (n - perSecond) / perSecond * 0.9, `${n} entries at ${perSecond} a second took ${seconds.toFixed(2)} s`);
});
