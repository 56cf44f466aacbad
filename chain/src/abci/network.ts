// A network of CometBFT validators on one machine (devnets and tests) or the files for one
// validator of a multi-machine network: homes made by `cometbft init`, one shared genesis
// naming every validator, config.toml with each node's ports, its peers and short consensus
// timeouts, and per validator two processes: the insitu app (chain/src/bin.ts --abci) and
// CometBFT dialling it.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { InsituError, nodeScriptArgs } from '@insitu/protocol';
import { serializeGenesis, type Genesis } from '../genesis.ts';

const run = promisify(execFile);

export const COMETBFT_VERSION = 'v0.38.25';

/** The installed CometBFT binary: $INSITU_COMETBFT, else scripts/install-cometbft.mjs's cache. */
export function findCometbft(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.INSITU_COMETBFT && existsSync(env.INSITU_COMETBFT)) return env.INSITU_COMETBFT;
  const dir = env.INSITU_COMETBFT_CACHE ?? join(homedir(), '.cache', 'insitu', 'cometbft', COMETBFT_VERSION);
  const bin = join(dir, 'cometbft');
  return existsSync(bin) ? bin : undefined;
}

export interface ValidatorPorts {
  abci: number;
  rpc: number;
  p2p: number;
}

export interface ConsensusTimeouts {
  proposeMs: number;
  voteMs: number;
  commitMs: number;
}

/** Short enough for tests and devnets on one machine, long enough for a busy 2-core one. */
export const FAST_TIMEOUTS: ConsensusTimeouts = { proposeMs: 1000, voteMs: 300, commitMs: 150 };

export interface ValidatorHome {
  name: string;
  home: string;
  nodeId: string;
  /** ed25519 consensus key, base64. */
  pubKey: string;
  address: string;
  ports: ValidatorPorts;
}

/** `cometbft init` for one validator: keys and a default config in `home`. */
export async function initHome(binary: string, name: string, home: string, ports: ValidatorPorts): Promise<ValidatorHome> {
  await mkdir(home, { recursive: true });
  await run(binary, ['init', '--home', home]);
  const key = JSON.parse(await readFile(join(home, 'config', 'priv_validator_key.json'), 'utf8')) as { address: string; pub_key: { value: string } };
  const { stdout } = await run(binary, ['show-node-id', '--home', home]);
  return { name, home, nodeId: stdout.trim(), pubKey: key.pub_key.value, address: key.address, ports };
}

/** CometBFT's genesis for insitu's: same chain id and time, the validators, insitu's genesis as app_state. */
export function cometGenesis(genesis: Genesis, validators: { name: string; pubKey: string; power?: string }[]): string {
  return JSON.stringify({
    genesis_time: new Date(genesis.genesisTime).toISOString(),
    chain_id: genesis.chainId,
    initial_height: '1',
    consensus_params: {
      block: { max_bytes: '22020096', max_gas: '-1' },
      evidence: { max_age_num_blocks: '100000', max_age_duration: '172800000000000', max_bytes: '1048576' },
      validator: { pub_key_types: ['ed25519'] },
      version: { app: '1' },
      abci: { vote_extensions_enable_height: '0' },
    },
    validators: validators.map((v) => ({ pub_key: { type: 'tendermint/PubKeyEd25519', value: v.pubKey }, power: v.power ?? '10', name: v.name })),
    app_hash: '',
    app_state: JSON.parse(serializeGenesis(genesis)) as unknown,
  }, null, 2);
}

/** Sets keys of config.toml, section by section ('' is the top level). */
export function setConfig(toml: string, values: Record<string, Record<string, string | number | boolean>>): string {
  const lines = toml.split('\n');
  let section = '';
  const seen = new Set<string>();
  const fmt = (v: string | number | boolean): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  for (let i = 0; i < lines.length; i++) {
    const sec = /^\[([a-z0-9_.]+)\]\s*$/.exec(lines[i]!);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const kv = /^([a-z_]+)\s*=/.exec(lines[i]!);
    const want = kv ? values[section]?.[kv[1]!] : undefined;
    if (kv && want !== undefined) {
      lines[i] = `${kv[1]} = ${fmt(want)}`;
      seen.add(`${section}.${kv[1]}`);
    }
  }
  for (const [sec, kvs] of Object.entries(values)) {
    for (const k of Object.keys(kvs)) {
      if (!seen.has(`${sec}.${k}`)) throw new InsituError('ERR_CONFIG', `config.toml has no ${sec ? `[${sec}] ` : ''}${k}`);
    }
  }
  return lines.join('\n');
}

