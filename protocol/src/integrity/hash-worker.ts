// A second thread for the checksum pass: SHA-256 of ranges of a segment held in shared memory,
// so an upload's checksums take both cores while nothing else can start (the object must be on
// chain, with its checksums, before its first byte is sent). The worker only reads the bytes in
// place; nothing is copied between threads but the 32-byte hashes.

import { Worker } from 'node:worker_threads';
import { InsituError } from '../errors.ts';

// Plain JavaScript run with eval: a worker is not reached by a TypeScript loader, and this way
// the built package needs no extra file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, offset, head, length, ranges }) => {
  try {
    const bytes = new Uint8Array(buffer, offset, length);
    const h = createHash('sha256').update(bytes.subarray(0, head));
    const first = h.copy().digest();
    const whole = h.update(bytes.subarray(head)).digest();
    const more = ranges.map(([s, e]) => createHash('sha256').update(bytes.subarray(s, e)).digest());
    parentPort.postMessage({ id, first, whole, more });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

export interface SegmentHashes {
  /** SHA-256 of bytes [0, head). */
  first: Uint8Array;
  /** SHA-256 of the whole segment. */
  whole: Uint8Array;
  /** SHA-256 of each extra range, in order. */
  more: Uint8Array[];
}

export interface SegmentHasher {
  /** Hashes a segment held in a SharedArrayBuffer on the other thread. */
  hash(segment: Uint8Array, head: number, ranges: [number, number][]): Promise<SegmentHashes>;
  close(): Promise<void>;
}

export const isShared = (bytes: Uint8Array): boolean =>
  typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;

export function createSegmentHasher(): SegmentHasher {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  const pending = new Map<number, { resolve: (h: SegmentHashes) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | undefined;
  const failAll = (e: Error): void => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  worker.on('message', (m: { id: number; error?: string } & Partial<SegmentHashes>) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!p) return;
    if (m.error !== undefined) p.reject(new InsituError('ERR_INTERNAL', `hashing thread: ${m.error}`));
    else p.resolve({ first: new Uint8Array(m.first!), whole: new Uint8Array(m.whole!), more: m.more!.map((x) => new Uint8Array(x)) });
  });
  worker.on('error', (e) => failAll(new InsituError('ERR_INTERNAL', `hashing thread failed: ${e.message}`, { cause: e })));
  worker.on('exit', () => failAll(new InsituError('ERR_INTERNAL', 'hashing thread exited')));
  return {
    hash(segment, head, ranges) {
      if (failure) return Promise.reject(failure);
      if (!isShared(segment)) throw new TypeError('the segment must be held in a SharedArrayBuffer');
      const id = next++;
      return new Promise<SegmentHashes>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, buffer: segment.buffer, offset: segment.byteOffset, head, length: segment.length, ranges });
      });
    },
    async close() {
      failure ??= new InsituError('ERR_INTERNAL', 'hashing thread closed');
      await worker.terminate();
    },
  };
}
