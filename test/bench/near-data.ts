// Bytes over the network for a count job over a large object: running it beside the data (job
// request, signed receipt, output) against downloading the object to count locally.

import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createClient } from '@insitu/sdk';
import { createTestnet } from '../src/testnet.ts';
import type { BenchContext } from './index.ts';

export const name = 'near-data';

const MiB = 1024 * 1024;

export async function run(ctx: BenchContext): Promise<void> {
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  try {
    const client = await createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.accounts[0]!.privateKey } });
    await client.buckets.create('bench');
    const line = Buffer.from(`${randomBytes(30).toString('hex')}\n`);
    const data = Buffer.concat(Array.from({ length: Math.ceil((64 * MiB) / line.length) }, () => line)).subarray(0, 64 * MiB);
    await client.objects.put('bench', 'big.txt', data);
    const module = await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));
    await client.jobs.submit({ module, input: 'bench/big.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n } }); // stores the module once
    let t0 = performance.now();
    const run = await client.jobs.submit({ module, input: 'bench/big.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n } });
    const output = await client.jobs.output(run.id);
    const jobMs = performance.now() - t0;
    // What crossed the network for the job: the request body, the receipt answer and the output
    // (headers and the chain transactions are a few KiB more on either side).
    const jobBytes = JSON.stringify({ env: {} }).length + JSON.stringify({ receipt: run.receipt, signature: run.signature }).length + output.length;
    await client.jobs.submit({ module, input: 'bench/big.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n }, parallel: true }); // warm caches
    t0 = performance.now();
    const par = await client.jobs.submit({ module, input: 'bench/big.txt', maxFee: 10n ** 17n, limits: { fuel: 1n << 45n }, parallel: true });
    const parOutput = await client.jobs.output(par.id);
    const parMs = performance.now() - t0;
    const receipts = [...par.maps!, par].map((r) => JSON.stringify({ receipt: r.receipt, signature: r.signature }).length);
    const parBytes = receipts.reduce((a, b) => a + b, 0) + parOutput.length;
    // Between nodes: the maps' framed outputs (partial lines at piece edges and per-piece counts) to the reducer.
    const nodeBytes = par.maps!.reduce((a, m) => a + m.receipt.outputBytes, 0);
    t0 = performance.now();
    let downloaded = 0;
    let lines = 0;
    for await (const chunk of client.objects.get('bench', 'big.txt')) {
      downloaded += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const dlMs = performance.now() - t0;
    ctx.table(`Counting lines of a ${data.length / MiB} MiB object`, [
      { how: 'job beside the data (wc)', 'bytes moved': jobBytes, ms: Math.round(jobMs), result: Buffer.from(output).toString().trim() },
      { how: 'parallel job (4 maps + reduce)', 'bytes moved': parBytes + nodeBytes, ms: Math.round(parMs), result: Buffer.from(parOutput).toString().trim() },
      { how: 'download and count', 'bytes moved': downloaded, ms: Math.round(dlMs), result: `${lines} lines` },
    ]);
    ctx.note(`near-data bytes = ${((jobBytes / downloaded) * 100).toFixed(4)}% of a download; parallel: ${((parBytes + nodeBytes) / downloaded * 100).toFixed(4)}% (${nodeBytes} of them between nodes)`);
    ctx.note(`parallel / single wall time = ${(parMs / jobMs).toFixed(2)} (7 nodes in one process on this machine's cores)`);
  } finally {
    await net.stop();
  }
}