export interface NodeConfig {
  host: string;
  ports: ValidatorPorts;
  /** id@host:port of the other validators. */
  peers: string[];
  timeouts: ConsensusTimeouts;
  moniker: string;
  /** Address other machines reach this node at (host:port); empty on one machine. */
  externalAddress?: string;
  /** Listen on every interface (a real network) rather than host only. */
  listenAll?: boolean;
}

export async function configureHome(home: string, c: NodeConfig): Promise<void> {
  const file = join(home, 'config', 'config.toml');
  const listen = c.listenAll ? '0.0.0.0' : c.host;
  const toml = setConfig(await readFile(file, 'utf8'), {
    '': { proxy_app: `tcp://${c.host}:${c.ports.abci}`, moniker: c.moniker, log_level: 'error' },
    rpc: { laddr: `tcp://${listen}:${c.ports.rpc}`, max_body_bytes: 4 * 1024 * 1024 + 65_536, timeout_broadcast_tx_commit: '30s' },
    p2p: {
      laddr: `tcp://${listen}:${c.ports.p2p}`,
      persistent_peers: c.peers.join(','),
      addr_book_strict: !!c.listenAll,
      allow_duplicate_ip: !c.listenAll,
      external_address: c.externalAddress ?? '',
      pex: !!c.listenAll,
    },
    mempool: { max_tx_bytes: 1024 * 1024 + 1024 },
    consensus: {
      timeout_propose: `${c.timeouts.proposeMs}ms`,
      timeout_propose_delta: '200ms',
      timeout_prevote: `${c.timeouts.voteMs}ms`,
      timeout_prevote_delta: '200ms',
      timeout_precommit: `${c.timeouts.voteMs}ms`,
      timeout_precommit_delta: '200ms',
      timeout_commit: `${c.timeouts.commitMs}ms`,
      // A block only when there are transactions or the app hash moved, else one a second so
      // time-driven work (settlement) still runs.
      create_empty_blocks: false,
      create_empty_blocks_interval: '1s',
    },
  });
  await writeFile(file, toml);
}

export interface ProcessHandle {
  child: ChildProcess;
  /** Resolves once the process has exited. */
  exited: Promise<void>;
}

function watch(child: ChildProcess): ProcessHandle {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return { child, exited };
}

/** Runs `fn` with a log file open for appending; the child keeps its own copy of the descriptor. */
async function withLog<T>(file: string, fn: (fd: number) => T): Promise<T> {
  const fh = await open(file, 'a');
  try {
    return fn(fh.fd);
  } finally {
    await fh.close();
  }
}

const appBin = fileURLToPath(import.meta.resolve('@insitu/chain/bin'));

/** The insitu app process of a validator (ABCI server); resolves when it listens. */
export async function startApp(o: { dataDir: string; genesisFile: string; host: string; port: number; logFile: string; env?: Record<string, string> }): Promise<ProcessHandle> {
  const child = await withLog(o.logFile, (fd) => spawn(process.execPath,
    [...nodeScriptArgs(appBin), '--abci', '--dir', o.dataDir, '--genesis', o.genesisFile, '--host', o.host, '--port', String(o.port)],
    { stdio: ['ignore', 'pipe', fd], env: { ...process.env, ...o.env } }));
  const handle = watch(child);
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('"ready"')) resolve();
    });
    void handle.exited.then(() => reject(new InsituError('ERR_CHAIN_UNAVAILABLE', `the app of ${o.dataDir} exited before serving (see ${o.logFile})`)));
  });
  return handle;
}

export async function startCometbft(binary: string, home: string, logFile: string): Promise<ProcessHandle> {
  return watch(await withLog(logFile, (fd) => spawn(binary, ['start', '--home', home], { stdio: ['ignore', fd, fd] })));
}

export async function stopProcess(h: ProcessHandle | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (!h || h.child.exitCode !== null || h.child.signalCode !== null) return;
  h.child.kill(signal);
  const timer = setTimeout(() => h.child.kill('SIGKILL'), graceMs);
  await h.exited;
  clearTimeout(timer);
}
