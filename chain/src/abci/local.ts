// N CometBFT validators on one machine, each an app process + a CometBFT process + its own
// data directory, peered with each other: `insitu devnet up --validators N` and the replicated
// tests. A validator can be stopped, killed (kill -9) and started again.

import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InsituError } from '@insitu/protocol';
import { serializeGenesis, type Genesis } from '../genesis.ts';
import {
  initHome, cometGenesis, configureHome, startApp, startCometbft, stopProcess, FAST_TIMEOUTS,
  type ConsensusTimeouts, type ProcessHandle, type ValidatorHome, type ValidatorPorts,
} from './network.ts';

export interface LocalNetworkOptions {
  dir: string;
  genesis: Genesis;
  validators: number;
  /** The cometbft binary (findCometbft()). */
  binary: string;
  /** Hands out a free TCP port. */
  port(): Promise<number>;
  host?: string;
  timeouts?: ConsensusTimeouts;
}

export interface LocalValidator {
  readonly index: number;
  readonly rpcUrl: string;
  readonly home: ValidatorHome;
  /** Its CometBFT process is up. */
  readonly running: boolean;
  /** Its app process is up. */
  readonly appRunning: boolean;
  /** Its CometBFT process's pid, while it runs (a test freezes it). */
  readonly cometPid: number | undefined;
}

export interface LocalNetwork {
  readonly rpcUrls: string[];
  readonly validators: LocalValidator[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops validator i (1-based): its CometBFT and its app. */
  stopValidator(i: number, opts?: { kill?: boolean }): Promise<void>;
  /** Starts validator i again; `env` reaches its app process (fault injection). */
  startValidator(i: number, opts?: { env?: Record<string, string> }): Promise<void>;
  /** kill -9 of validator i's app process only (CometBFT then stops: its app connection is gone). */
  killApp(i: number): Promise<void>;
}

interface Running {
  app?: ProcessHandle;
  comet?: ProcessHandle;
}

/** Reuses the homes already in `dir` (a restart), or makes them. */
export async function createLocalNetwork(opts: LocalNetworkOptions): Promise<LocalNetwork> {
  const host = opts.host ?? '127.0.0.1';
  const layoutFile = join(opts.dir, 'validators.json');
  let homes: ValidatorHome[];
  if (existsSync(layoutFile)) {
    homes = JSON.parse(await readFile(layoutFile, 'utf8')) as ValidatorHome[];
    if (homes.length !== opts.validators) throw new InsituError('ERR_CONFIG', `${opts.dir} holds ${homes.length} validators, not ${opts.validators}`);
  } else {
    homes = [];
    for (let i = 1; i <= opts.validators; i++) {
      const ports: ValidatorPorts = { abci: await opts.port(), rpc: await opts.port(), p2p: await opts.port() };
      homes.push(await initHome(opts.binary, `validator-${i}`, join(opts.dir, `validator-${i}`, 'cometbft'), ports));
    }
    const genesisText = cometGenesis(opts.genesis, homes.map((h) => ({ name: h.name, pubKey: h.pubKey })));
    for (const h of homes) {
      await writeFile(join(h.home, 'config', 'genesis.json'), genesisText);
      await configureHome(h.home, {
        host,
        ports: h.ports,
        peers: homes.filter((o) => o !== h).map((o) => `${o.nodeId}@${host}:${o.ports.p2p}`),
        timeouts: opts.timeouts ?? FAST_TIMEOUTS,
        moniker: h.name,
      });
    }
    await writeFile(layoutFile, JSON.stringify(homes, null, 2));
  }
  const genesisFile = join(opts.dir, 'app-genesis.json');
  await writeFile(genesisFile, serializeGenesis(opts.genesis));
  const running: Running[] = homes.map(() => ({}));

  const check = (i: number): number => {
    if (!Number.isInteger(i) || i < 1 || i > homes.length) throw new InsituError('ERR_INVALID_ARGUMENT', `validator ${i} does not exist (1..${homes.length})`);
    return i - 1;
  };

  async function startOne(i: number, env?: Record<string, string>): Promise<void> {
    const k = check(i);
    const h = homes[k]!;
    const r = running[k]!;
    const base = join(opts.dir, `validator-${i}`);
    await mkdir(base, { recursive: true });
    if (!r.app || r.app.child.exitCode !== null || r.app.child.signalCode !== null) {
      r.app = await startApp({ dataDir: join(base, 'app'), genesisFile, host, port: h.ports.abci, logFile: join(base, 'app.log'), ...(env ? { env } : {}) });
    }
    if (!r.comet || r.comet.child.exitCode !== null || r.comet.child.signalCode !== null) {
      r.comet = await startCometbft(opts.binary, h.home, join(base, 'cometbft.log'));
    }
  }

  async function stopOne(i: number, kill = false): Promise<void> {
    const r = running[check(i)]!;
    const signal = kill ? 'SIGKILL' : 'SIGTERM';
    await stopProcess(r.comet, signal);
    await stopProcess(r.app, signal);
  }

  return {
    rpcUrls: homes.map((h) => `http://${host}:${h.ports.rpc}`),
    validators: homes.map((h, k) => ({
      index: k + 1,
      rpcUrl: `http://${host}:${h.ports.rpc}`,
      home: h,
      get running() {
        const c = running[k]!.comet?.child;
        return !!c && c.exitCode === null && c.signalCode === null;
      },
      get appRunning() {
        const c = running[k]!.app?.child;
        return !!c && c.exitCode === null && c.signalCode === null;
      },
      get cometPid() {
        const c = running[k]!.comet?.child;
        return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
      },
    })),
    async start() {
      // Apps first (CometBFT dials them), all at once.
      await Promise.all(homes.map((_, k) => startOne(k + 1)));
    },
    async stop() {
      await Promise.all(homes.map((_, k) => stopOne(k + 1)));
    },
    stopValidator: (i, o) => stopOne(i, o?.kill ?? false),
    startValidator: (i, o) => startOne(i, o?.env),
    async killApp(i) {
      await stopProcess(running[check(i)]!.app, 'SIGKILL');
    },
  };
}
