// The devnet supervisor: runs the chain and every storage node as child processes on 127.0.0.1,
// writes <dir>/devnet.json for other tools, and serves a small control endpoint on 127.0.0.1 so
// `insitu devnet node stop|start <n>`, `devnet status` and `devnet down` reach a running devnet.
// A process that dies on its own (not stopped through the supervisor) is restarted, a few times
// at most, so one crash does not take the devnet down.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createChainReader } from '@insitu/sdk/chain';
import { clusterView, dashboardHtml } from '@insitu/storage-node';
import { mkdir, readFile, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { InsituError, nodeScript, type NodeScript } from '@insitu/protocol';
import { serializeGenesis, evmChainId } from '@insitu/chain/genesis';
import { planDevnet, freePort, type DevnetPlan } from './plan.ts';
import { createLocalNetwork, type LocalNetwork } from '@insitu/chain/network';
import { findCometbft } from '@insitu/chain/network';
import type { DevnetFile } from '@insitu/sdk';
import { writeKeyFile } from '@insitu/protocol';

interface SavedPlan extends DevnetPlan {
  chainPort: number;
  /** CometBFT validators (0: the embedded chain). */
  validators?: number;
}

const script = (spec: string): string => fileURLToPath(import.meta.resolve(spec));

export interface ProcessStatus {
  name: string;
  running: boolean;
  pid: number | null;
  restarts: number;
}

export interface Devnet {
  file: DevnetFile;
  /** Node n is 0-based here (the CLI and control endpoint count from 1). */
  stopNode(n: number): Promise<void>;
  startNode(n: number): Promise<void>;
  /** Validator n, 1-based (replicated devnets only). */
  stopValidator(n: number): Promise<void>;
  startValidator(n: number): Promise<void>;
  status(): { chain: ProcessStatus; nodes: ProcessStatus[]; validators: ProcessStatus[] };
  /** Resolves when `devnet down` asks the devnet to stop. */
  stopRequested: Promise<void>;
  /**
   * Whether the processes last started ran the packages' built JavaScript, or their TypeScript
   * sources through tsx, and why (see nodeScript in @insitu/protocol).
   */
  readonly programs: { built: boolean; reason?: string };
  stop(): Promise<void>;
}

/** A devnet already serving from this dir answers on its control endpoint. */
async function runningDevnet(dir: string): Promise<string | undefined> {
  let control: string | undefined;
  try {
    control = (JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetFile).control;
  } catch {
    return undefined;
  }
  if (!control) return undefined;
  try {
    const res = await request(`${control}/status`, { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200 ? control : undefined;
  } catch {
    return undefined;
  }
}

async function loadOrPlan(dir: string, nodes: number, validators: number, nodeHost?: (index: number) => string): Promise<{ plan: SavedPlan; fresh: boolean }> {
  try {
    const saved = JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8'), (_k, v) => (v && typeof v === 'object' && '$big' in v ? BigInt(v.$big) : v)) as SavedPlan;
    return { plan: saved, fresh: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InsituError('ERR_CONFIG', `${join(dir, 'plan.json')} is unreadable`, { cause: e });
  }
  const plan: SavedPlan = { ...(await planDevnet({ nodes, accounts: 1, ...(nodeHost ? { nodeHost } : {}) })), chainPort: await freePort(), validators };
  return { plan, fresh: true };
}

const START_TIMEOUT_MS = 180_000;

/**
 * A process that exits while starting fails at once; one that neither exits nor says it is ready
 * fails after `startMs`, generous because a busy machine (a CI runner, a test suite running files
 * side by side) can take a minute to load and start eight processes.
 */
async function startProcess(name: string, script: NodeScript, args: string[], logDir: string, prefix: string[] = [], startMs = START_TIMEOUT_MS): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const log = await open(join(logDir, `${name}.log`), 'a');
  const command = [...prefix, process.execPath, ...script.args, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', log.fd] });
  child.once('exit', () => void log.close().catch(() => undefined));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A process that never said it is ready is not left running behind the error.
      child.kill('SIGKILL');
      reject(new InsituError('ERR_NODE_UNAVAILABLE', `${name} did not start within ${startMs / 1000} s (see ${join(logDir, `${name}.log`)})`));
    }, startMs);
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.event === 'ready') {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // not a status line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new InsituError('ERR_NODE_UNAVAILABLE', `${name} exited with code ${code} while starting (see ${join(logDir, `${name}.log`)})`));
    });
  });
  return { child, ready };
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function devnetUp(opts: {
  dir: string;
  nodes?: number;
  /** CometBFT validators, each an app process + a CometBFT process (0 or absent: the embedded chain). */
  validators?: number;
  log?: (line: string) => void;
  /** Extra arguments for every node process (recovery tuning). */
  nodeArgs?: string[];
  /**
   * Where each process runs, by name ('chain', 'node-1', …): the address it listens on and is
   * reached at, and a command prefix that starts it there (a simulated network runs each in a
   * network namespace of its own: ['ip', 'netns', 'exec', '<ns>']). Default: 127.0.0.1 and no
   * prefix. Node addresses go into a new devnet's genesis; the embedded chain only.
   */
  placement?: (name: string) => { host: string; prefix?: string[] };
  /** How long a process may take to say it is ready (default 180 s). */
  startTimeoutMs?: number;
}): Promise<Devnet> {
  const { dir } = opts;
  const log = opts.log ?? (() => {});
  const other = await runningDevnet(dir);
  if (other) throw new InsituError('ERR_CONFIG', `a devnet is already running in ${dir} (control ${other}); stop it with "insitu devnet down --dir ${dir}"`);
  await mkdir(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { recursive: true });
  const place = opts.placement;
  const { plan, fresh } = await loadOrPlan(dir, opts.nodes ?? 7, opts.validators ?? 0, place && ((i) => place(`node-${i + 1}`).host));
  if (!fresh && opts.nodes !== undefined && opts.nodes !== plan.nodes.length) log(`resuming the devnet in ${dir} with its ${plan.nodes.length} nodes (--nodes ${opts.nodes} applies to new devnets only)`);
  if (fresh) {
    await writeFile(join(dir, 'plan.json'), JSON.stringify(plan, (_k, v) => (typeof v === 'bigint' ? { $big: v.toString() } : v), 2), { mode: 0o600 });
    await writeFile(join(dir, 'genesis.json'), serializeGenesis(plan.genesis));
    for (const n of plan.nodes) {
      const nodeDir = join(dir, `node-${n.index + 1}`);
      await mkdir(nodeDir, { recursive: true });
      await writeFile(join(nodeDir, 'node-key.json'), JSON.stringify({ operatorKey: n.operatorKey, blsKey: n.blsKey }, null, 2), { mode: 0o600 });
    }
    await writeKeyFile(join(dir, 'account.key'), plan.accounts[0]!.privateKey);
  }
  const children = new Map<string, ChildProcess>();
  /** Processes stopped on purpose; any other exit is a crash and is restarted. */
  const wanted = new Map<string, boolean>();
  const restarts = new Map<string, number[]>();
  const starting = new Map<string, Promise<void>>();
  let stopping = false;
  const isRunning = (name: string): boolean => {
    const c = children.get(name);
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  };

  // Inside the repository: the built JavaScript while dist/ matches the sources, else the sources.
  let programs: { built: boolean; reason?: string } | undefined;
  const launch = async (name: string, file: string, args: string[]): Promise<Record<string, unknown>> => {
    wanted.set(name, true);
    const script = nodeScript(file);
    if (programs === undefined && file.endsWith('.ts')) {
      log(script.built ? 'processes run the built JavaScript (dist/ matches the sources)' : `processes run the TypeScript sources through tsx: ${script.reason}`);
    }
    programs = { built: script.built, ...(script.reason ? { reason: script.reason } : {}) };
    const started = await startProcess(name, script, args, logDir, place?.(name).prefix, opts.startTimeoutMs);
    children.set(name, started.child);
    started.child.once('exit', (code, signal) => {
      if (stopping || !wanted.get(name) || children.get(name) !== started.child) return;
      // Exit code 0 is a clean stop by a signal from outside (Ctrl-C reaches the whole process
      // group at once): the devnet is shutting down, not crashing.
      if (code === 0) {
        wanted.set(name, false);
        return;
      }
      const now = Date.now();
      const recent = (restarts.get(name) ?? []).filter((at) => now - at < 60_000);
      if (recent.length >= 5) {
        log(`${name} exited (${signal ?? `code ${code}`}) for the 6th time within a minute; not restarting it (see ${join(logDir, `${name}.log`)})`);
        wanted.set(name, false);
        return;
      }
      restarts.set(name, [...recent, now]);
      log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); restarting it`);
      const again = launch(name, file, args).then(() => undefined, (e: unknown) => log(`${name} did not restart: ${(e as Error).message}`));
      starting.set(name, again);
      void again.finally(() => starting.delete(name));
    });
    return started.ready;
  };

  let validators: LocalNetwork | undefined;
  let rpcUrl: string;
  if (plan.validators) {
    // The replicated chain: CometBFT validators, every RPC listed; clients fail over between them.
    const binary = findCometbft();
    if (!binary) throw new InsituError('ERR_CONFIG', 'a devnet of validators needs CometBFT: install it with "node scripts/install-cometbft.mjs" (needs Go)');
    validators = await createLocalNetwork({ dir: join(dir, 'chain'), genesis: plan.genesis, validators: plan.validators, binary, port: freePort });
    await validators.start();
    rpcUrl = validators.rpcUrls.join(',');
    const reader = await createChainReader({ rpcUrl, chainId: plan.chainId });
    for (let i = 0; ; i++) {
      if (await reader.status().then((s) => s.height >= 1n, () => false)) break;
      if (i > 600) throw new InsituError('ERR_CHAIN_UNAVAILABLE', `the validators made no block within a minute (logs in ${join(dir, 'chain')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`chain ${plan.chainId}: ${plan.validators} CometBFT validators at ${validators.rpcUrls.join(' ')}`);
  } else {
    const chainReady = await launch('chain', script('@insitu/chain/bin'), ['--dir', join(dir, 'chain'), '--genesis', join(dir, 'genesis.json'), '--port', String(plan.chainPort), ...(place ? ['--host', place('chain').host] : [])]);
    rpcUrl = String(chainReady.rpcUrl);
    log(`chain ${plan.chainId} at ${rpcUrl}`);
  }

  const startNode = async (i: number): Promise<void> => {
    const n = plan.nodes[i];
    if (!n) throw new InsituError('ERR_INVALID_ARGUMENT', `no node ${i + 1}; the devnet has ${plan.nodes.length}`);
    const name = `node-${i + 1}`;
    await starting.get(name);
    if (isRunning(name)) return;
    const nodeDir = join(dir, name);
    const run = launch(name, script('@insitu/storage-node/bin'), ['--dir', nodeDir, '--rpc', rpcUrl, '--chain-id', plan.chainId, '--port', String(n.port), ...(place ? ['--host', place(name).host] : []), ...(opts.nodeArgs ?? [])]).then(() => undefined);
    starting.set(name, run);
    try {
      await run;
    } finally {
      starting.delete(name);
    }
  };
  const stopNode = async (i: number): Promise<void> => {
    if (!plan.nodes[i]) throw new InsituError('ERR_INVALID_ARGUMENT', `no node ${i + 1}; the devnet has ${plan.nodes.length}`);
    const name = `node-${i + 1}`;
    await starting.get(name)?.catch(() => undefined);
    wanted.set(name, false);
    await stopProcess(children.get(name));
  };
  const procStatus = (name: string): ProcessStatus => ({
    name,
    running: isRunning(name),
    pid: isRunning(name) ? children.get(name)!.pid ?? null : null,
    restarts: (restarts.get(name) ?? []).length,
  });
  const validatorStatus = (): ProcessStatus[] => (validators?.validators ?? []).map((v) => ({ name: `validator-${v.index}`, running: v.running && v.appRunning, pid: null, restarts: 0 }));
  const chainStatus = (): ProcessStatus => (validators
    ? { name: 'chain', running: validatorStatus().filter((v) => v.running).length * 3 > 2 * validatorStatus().length, pid: null, restarts: 0 }
    : procStatus('chain'));
  const status = () => ({ chain: chainStatus(), nodes: plan.nodes.map((_, i) => procStatus(`node-${i + 1}`)), validators: validatorStatus() });
  const needValidators = (): LocalNetwork => validators ?? (() => {
    throw new InsituError('ERR_INVALID_ARGUMENT', 'this devnet runs the embedded chain; start one with --validators <n> to stop and start validators');
  })();
  const stopValidator = (n: number): Promise<void> => needValidators().stopValidator(n);
  const startValidator = (n: number): Promise<void> => needValidators().startValidator(n);
  // Every start is waited for, so that none still starting is left running when another failed.
  const starts = await Promise.allSettled(plan.nodes.map((_, i) => startNode(i)));
  const failed = starts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const e: unknown = failed.reason;
    stopping = true;
    for (const c of children.values()) await stopProcess(c);
    await validators?.stop();
    throw e;
  }

  let requestStop: () => void = () => {};
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  const reader = await createChainReader({ rpcUrl, chainId: plan.chainId });
  const control: Server = createServer((req, res) => {
    const json = (code: number, body: unknown): void => void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/status') {
      json(200, status());
      return;
    }
    // The dashboard of the whole devnet, and the JSON view it polls.
    if (req.method === 'GET' && (req.url === '/' || req.url === '/dashboard')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(dashboardHtml('/api/cluster', `insitu devnet ${plan.chainId}`));
      return;
    }
    if (req.method === 'GET' && req.url === '/api/cluster') {
      clusterView(reader, { owners: plan.accounts.map((a) => a.address) }).then((v) => json(200, v), (e: unknown) => json(503, { code: 'ERR_CHAIN_UNAVAILABLE', message: String((e as Error).message) }));
      return;
    }
    if (req.method === 'POST' && req.url === '/stop') {
      json(200, { state: 'stopping' });
      requestStop();
      return;
    }
    const v = /^\/validators\/(\d+)\/(stop|start)$/.exec(req.url ?? '');
    if (req.method === 'POST' && v) {
      const n = Number(v[1]);
      (v[2] === 'stop' ? stopValidator(n) : startValidator(n)).then(
        () => json(200, { validator: n, state: v[2] === 'stop' ? 'stopped' : 'running' }),
        (e: unknown) => json(400, { code: (e as InsituError).code ?? 'ERR_INTERNAL', message: String((e as Error).message) }),
      );
      return;
    }
    const m = /^\/nodes\/(\d+)\/(stop|start)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) {
      res.writeHead(404).end();
      return;
    }
    const i = Number(m[1]) - 1;
    (m[2] === 'stop' ? stopNode(i) : startNode(i)).then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ node: i + 1, state: m[2] === 'stop' ? 'stopped' : 'running' })),
      (e: unknown) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: (e as InsituError).code ?? 'ERR_INTERNAL', message: String((e as Error).message) })),
    );
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));

  const file: DevnetFile = {
    chainId: plan.chainId,
    evmChainId: String(evmChainId(plan.chainId)),
    rpcUrl,
    ...(validators ? { rpcUrls: validators.rpcUrls } : {}),
    control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    dir,
    nodes: plan.nodes.map((n) => ({ index: n.index + 1, endpoint: n.endpoint, operatorAddress: n.operatorAddress })),
    account: { address: plan.accounts[0]!.address, privateKey: plan.accounts[0]!.privateKey, keyFile: join(dir, 'account.key') },
  };
  await writeFile(join(dir, 'devnet.json'), JSON.stringify(file, null, 2), { mode: 0o600 });

  let stopped = false;
  return {
    file,
    startNode,
    stopNode,
    stopValidator,
    startValidator,
    status,
    stopRequested,
    get programs() {
      return programs ?? { built: true };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping = true;
      await Promise.all([...starting.values()].map((p) => p.catch(() => undefined)));
      await new Promise<void>((r) => {
        control.close(() => r());
        control.closeAllConnections();
      });
      await Promise.all(plan.nodes.map((_, i) => stopNode(i)));
      await stopProcess(children.get('chain'));
      await validators?.stop();
    },
  };
}
