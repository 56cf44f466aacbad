// A job worker thread: receives one job at a time, runs it, streams its output back in chunks.
import { parentPort } from 'node:worker_threads';
import { runJob } from './run.mjs';

/** This script runs only as a worker thread, so there is always a parent port. */
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

const TAIL = 8192;

port.on('message', async (msg) => {
  // The last TAIL bytes of stderr in a ring: constant work per write, however small the writes.
  const ring = new Uint8Array(TAIL);
  let total = 0;
  let result;
  try {
    result = await runJob({
      ...msg,
      onStdout: (bytes) => port.postMessage({ type: 'stdout', bytes }, [/** @type {ArrayBuffer} */ (bytes.buffer)]),
      onStderr: (bytes) => {
        const tail = bytes.length > TAIL ? bytes.subarray(bytes.length - TAIL) : bytes;
        for (let i = 0; i < tail.length; i++) ring[(total + i) % TAIL] = /** @type {number} */ (tail[i]);
        total += tail.length;
      },
    });
  } catch (/** @type {any} */ e) {
    // runJob classifies every way a job can end; reaching here is a fault of the runner itself.
    result = { state: 'failed', code: 'ERR_INTERNAL', message: `the job runner failed: ${String(e?.message ?? e)}`, exitCode: -1, fuelUsed: 0n };
  }
  const start = total > TAIL ? total % TAIL : 0;
  const tail = total > TAIL ? Buffer.concat([ring.subarray(start), ring.subarray(0, start)]) : Buffer.from(ring.subarray(0, total));
  port.postMessage({ type: 'done', result, stderr: tail.toString('utf8').slice(-4096) });
});
