// The fault suite: the devnet as real processes, and a seeded random schedule of kill -9 (of any
// node or of the chain), restarts, and piece corruption and deletion on disk, while uploads,
// reads and jobs run. After the schedule every object that was acknowledged reads back byte for
// byte and the chain's holdings are what genesis created. Replay a run with the seed it prints:
//   INSITU_FAULT_SEED=<seed> npx ava test/e2e/faults.test.ts
// And a load run: 100 concurrent uploads and reads, none lost.

import test from 'ava';
import { mkdtemp, readdir, rm, open, unlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { getPiece, getPieceHashes } from '@insitu/sdk/sp/index.ts';
import { createClient, devnetClientOptions, type InsituClient } from '@insitu/sdk';
import { extensionQuery } from '@insitu/sdk/chain/rpc.ts';
import { readKeyFile } from '@insitu/sdk/keyfile.ts';
import { devnetUp } from '@insitu/cli/devnet/supervisor.ts';
import { createTestnet } from '../src/testnet.ts';
import { rng } from '../src/random.ts';

const read = async (c: InsituClient, bucket: string, name: string): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  for await (const chunk of c.objects.get(bucket, name)) parts.push(chunk);
  return Buffer.concat(parts);
};

/** Retries while processes restart: a transient failure is not a lost object. */
async function settled<T>(fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

test('random kills, restarts, corruption and deletion during uploads, reads and jobs lose no acknowledged object', async (t) => {
  const seed = Number(process.env.INSITU_FAULT_SEED ?? (Date.now() % 1_000_000_007));
  t.log(`seed ${seed} — replay with INSITU_FAULT_SEED=${seed} npx ava test/e2e/faults.test.ts`);
  const rand = rng(seed);
  const dir = await mkdtemp(join(tmpdir(), 'insitu-faults-'));
  const upAt = Date.now();
  const devnet = await devnetUp({ dir, nodes: 7, nodeArgs: ['--scrub-interval-ms', '1500', '--scrub-bytes-per-second', String(512 * 1024 * 1024), '--probe-interval-ms', '0', '--swap-interval-ms', '0'] });
  t.teardown(async () => {
    await devnet.stop();
    await rm(dir, { recursive: true, force: true });
  });
  t.log(`devnet up in ${Date.now() - upAt} ms`);
  const client = await createClient(await devnetClientOptions(dir));
  const rpcUrl = devnet.file.rpcUrl;
  const holdings = async () => (await extensionQuery<{ total: bigint }>(rpcUrl, '/insitu.audit.Query/Holdings', {})).total;
  const genesisTotal = await holdings();
  await settled(() => client.buckets.create('faults'));
  const wc = await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));
  const acked = new Map<string, Buffer>();
  const log: string[] = [];
  let uploadsTried = 0;
  const failures: string[] = [];

  const allUp = async (): Promise<void> => {
    await settled(async () => {
      const s = devnet.status();
      if (!s.chain.running || s.nodes.some((n) => !n.running)) throw new Error('restarting');
      await client.chain.status();
    }, 90_000);
  };
  const pieceFiles = async (node: number): Promise<string[]> => {
    try {
      return (await readdir(join(dir, `node-${node + 1}`, 'pieces'))).map((f) => join(dir, `node-${node + 1}`, 'pieces', f));
    } catch {
      return [];
    }
  };

  const began = Date.now();
  for (let round = 0; round < 5; round++) {
    const roundStart = Date.now();
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const name = `r${round}-o${i}`;
      const data = randomBytes(rand(3 * 1024 * 1024) + rand(2) * 17 * 1024 * 1024);
      uploadsTried++;
      work.push(client.objects.put('faults', name, data).then(() => acked.set(name, data), (e: Error) => failures.push(`${name}: ${e.message}`)));
    }
    for (const [name, data] of [...acked.entries()].slice(-3)) {
      work.push(read(client, 'faults', name).then((got) => {
        if (!got.equals(data)) throw new Error(`round ${round}: ${name} read back different bytes`);
      }, () => undefined));
    }
    if (acked.size > 0) work.push(client.jobs.submit({ module: wc, input: `faults/${[...acked.keys()][0]}`, maxFee: 10n ** 16n }).catch(() => undefined));
    await new Promise((r) => setTimeout(r, rand(600)));
    const fault = rand(4);
    const node = rand(7);
    if (fault === 0) {
      const pid = devnet.status().nodes[node]!.pid;
      if (pid) process.kill(pid, 'SIGKILL');
      log.push(`round ${round}: kill -9 node ${node + 1}`);
    } else if (fault === 1) {
      const pid = devnet.status().chain.pid;
      if (pid) process.kill(pid, 'SIGKILL');
      log.push(`round ${round}: kill -9 chain`);
    } else {
      const files = await pieceFiles(node);
      const file = files[rand(Math.max(1, files.length))];
      if (file && fault === 2) {
        const fh = await open(file, 'r+');
        const size = (await fh.stat()).size;
        if (size > 0) await fh.write(randomBytes(32), 0, 32, rand(Math.max(1, size - 32)));
        await fh.close();
        log.push(`round ${round}: corrupt ${file.slice(dir.length)}`);
      } else if (file) {
        await unlink(file).catch(() => undefined);
        // The node reads through an open handle until it restarts; restart it so the loss is real.
        const pid = devnet.status().nodes[node]!.pid;
        if (pid) process.kill(pid, 'SIGKILL');
        log.push(`round ${round}: delete ${file.slice(dir.length)} and kill -9 node ${node + 1}`);
      }
    }
    await Promise.all(work);
    const workDone = Date.now();
    await allUp();
    // Everything resumes after the restarts: a new upload goes through.
    const after = randomBytes(rand(1024 * 1024) + 1);
    await settled(() => client.objects.put('faults', `r${round}-after`, after, { replaceStale: true }));
    acked.set(`r${round}-after`, after);
    log.push(`  round ${round}: work ${workDone - roundStart} ms, back up ${Date.now() - workDone} ms`);
  }
  const readStart = Date.now();
  t.log(log.join('\n'));
  t.log(`${acked.size} of ${uploadsTried} uploads acknowledged; failed: ${failures.join('\n')}`);
  t.true(acked.size > 0, 'some uploads were acknowledged');
  // Every acknowledged object reads back byte for byte.
  for (const [name, data] of acked) {
    const got = await settled(() => read(client, 'faults', name));
    t.true(got.equals(data), `${name} (${data.length} bytes)`);
  }
  // Scrubbing (every 1.5 s here) has rebuilt whatever was corrupted or deleted: every node serves
  // every piece and copy it should hold, each checked against its hash by the node and by us.
  const key = await readKeyFile(join(dir, 'account.key'));
  await settled(async () => {
    for (const name of acked.keys()) {
      const head = await client.objects.head('faults', name);
      const segments = Math.ceil(Number(head.payloadSize) / (16 * 1024 * 1024));
      for (const p of head.placement) {
        const hashes = await getPieceHashes({ endpoint: p.endpoint, objectId: head.id, index: p.index, privateKey: key });
        for (let s = 0; s < segments; s++) {
          const piece = await getPiece({ endpoint: p.endpoint, objectId: head.id, index: p.index, segment: s, privateKey: key });
          if (!createHash('sha256').update(piece).digest().equals(Buffer.from(hashes[s]!))) throw new Error(`${name}: piece ${p.index} segment ${s} on ${p.spId}`);
        }
      }
    }
  }, 60_000);
  t.log(`read back ${acked.size} objects in ${Date.now() - readStart} ms; ${Date.now() - began} ms in all`);
  t.is(await holdings(), genesisTotal, 'the chain holds exactly what genesis created');
});

