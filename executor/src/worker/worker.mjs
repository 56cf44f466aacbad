// A job worker thread: receives one job at a time, runs it, streams its output back in chunks.
import { parentPort } from 'node:worker_threads';
import { runJob } from './run.mjs';

parentPort.on('message', async (msg) => {
  const stderrTail = [];
  let stderrBytes = 0;
  let result;
  try {
    result = await runJob({
      ...msg,
      onStdout: (bytes) => parentPort.postMessage({ type: 'stdout', bytes }, [bytes.buffer]),
      onStderr: (bytes) => {
        stderrTail.push(bytes);
        stderrBytes += bytes.length;
        while (stderrBytes > 8192 && stderrTail.length > 1) stderrBytes -= stderrTail.shift().length;
      },
    });
  } catch (e) {
    // runJob classifies every way a job can end; reaching here is a fault of the runner itself.
    result = { state: 'failed', code: 'ERR_INTERNAL', message: `the job runner failed: ${String(e?.message ?? e)}`, exitCode: -1, fuelUsed: 0n };
  }
  parentPort.postMessage({ type: 'done', result, stderr: Buffer.concat(stderrTail).toString('utf8').slice(-4096) });
});
