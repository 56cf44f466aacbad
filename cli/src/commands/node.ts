// Operators' commands: `insitu node start` runs one storage node on its own (outside the devnet),
// registering it as a provider first if it is new (with its deposit) and waiting for the admin's
// admission; `insitu node admit` is the admin's side; `insitu node status` reports on a running node.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError } from '@insitu/protocol';
import { createChainClient, createChainReader } from '@insitu/sdk/chain';
import { readKeyFile, writeKeyFile } from '@insitu/protocol';
import { fromHex, privateKeyToAddress, toHex } from '@insitu/protocol';
import { generateBlsKey, blsPublicKey, blsProofOfPossession } from '@insitu/protocol';
import { spDispatcher } from '@insitu/sdk/sp';
import { jsonLogger } from '@insitu/protocol';
import { createStorageNode } from '@insitu/storage-node';
import { namedKey, readDevnet, resolveNetwork } from '../config.ts';
import { devnetDir as sdkDevnetDir } from '@insitu/sdk';
import { formatBytes } from '../io.ts';
import { holdingsLine, recoveryFlags, recoveryOptions, scrubLine } from '../devnet/recovery-flags.ts';
import type { RecoveryStatus } from '@insitu/storage-node';

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InsituError('ERR_INVALID_ARGUMENT', `${name} must be a non-negative number, not "${v}"`);
  return n;
};

async function fetchJson(url: URL): Promise<{ status: number; body: Record<string, unknown> | null; text: string }> {
  try {
    const res = await request(url, { dispatcher: spDispatcher, signal: AbortSignal.timeout(5000) });
    const text = await res.body.text();
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = null;
    }
    return { status: res.statusCode, body, text };
  } catch (e) {
    return { status: 0, body: null, text: (e as Error).message };
  }
}

