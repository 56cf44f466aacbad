// The fault suite: the devnet as real processes, and a seeded schedule of kill -9 (of the chain or
// of a node) timed to the windows where it hurts most, while uploads, reads and jobs run:
// - the seal window: a real proxy in front of the chain's RPC (the nodes' only way to the chain)
//   holds the primary's MsgSealObject (or, for a round of small objects, MsgSealObjects) broadcast
//   and kills the chain or the primary right then,
//   before the broadcast reaches the chain or just after it did;
// - the repair window: a piece is corrupted or deleted on a node, and the proxy kills that node
//   when its repair asks the chain for the object's bucket, before anything is rebuilt.
// After each round the uploads that failed are retried with the same bytes (they resume or find
// themselves sealed). After the schedule every object that was acknowledged reads back byte for
// byte, every node holds every piece it should, and the chain's holdings are what genesis created.
// Replay a run with the seed it prints:
//   INSITU_FAULT_SEED=<seed> npx ava test/e2e/faults.test.ts
// And a load run: 100 concurrent uploads and reads, none lost.

import test from 'ava';
import { mkdtemp, rm, open, unlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { getPiece, getPieceHashes } from '@insitu/sdk/sp';
import { hashOfHashes } from '@insitu/protocol';
import { createClient, devnetClientOptions, type InsituClient } from '@insitu/sdk';
import { extensionQuery } from '@insitu/sdk/chain';
import { readKeyFile } from '@insitu/protocol';
import { devnetUp } from '@insitu/cli/devnet';
import { INLINE_BYTES } from '@insitu/storage-node';
import { createTestnet } from '../src/testnet.ts';
import { seeded } from '../src/random.ts';
import { createHttpProxy, type ProxiedRequest } from '../src/proxy.ts';
import { pidOfPeer } from '../src/peer-pid.ts';

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

/** A moment the chain proxy waits for, and what it does then. */
type Trap =
  | { kind: 'seal'; kill: 'chain' | 'primary'; when: 'before' | 'after' }
  | { kind: 'repair'; node: number };

/**
 * Whether a JSON-RPC body asks for a bucket's head: as an abci query of its own, or among the
 * queries of one /insitu.abci.Query/Many (heads asked in the same turn go together, their paths in
 * the query's hex data).
 */
function asksHeadBucket(body: string): boolean {
  const path = '/greenfield.storage.Query/HeadBucket';
  if (body.includes(`"${path}"`)) return true;
  if (!body.includes('/insitu.abci.Query/Many')) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).some((r) => {
    const params = (r as { params?: { path?: string; data?: string } }).params;
    return params?.path === '/insitu.abci.Query/Many' && typeof params.data === 'string' && Buffer.from(params.data, 'hex').toString('utf8').includes(`"${path}"`);
  });
}