test('load: 100 concurrent uploads and reads, none lost', async (t) => {
  const net = await createTestnet({ nodes: 7, accounts: 4 });
  t.teardown(() => net.stop());
  const clients = await Promise.all([0, 1, 2, 3].map((i) => net.client(i)));
  // Buckets on four primaries, so seals go out from four providers at once.
  for (const [i, c] of clients.entries()) await c.buckets.create(`load-${i}`, { primarySp: net.plan.nodes[i]!.operatorAddress });
  const objects = Array.from({ length: 100 }, (_, i) => ({ c: clients[i % 4]!, bucket: `load-${i % 4}`, name: `o${i}`, data: randomBytes(1 + ((i * 7919) % (256 * 1024))) }));
  const t0 = performance.now();
  await Promise.all(objects.map((o) => o.c.objects.put(o.bucket, o.name, o.data)));
  const up = performance.now() - t0;
  const t1 = performance.now();
  const back = await Promise.all(objects.map((o) => read(o.c, o.bucket, o.name)));
  const down = performance.now() - t1;
  let lost = 0;
  for (const [i, o] of objects.entries()) if (!back[i]!.equals(o.data)) lost++;
  t.is(lost, 0);
  t.log(`100 uploads in ${Math.round(up)} ms, 100 reads in ${Math.round(down)} ms, ${lost} lost`);
});
