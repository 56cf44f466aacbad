// `insitu devnet up|node stop|node start`: the embedded devnet, for demos, tests and fault drills.

import { randomBytes } from 'node:crypto';
import { writeFile, mkdtemp, rm, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError, errorCodeOf } from '@insitu/protocol';
import { createClient } from '@insitu/sdk';
import { devnetUp, type ProcessStatus } from '../devnet/supervisor.ts';
import { recoveryArgs, recoveryFlags } from '../devnet/recovery-flags.ts';
import { devnetDir, readDevnet, resolveNetwork } from '../config.ts';
import { createChainClient } from '@insitu/sdk/chain';
import { parseDuration as parseClockStep } from '../parse.ts';
import { faucetCommand } from './faucet.ts';
import { printer, formatBytes, type CliIO } from '../io.ts';

async function demo(io: CliIO, rpcUrl: string, chainId: string, privateKey: string): Promise<void> {
  const say = (l: string): void => void io.stdout.write(`${l}\n`);
  const client = await createClient({ chain: { rpcUrl, chainId }, account: { privateKey } });
  try {
    await client.buckets.head('demo');
  } catch {
    await client.buckets.create('demo');
    say('demo: created bucket "demo"');
  }
  const dir = await mkdtemp(join(tmpdir(), 'insitu-demo-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) lines.push(`${i},sensor-${i % 17},${(Math.sin(i) * 100).toFixed(3)},${randomBytes(4).toString('hex')}`);
    const data = Buffer.from(`id,sensor,reading,tag\n${lines.join('\n')}\n`);
    const file = join(dir, 'readings.csv');
    await writeFile(file, data);
    const name = `readings-${Date.now()}.csv`;
    const t0 = performance.now();
    const info = await client.objects.put('demo', name, file, { contentType: 'text/csv' });
    say(`demo: uploaded demo/${name} (${formatBytes(info.payloadSize)}) in ${Math.round(performance.now() - t0)} ms — ${info.status}, object id ${info.id}`);
    const pays = await client.payments.view();
    say(`demo:   storing it streams ${-pays.netflowRate} base units per second from your account to the providers (180 days of it prepaid: ${pays.bufferBalance}); see  insitu account`);
    const head = await client.objects.head('demo', name);
    for (const p of head.placement) say(`demo:   ${p.role === 'primary' ? 'whole object' : `piece ${p.index} (${p.role})`} on provider ${p.spId} at ${p.endpoint}`);
    const parts: Uint8Array[] = [];
    for await (const chunk of client.objects.get('demo', name)) parts.push(chunk);
    const back = Buffer.concat(parts);
    if (!back.equals(data)) throw new InsituError('ERR_CHECKSUM_MISMATCH', 'demo: the bytes read back differ from the bytes uploaded');
    say(`demo: read back ${formatBytes(back.length)}, verified segment by segment — identical`);
    const module = await readFile(fileURLToPath(import.meta.resolve('@insitu/wasm-jobs/build/csv-agg.wasm')));
    const run = await client.jobs.submit({ module, input: `demo/${name}`, args: ['1', '2'], maxFee: 10n ** 15n });
    const job = await client.jobs.get(run.id);
    say(`demo: ran job ${run.id} (csv-agg: mean reading per sensor) beside the data on provider ${run.executor.id} — ${run.receipt.state}, fuel ${run.receipt.fuelUsed}, fee ${job.fee}`);
    say(`demo:   moved ${run.receipt.outputBytes} bytes of output instead of ${formatBytes(info.payloadSize)} of input`);
    for (const line of Buffer.from(await client.jobs.output(run.id)).toString().trim().split('\n').slice(0, 4)) say(`demo:   ${line}`);
    say(`demo: try  insitu head demo/${name}   or   insitu get demo/${name} --range 0-99`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function devnetCommand(ctx: CommandContext): Command {
  const { io, globals } = ctx;
  const devnet = new Command('devnet').description('run the embedded devnet: a chain and storage nodes on 127.0.0.1');
  devnet.addCommand(faucetCommand(ctx));
  recoveryFlags(devnet.command('up')).description('start (or resume) the devnet in --dir and keep it running until Ctrl-C; the recovery flags go to every node')
    .option('--nodes <n>', 'number of storage nodes (at least 7)', '7')
    .option('--validators <n>', 'run the chain as <n> CometBFT validators (each an app + a CometBFT process) instead of the embedded chain; needs CometBFT (node scripts/install-cometbft.mjs)', '0')
    .option('--demo', 'upload a demo file and read it back once the devnet is up')
    .action(async (o: { nodes: string; validators: string; demo?: boolean }) => {
      const dir = devnetDir(globals(), io.env, io.cwd);
      const nodes = Number(o.nodes);
      if (!Number.isInteger(nodes) || nodes < 7) throw new InsituError('ERR_INVALID_ARGUMENT', '--nodes must be an integer of at least 7 (1 primary + 6 secondaries)');
      const validators = Number(o.validators);
      if (!Number.isInteger(validators) || validators < 0 || validators > 16) throw new InsituError('ERR_INVALID_ARGUMENT', '--validators must be an integer from 0 (the embedded chain) to 16');
      const out = printer(io, globals().json === true);
      const net = await devnetUp({ dir, nodes, validators, log: (l) => out.info(l), nodeArgs: recoveryArgs(o) });
      const f = net.file;
      out.result(f, [
        `devnet up in ${dir}`,
        ...(f.rpcUrls
          ? f.rpcUrls.map((u, i) => `validator ${i + 1} ${f.chainId} CometBFT RPC ${u}`)
          : [`chain     ${f.chainId} at ${f.rpcUrl}`]),
        ...f.nodes.map((n) => `node ${n.index}    ${n.endpoint}  operator ${n.operatorAddress}`),
        `account   ${f.account.address} (key in ${f.account.keyFile})`,
        `written   ${join(dir, 'devnet.json')}`,
        `dashboard ${f.control}/`,
      ].join('\n'));
      try {
        if (o.demo) await demo(io, f.rpcUrl, f.chainId, f.account.privateKey);
        out.info('devnet running — press Ctrl-C (or run "insitu devnet down") to stop');
        await Promise.race([io.interrupted ?? new Promise<void>(() => {}), net.stopRequested]);
      } finally {
        out.info('stopping devnet…');
        await net.stop();
        out.info('devnet stopped');
      }
    });

  /** Calls the control endpoint of the devnet running in --dir. */
  const control = async (method: 'GET' | 'POST', path: string): Promise<Record<string, unknown>> => {
    const dir = devnetDir(globals(), io.env, io.cwd);
    const f = await readDevnet(dir);
    if (!f) throw new InsituError('ERR_CONFIG', `no devnet in ${dir}: run "insitu devnet up" first`);
    let res;
    try {
      res = await request(`${f.control}${path}`, { method });
    } catch (cause) {
      throw new InsituError('ERR_NODE_UNAVAILABLE', `the devnet in ${dir} is not running (start it with "insitu devnet up --dir ${dir}")`, { cause });
    }
    const body = (await res.body.json()) as Record<string, unknown> & { code?: string; message?: string };
    if (res.statusCode !== 200) throw new InsituError(errorCodeOf(body.code, 'ERR_INTERNAL'), body.message ?? 'devnet control failed');
    return body;
  };

  devnet.command('status').description('show which processes of the running devnet are up').action(async () => {
    const st = (await control('GET', '/status')) as unknown as { chain: ProcessStatus; nodes: ProcessStatus[]; validators?: ProcessStatus[] };
    const line = (p: ProcessStatus): string => `${p.name.padEnd(8)} ${p.running ? (p.pid ? `running (pid ${p.pid})` : 'running') : 'stopped'}${p.restarts ? `, restarted ${p.restarts}×` : ''}`;
    printer(io, globals().json === true).result(st, [st.chain, ...(st.validators ?? []), ...st.nodes].map(line).join('\n'));
  });

  devnet.command('down').description('stop the devnet running in --dir').action(async () => {
    const body = await control('POST', '/stop');
    printer(io, globals().json === true).result(body, 'devnet stopping');
  });

  devnet.command('advance').argument('<duration>', 'e.g. 3600, 90m, 12h, 30d, 2w')
    .description('move the devnet chain\'s clock forward (stream payments flow, accounts run out, months turn)')
    .action(async (duration: string) => {
      // The clock moves by a transaction the devnet genesis allows its own account to send.
      const net = await resolveNetwork(globals(), io.env, io.cwd, true);
      const client = await createChainClient({ rpcUrl: net.rpcUrl, chainId: net.chainId, privateKey: net.privateKey! });
      const ms = await client.advanceTime(parseClockStep(duration));
      printer(io, globals().json === true).result({ time: new Date(ms).toISOString() }, `chain time is now ${new Date(ms).toISOString()}`);
    });

  const validator = devnet.command('validator').description('stop or start one validator (its app and its CometBFT) of a running devnet of validators');
  for (const verb of ['stop', 'start'] as const) {
    validator.command(verb).argument('<n>', 'validator number, 1-based').action(async (n: string) => {
      if (!/^\d+$/.test(n)) throw new InsituError('ERR_INVALID_ARGUMENT', `validator number "${n}" must be a positive integer`);
      const body = await control('POST', `/validators/${Number(n)}/${verb}`);
      printer(io, globals().json === true).result(body, `validator ${n} ${verb === 'stop' ? 'stopped' : 'started'}`);
    });
  }

  const node = devnet.command('node').description('stop or start one node of a running devnet');
  for (const verb of ['stop', 'start'] as const) {
    node.command(verb).argument('<n>', 'node number, 1-based').action(async (n: string) => {
      if (!/^\d+$/.test(n)) throw new InsituError('ERR_INVALID_ARGUMENT', `node number "${n}" must be a positive integer`);
      const body = await control('POST', `/nodes/${Number(n)}/${verb}`);
      printer(io, globals().json === true).result(body, `node ${n} ${verb === 'stop' ? 'stopped' : 'started'}`);
    });
  }
  return devnet;
}