export function nodeCommand({ io, globals, out }: CommandContext): Command {
  const node = new Command('node').description('run and watch a storage node');

  recoveryFlags(node.command('start')).description('run one storage node on its own (--dir is its data directory); registers it as a provider if it is new')
    .option('--chain <url>', 'the chain\'s RPC URL (default: the devnet\'s, from devnet.json in $INSITU_HOME or ./.insitu)')
    .requiredOption('--port <n>', 'port to serve on')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--endpoint <url>', 'the URL other nodes and clients reach it at (default http://sp-<address>.localhost:<port>)')
    .option('--moniker <name>', 'name shown for the provider')
    .option('--store-price <n>', 'storage price to register', '1000')
    .option('--read-price <n>', 'read price to register', '10')
    .option('--compute-price <n>', 'compute price (per unit of fuel) to register', '1000')
    .option('--deposit <n>', 'deposit to register with (default: the chain\'s minimum deposit)')
    .option('--jobs <n>', 'job worker threads', '2')
    .action(async (o: Record<string, string>) => {
      const g = globals();
      // Bad recovery flags are refused before anything is registered or written.
      const recovery = recoveryOptions(o);
      const dir = resolve(io.cwd, g.dir ?? 'insitu-node');
      await mkdir(dir, { recursive: true });
      const port = num(o.port, '--port')!;
      // The operator's key comes from the global --key (file or name) or $INSITU_KEY, like every command's.
      const keyFile = namedKey(g, io.env, io.cwd);
      if (!keyFile) throw new InsituError('ERR_CONFIG', 'no operator key: pass --key <file or name> (insitu key new <name> makes one) or set INSITU_KEY');
      const operatorKey = await readKeyFile(keyFile);
      // --dir is the node's data directory here, so the devnet is looked up in $INSITU_HOME or ./.insitu.
      if (o.chain === undefined) {
        const devnet = await readDevnet(sdkDevnetDir({ env: io.env, cwd: io.cwd }));
        if (!devnet) throw new InsituError('ERR_CONFIG', `no chain: pass --chain <url>, or run a devnet (no devnet.json in ${sdkDevnetDir({ env: io.env, cwd: io.cwd })})`);
        o.chain = devnet.rpcUrl;
        g.chainId ??= devnet.chainId;
      }
      const address = privateKeyToAddress(operatorKey);
      const blsFile = join(dir, 'bls.key');
      if (!existsSync(blsFile)) await writeKeyFile(blsFile, toHex(generateBlsKey()));
      const blsKey = fromHex((await readFile(blsFile, 'utf8')).trim());
      const reader = await createChainReader({ rpcUrl: o.chain!, chainId: g.chainId ?? 'insitu_9000-1' });
      const chainId = g.chainId ?? (await reader.status()).chainId;
      const chain = await createChainClient({ rpcUrl: o.chain!, chainId, privateKey: operatorKey });
      const providers = await chain.listStorageProviders();
      let me = providers.find((p) => p.operatorAddress.toLowerCase() === address.toLowerCase());
      const say = (line: string): void => void io.stderr.write(`${line}\n`);
      if (!me) {
        // Becoming a provider takes a deposit of at least the chain's minimum (held, slashable, and
        // locked for the unbonding period after leaving) and the admin/governance account's admission.
        const stake = await chain.stakeParams();
        const minDeposit = BigInt(String(stake.params.minDeposit));
        const deposit = o.deposit !== undefined ? BigInt(o.deposit) : minDeposit;
        const balance = (await chain.getAccount(address).catch(() => ({ balance: 0n }))).balance;
        const fees = 10n ** 16n;
        if (deposit < minDeposit) throw new InsituError('ERR_INVALID_ARGUMENT', `--deposit ${deposit} is below the chain's minimum deposit of ${minDeposit} base units`);
        if (balance < deposit + fees) {
          throw new InsituError('ERR_INSUFFICIENT_BALANCE', [
            `a new provider deposits at least ${minDeposit} base units (held while it serves, slashed if it fails storage challenges, returned ${Number(stake.params.unbondingPeriodMs) / 3_600_000} h after it leaves)`,
            `and pays transaction fees: ${address} holds ${balance}, needs about ${deposit + fees}.`,
            `Fund it (insitu send ${address} ${deposit + fees}wei from a funded account, or on a devnet: insitu devnet faucet ${address}), start again, then ask the admin account ${stake.admin} to admit it (insitu node admit <id>).`,
          ].join(' '));
        }
        const endpoint = o.endpoint ?? `http://sp-${address.slice(2, 10).toLowerCase()}.localhost:${port}`;
        ({ provider: me } = await chain.registerProvider({
          fundingAddress: address, sealAddress: address, approvalAddress: address, gcAddress: address,
          blsKey: blsPublicKey(blsKey), blsProof: blsProofOfPossession(blsKey), endpoint, moniker: o.moniker ?? `sp-${address.slice(2, 10)}`,
          storePrice: BigInt(o.storePrice!), readPrice: BigInt(o.readPrice!), computePrice: BigInt(o.computePrice!), deposit,
        }));
        say(`registered as storage provider ${me.id} at ${endpoint} with a deposit of ${deposit}`);
      }
      if (me.admitted === false) {
        const stake = await chain.stakeParams();
        say(`waiting for admission: the admin account ${stake.admin} admits provider ${me.id} with: insitu node admit ${me.id}`);
        while (me.admitted === false) {
          await new Promise((r) => setTimeout(r, 1000));
          me = await chain.getStorageProvider(me.id);
        }
        say(`provider ${me.id} admitted`);
      }
      if ((await chain.listGlobalVirtualGroups(me.id)).every((x) => x.primarySpId !== me!.id)) {
        // A primary needs a group: the six in-service providers with the lowest ids hold its pieces.
        const others = (await chain.listStorageProviders()).filter((p) => p.status === 'in-service' && p.admitted !== false && p.id !== me!.id).map((p) => p.id).sort((a, b) => a - b).slice(0, 6);
        if (others.length === 6) {
          await chain.createGlobalVirtualGroup({ secondarySpIds: others });
          say(`created a group with secondaries ${others.join(', ')}`);
        }
      }
      const n = createStorageNode({
        dataDir: dir, rpcUrl: o.chain!, chainId, operatorKey, blsKey, host: o.host!, port,
        jobWorkers: num(o.jobs, '--jobs')!, recovery,
        logger: jsonLogger('storage-node', (line) => void io.stderr.write(line)),
      });
      await n.start();
      out().result({ event: 'ready', spId: n.spId, endpoint: n.endpoint, address, dir }, `storage node ${n.spId} serving at ${n.endpoint} (data in ${dir}); Ctrl-C stops it`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void n.stop().then(done, done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  node.command('admit').description('admit a registered provider (the admin/governance account named in genesis only): it enters service')
    .argument('<sp>', 'the provider id')
    .action(async (sp: string) => {
      if (!/^\d+$/.test(sp)) throw new InsituError('ERR_INVALID_ARGUMENT', `the provider id must be a number, not "${sp}"`);
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const chain = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: net.privateKey! });
      const tx = await chain.admitProvider(Number(sp));
      out().result({ ...tx, spId: Number(sp) }, `provider ${sp} admitted: it is in service`);
    });

  node.command('challenge').description('ask the chain to challenge a provider over an object it holds (Greenfield\'s MsgSubmit; costs the challenge fee, returned with a share of the slash if the provider fails)')
    .argument('<bucket>').argument('<object>')
    .requiredOption('--sp <id>', 'the provider to challenge')
    .option('--segment <n>', 'the segment to check (default: one the chain draws)')
    .option('--wait', 'wait until the challengers have decided')
    .action(async (bucket: string, object: string, o: { sp: string; segment?: string; wait?: boolean }) => {
      if (!/^\d+$/.test(o.sp)) throw new InsituError('ERR_INVALID_ARGUMENT', `--sp must be a provider id, not "${o.sp}"`);
      if (o.segment !== undefined && !/^\d+$/.test(o.segment)) throw new InsituError('ERR_INVALID_ARGUMENT', `--segment must be a segment number, not "${o.segment}"`);
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const chain = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: net.privateKey! });
      const sp = await chain.getStorageProvider(Number(o.sp));
      const tx = await chain.submitChallenge({ provider: sp.operatorAddress, bucket, object, ...(o.segment !== undefined ? { segment: Number(o.segment) } : {}) });
      let c = await chain.challenge(tx.challengeId);
      const deadline = Date.now() + 10 * 60_000;
      while (o.wait && c.status === 'open' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        c = await chain.challenge(tx.challengeId);
      }
      out().result({ ...tx, challenge: { ...c, objectId: c.objectId.toString(), slashed: c.slashed.toString() } },
        `challenge ${c.id} of provider ${c.spId} over ${bucket}/${object} (piece ${c.redundancyIndex}, segment ${c.segment}), checked by providers ${c.challengers.join(', ')}: ${c.status}${c.status === 'failed' ? `, ${c.slashed} slashed` : ''}`);
    });

  node.command('exit').description('leave the network: the provider goes into graceful exit and successors take over its places; --complete then finishes leaving and starts the deposit\'s unbonding')
    .option('--complete', 'finish leaving once successors hold every place it had (its deposit is released after the unbonding period)')
    .action(async (o: { complete?: boolean }) => {
      // Signed by the operator's key: the global --key (file or name) or $INSITU_KEY.
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const chain = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: net.privateKey! });
      if (o.complete) {
        const tx = await chain.completeProviderExit();
        const stake = await chain.stakeParams();
        const hours = Number(stake.params.unbondingPeriodMs) / 3_600_000;
        out().result({ ...tx, unbondingHours: hours }, `provider ${chain.address} has left; its deposit returns to its funding address in ${hours} h (slashable until then)`);
        return;
      }
      const tx = await chain.storageProviderExit();
      out().result(tx, `provider ${chain.address} is exiting; its nodes' peers will rebuild its places and take them over; then run insitu node exit --complete`);
    });

  node.command('settle').description('pay a provider\'s storage income (its family\'s and its groups\' earnings) to the providers\' funding addresses; anyone may send it')
    .option('--sp <id>', 'the provider to settle for (default: the one --key operates)')
    .action(async (o: { sp?: string }) => {
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const privateKey = net.privateKey!;
      const chain = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey });
      if (o.sp !== undefined && !/^\d+$/.test(o.sp)) throw new InsituError('ERR_INVALID_ARGUMENT', `--sp must be a provider id, not "${o.sp}"`);
      const sp = await chain.getStorageProvider(o.sp !== undefined ? Number(o.sp) : chain.address);
      const income = await chain.providerIncome(sp.id);
      const tx = await chain.settleIncome({ familyId: income.familyId, gvgIds: income.gvgIds });
      out().result({ ...tx, spId: sp.id, unsettledBefore: income.unsettled, fundingAddress: sp.fundingAddress, family: income.familyId, groups: income.gvgIds },
        `settled the storage income of provider ${sp.id} (family ${income.familyId}, groups ${income.gvgIds.join(', ') || 'none'}) into the providers' funding addresses; ${income.unsettled} base units were waiting for ${sp.fundingAddress}`);
    });

  node.command('status').description('what a node holds and has done: pieces, bytes, repairs, jobs, earnings')
    .option('--endpoint <url>', 'the node\'s URL')
    .option('--sp <id>', 'the provider id (its endpoint is read from the chain)')
    .action(async (o: { endpoint?: string; sp?: string }) => {
      const net = await resolveNetwork(globals(), io.env, io.cwd, false);
      const reader = await createChainReader({ rpcUrl: net.rpcUrl, chainId: net.chainId });
      const providers = await reader.listStorageProviders();
      const sp = o.sp ? providers.find((p) => p.id === Number(o.sp)) : providers.find((p) => o.endpoint && new URL(p.endpoint).host === new URL(o.endpoint).host);
      if (!sp && !o.endpoint) throw new InsituError('ERR_INVALID_ARGUMENT', 'name the node with --endpoint <url> or --sp <id>');
      const endpoint = o.endpoint ?? sp!.endpoint;
      const [health, ready, status, metrics] = await Promise.all([
        fetchJson(new URL('/healthz', endpoint)), fetchJson(new URL('/readyz', endpoint)), fetchJson(new URL('/status', endpoint)),
        request(new URL('/metrics', endpoint), { dispatcher: spDispatcher, signal: AbortSignal.timeout(5000) }).then((r) => r.body.text(), () => ''),
      ]);
      const metric = (name: string): number => metrics.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      // The chain keeps per-provider job counters: no walk over every job.
      const stats = sp ? (await reader.computeStats()).find((s) => s.spId === sp.id) : undefined;
      const earned = stats?.earned ?? 0n;
      const funding = sp ? (await reader.getAccount(sp.fundingAddress)).balance : null;
      const income = sp ? await reader.providerIncome(sp.id) : null;
      const rec = (status.body?.recovery ?? {}) as { repairsOk?: number; repairsFailed?: number; heals?: unknown[]; inProgress?: unknown[] } & Pick<Partial<RecoveryStatus>, 'holdings' | 'scrub' | 'queueLength'>;
      const report = {
        spId: sp?.id ?? status.body?.spId ?? null, endpoint, chainStatus: sp?.status ?? null,
        deposit: sp?.deposit?.toString() ?? null, admitted: sp?.admitted ?? null,
        healthy: health.status === 200, ready: ready.status === 200, readiness: ready.body?.checks ?? null,
        objects: status.body?.objects ?? null, pieces: status.body?.pieces ?? null, bytes: metric('insitu_bytes_held'),
        repairs: { ok: rec.repairsOk ?? 0, failed: rec.repairsFailed ?? 0, inProgress: rec.inProgress?.length ?? 0, queued: rec.queueLength ?? 0, swapIns: rec.heals?.length ?? 0 },
        holdings: rec.holdings ?? null, scrub: rec.scrub ?? null,
        jobsRun: stats?.settled ?? 0, computeEarnings: earned.toString(), fundingBalance: funding?.toString() ?? null,
        storageIncome: income ? { unsettled: income.unsettled.toString(), perSecond: income.ratePerSecond.toString() } : null,
      };
      out().result(report, [
        `provider ${report.spId ?? '?'} at ${endpoint}: ${report.healthy ? 'up' : 'DOWN'}, ${report.ready ? 'ready' : 'not ready'}${report.chainStatus ? `, ${report.chainStatus} on chain` : ''}`,
        ...(report.readiness ? Object.entries(report.readiness).map(([k, v]) => `  ${k.padEnd(9)} ${String(v)}`) : []),
        `holds    ${report.pieces ?? '?'} pieces of ${report.objects ?? '?'} objects, ${formatBytes(BigInt(report.bytes))}`,
        `repairs  ${report.repairs.ok} done, ${report.repairs.failed} failed, ${report.repairs.inProgress} running, ${report.repairs.queued} queued; ${report.repairs.swapIns} swap-ins`,
        ...(report.holdings ? [holdingsLine(report.holdings)] : []),
        ...(report.scrub ? [scrubLine(report.scrub)] : []),
        `jobs     ${report.jobsRun} run, ${report.computeEarnings} earned in compute fees`,
        ...(report.storageIncome ? [`storage  ${report.storageIncome.unsettled} earned, not yet settled (${report.storageIncome.perSecond} per second now; insitu node settle)`] : []),
        `funding  ${report.fundingBalance ?? '?'}`,
        `deposit  ${report.deposit ?? '?'}${report.admitted === false ? ' (waiting for admission)' : ''}`,
      ].join('\n'));
      if (!report.healthy) throw new InsituError('ERR_NODE_UNAVAILABLE', `the node at ${endpoint} does not answer: ${health.text}`);
    });
  return node;
}