test('kill -9 of the chain and of nodes in the seal and repair windows, with corruption and deletion, during uploads, reads and jobs, loses no acknowledged object', async (t) => {
  const { rand, bytes } = seeded((l) => t.log(`${l} — npx ava test/e2e/faults.test.ts`), 'INSITU_FAULT_SEED');
  let dir = await mkdtemp(join(tmpdir(), 'insitu-faults-'));
  const upAt = Date.now();

  // The nodes reach the chain only through this proxy; the chain's port is known once the
  // supervisor has planned the devnet (plan.json, written before anything starts).
  let trap: (Trap & { sprung(what: string): void }) | undefined;
  const pids = (): (number | null)[] => devnet.status().nodes.map((n) => n.pid);
  const askerOf = async (req: ProxiedRequest): Promise<number> => {
    const all = pids();
    const pid = await pidOfPeer(req.remotePort, rpc.port, all.filter((p): p is number => p !== null));
    return pid === undefined ? -1 : all.indexOf(pid);
  };
  const kill = (pid: number | null | undefined): void => {
    if (pid) process.kill(pid, 'SIGKILL');
  };
  const rpc = await createHttpProxy({
    hooks: {
      async request(req) {
        if (!rpc.upstream) rpc.upstream = `http://127.0.0.1:${(JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8')) as { chainPort: number }).chainPort}`;
        const armed = trap;
        if (!armed) return;
        const body = req.body.toString();
        if (armed.kind === 'seal') {
          if (!body.includes('"broadcast_tx')) return;
          const tx = (JSON.parse(body) as { params?: { tx?: string } }).params?.tx;
          const raw = tx ? Buffer.from(tx, 'base64') : undefined;
          if (!raw || !(raw.includes('/greenfield.storage.MsgSealObject') || raw.includes('/insitu.storage.MsgSealObjects'))) return;
          trap = undefined;
          const asker = await askerOf(req);
          if (armed.when === 'after') await rpc.forward(req).catch(() => undefined);
          kill(armed.kill === 'chain' ? devnet.status().chain.pid : pids()[asker]);
          armed.sprung(`kill -9 ${armed.kill === 'chain' ? 'chain' : `node ${asker + 1}`} ${armed.when} node ${asker + 1}'s seal broadcast reached the chain`);
          return 'drop';
        }
        if (!asksHeadBucket(body)) return;
        if ((await askerOf(req)) !== armed.node || trap !== armed) return;
        trap = undefined;
        kill(pids()[armed.node]);
        armed.sprung(`kill -9 node ${armed.node + 1} as its repair began`);
        return 'drop';
      },
    },
  });
  /** Arms a trap; resolves with what it did once it has sprung. */
  const arm = (what: Trap, ms = 120_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        trap = undefined;
        reject(new Error(`the ${what.kind} window was not reached within ${ms / 1000} s`));
      }, ms);
      trap = { ...what, sprung: (s) => {
        clearTimeout(timer);
        resolve(s);
      } };
    });

  const supervisor: string[] = [];
  let passed = false;
  t.teardown(async () => {
    if (!passed && rpc.failures.length > 0) t.log(`chain requests the proxy could not forward:\n${rpc.failures.join('\n')}`);
    await rpc.stop();
    // A failed run keeps its logs.
    if (passed) await rm(dir, { recursive: true, force: true });
    else t.log(`logs kept in ${dir}/logs`);
  });
  const up = () => devnetUp({ dir, nodes: 7, log: (l) => supervisor.push(`${new Date().toISOString()} ${l}`), nodeArgs: ['--rpc', rpc.url, '--scrub-interval-ms', '4000', '--scrub-bytes-per-second', String(512 * 1024 * 1024), '--probe-interval-ms', '0', '--swap-interval-ms', '0'] });
  // On a busy machine a process may take longer to start than the supervisor waits (60 s); a
  // devnet that did not come up is started once more in a fresh dir (the supervisor has stopped
  // what it started). Faults only begin once every process is up.
  const devnet = await up().catch(async (e: unknown) => {
    t.log(`the devnet did not come up (${(e as Error).message}); starting it again\nsupervisor:\n${supervisor.join('\n')}`);
    await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'insitu-faults-'));
    rpc.upstream = undefined;
    supervisor.length = 0;
    return up();
  });
  // Teardowns run last-registered first: the devnet stops before the proxy and the dir go.
  t.teardown(async () => {
    t.log(`supervisor:\n${supervisor.join('\n')}`);
    await devnet.stop();
  });
  t.log(`devnet up in ${Date.now() - upAt} ms`);
  const client = await createClient(await devnetClientOptions(dir));
  const rpcUrl = devnet.file.rpcUrl;
  const holdings = async () => (await extensionQuery(rpcUrl, '/insitu.audit.Query/Holdings', {})).total;
  const genesisTotal = await holdings();
  const primary = rand(7);
  await settled(() => client.buckets.create('faults', { primarySp: devnet.file.nodes[primary]!.operatorAddress }));
  const wc = await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url));
  const acked = new Map<string, Buffer>();
  const log: string[] = [`bucket faults on node ${primary + 1}`];
  let uploadsTried = 0;
  let retried = 0;
  const failures: string[] = [];

  const allUp = async (): Promise<void> => {
    await settled(async () => {
      const s = devnet.status();
      if (!s.chain.running || s.nodes.some((n) => !n.running)) throw new Error('restarting');
      await client.chain.status();
    }, 90_000);
  };
  const nodeOfEndpoint = (endpoint: string): number => devnet.file.nodes.findIndex((n) => new URL(n.endpoint).port === new URL(endpoint).port);

  const began = Date.now();
  const ROUNDS = 4;
  for (let round = 0; round < ROUNDS; round++) {
    const roundStart = Date.now();
    // Every window is visited, each once: the seal window on even rounds (chain, then primary),
    // the repair window on odd ones (corruption, then deletion); the seed picks the rest.
    const fault = (['seal-chain', 'repair-corrupt', 'seal-primary', 'repair-delete'] as const)[round % 4]!;
    const sprung = fault === 'seal-chain' || fault === 'seal-primary'
      ? arm({ kind: 'seal', kill: fault === 'seal-chain' ? 'chain' : 'primary', when: rand(2) === 0 ? 'before' : 'after' })
      : undefined;
    const work: Promise<unknown>[] = [];
    const failed = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) {
      const name = `r${round}-o${i}`;
      const data = bytes(1 + rand(3 * 1024 * 1024) + (rand(4) === 0 ? 17 * 1024 * 1024 : 0));
      uploadsTried++;
      work.push(client.objects.put('faults', name, data).then(() => acked.set(name, data), (e: Error) => {
        failed.set(name, data);
        failures.push(`${name}: ${(e as { code?: string }).code ?? ''} ${e.message}`);
      }));
    }
    for (const [name, data] of [...acked.entries()].slice(-3)) {
      work.push(read(client, 'faults', name).then((got) => {
        if (!got.equals(data)) throw new Error(`round ${round}: ${name} read back different bytes`);
      }, () => undefined));
    }
    if (acked.size > 0) work.push(client.jobs.submit({ module: wc, input: `faults/${[...acked.keys()][0]}`, maxFee: 10n ** 16n }).catch(() => undefined));
    if (sprung) log.push(`round ${round}: ${await sprung}`);
    await Promise.all(work);
    if (!sprung) {
      // A piece of an acknowledged object on one of its nodes, then the node's repair is the window.
      // Entries up to INLINE_BYTES are kept in a node's index, not in a file of their own: the
      // object is one whose every piece is a file to corrupt or delete.
      const names = [...acked.keys()].filter((n) => acked.get(n)!.length > 4 * INLINE_BYTES);
      const name = names[rand(names.length)]!;
      const head = await settled(() => client.objects.head('faults', name));
      const p = head.placement[rand(head.placement.length)]!;
      const node = nodeOfEndpoint(p.endpoint);
      const file = join(dir, `node-${node + 1}`, 'pieces', `${head.id}.${p.index < 0 ? 'p' : p.index}`);
      // Armed once the piece is bad, so only the repair it causes springs it.
      let repairing: Promise<string>;
      if (fault === 'repair-corrupt') {
        const fh = await open(file, 'r+');
        const size = (await fh.stat()).size;
        const at = rand(Math.max(1, size - 32));
        const old = Buffer.alloc(32);
        await fh.read(old, 0, 32, at);
        // Every byte changes: the corruption is never a no-op.
        await fh.write(old.map((b) => b ^ (1 + rand(255))), 0, 32, at);
        await fh.close();
        repairing = arm({ kind: 'repair', node });
        log.push(`round ${round}: corrupt ${name} index ${p.index} on node ${node + 1}`);
      } else {
        await unlink(file);
        // The node reads through an open handle until it restarts; restart it so the loss is real.
        kill(devnet.status().nodes[node]!.pid);
        repairing = arm({ kind: 'repair', node });
        log.push(`round ${round}: delete ${name} index ${p.index} on node ${node + 1} and kill -9 it`);
      }
      log.push(`round ${round}: ${await repairing}`);
    }
    const workDone = Date.now();
    await allUp();
    // Everything resumes after the restarts: the failed uploads go through with the same bytes
    // (resumed, or found sealed), and a new upload goes through.
    for (const [name, data] of failed) {
      await settled(() => client.objects.put('faults', name, data));
      acked.set(name, data);
      retried++;
    }
    const after = bytes(rand(1024 * 1024) + 1);
    await settled(() => client.objects.put('faults', `r${round}-after`, after, { replaceStale: true }));
    acked.set(`r${round}-after`, after);
    log.push(`  round ${round}: ${failed.size} uploads failed and were retried; work ${workDone - roundStart} ms, back up ${Date.now() - workDone} ms`);
  }
  const readStart = Date.now();
  t.log(log.join('\n'));
  t.log(`${uploadsTried} uploads, ${retried} retried after failing, all ${acked.size} acknowledged; failures: ${failures.join('\n')}`);
  t.true(retried > 0, 'the kills in the seal window made some uploads fail, and their retries went through');
  // Every acknowledged object reads back byte for byte.
  for (const [name, data] of acked) {
    const got = await settled(() => read(client, 'faults', name));
    t.true(got.equals(data), `${name} (${data.length} bytes)`);
  }
  t.log(`read back ${acked.size} objects in ${Date.now() - readStart} ms`);
  const checkStart = Date.now();
  // Scrubbing (every 4 s here) has rebuilt whatever was corrupted or deleted: every node serves
  // every piece and copy it should hold, each checked against its hash by the node and by us.
  const key = await readKeyFile(join(dir, 'account.key'));
  // What has been verified is not fetched again while the rest is still being rebuilt.
  const verified = new Set<string>();
  await settled(async () => {
    for (const name of acked.keys()) {
      const head = await client.objects.head('faults', name);
      const segments = Math.ceil(Number(head.payloadSize) / (16 * 1024 * 1024));
      for (const p of head.placement) {
        const at = `${name}/${p.index}`;
        if (verified.has(at)) continue;
        const hashes = await getPieceHashes({ endpoint: p.endpoint, objectId: head.id, index: p.index, privateKey: key });
        if (!Buffer.from(hashOfHashes(hashes)).equals(Buffer.from(head.checksums[p.index + 1]!))) throw new Error(`${name}: the hash list of index ${p.index} on ${p.spId} is not the chain's`);
        for (let s = 0; s < segments; s++) {
          const piece = await getPiece({ endpoint: p.endpoint, objectId: head.id, index: p.index, segment: s, privateKey: key });
          if (!createHash('sha256').update(piece).digest().equals(Buffer.from(hashes[s]!))) throw new Error(`${name}: piece ${p.index} segment ${s} on ${p.spId}`);
        }
        verified.add(at);
      }
    }
  }, 90_000);
  t.log(`checked every piece on every node in ${Date.now() - checkStart} ms; ${Date.now() - began} ms in all`);
  t.is(await holdings(), genesisTotal, 'the chain holds exactly what genesis created');
  passed = true;
});

test('load: 100 concurrent uploads and reads, none lost', async (t) => {
  const { bytes } = seeded((l) => t.log(l));
  const net = await createTestnet({ nodes: 7, accounts: 4 });
  t.teardown(() => net.stop());
  const clients = await Promise.all([0, 1, 2, 3].map((i) => net.client(i)));
  // Buckets on four primaries, so seals go out from four providers at once.
  for (const [i, c] of clients.entries()) await c.buckets.create(`load-${i}`, { primarySp: net.plan.nodes[i]!.operatorAddress });
  const objects = Array.from({ length: 100 }, (_, i) => ({ c: clients[i % 4]!, bucket: `load-${i % 4}`, name: `o${i}`, data: bytes(1 + ((i * 7919) % (256 * 1024))) }));
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
