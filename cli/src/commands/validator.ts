// `insitu validator init|start`: one validator of a network spread over several machines.
//   1. Every operator runs `insitu validator init --home <dir> --moniker <name>` and shares the
//      line it prints (name, consensus public key, node address).
//   2. One of them lists every validator in the shared insitu genesis file ("validators":
//      [{ "name", "pubKey", "power" }]) and hands the file to all.
//   3. Every operator runs `insitu validator start --home <dir> --genesis <genesis.json>
//      --peers <id@host:port,...>`: the insitu app and CometBFT, until Ctrl-C.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError } from '@insitu/protocol';
import { parseGenesis, serializeGenesis } from '@insitu/chain/genesis';
import {
  findCometbft, initHome, cometGenesis, configureHome, startApp, startCometbft, stopProcess, FAST_TIMEOUTS, type ValidatorPorts,
} from '@insitu/chain/network';
import { printer } from '../io.ts';

/** Real networks: CometBFT's default timeouts, but a block a second at most when idle. */
const NETWORK_TIMEOUTS = { proposeMs: 3000, voteMs: 1000, commitMs: 1000 };

const port = (v: string, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a TCP port, not "${v}"`);
  return n;
};

interface ValidatorFile {
  name: string;
  nodeId: string;
  pubKey: string;
  ports: ValidatorPorts;
  externalAddress: string;
}

export function validatorCommand({ io, globals }: CommandContext): Command {
  const validator = new Command('validator').description('run one CometBFT validator of a multi-machine insitu network');

  validator.command('init')
    .description('create a validator home: CometBFT keys and config; prints what the other operators need')
    .requiredOption('--home <dir>', 'where the validator keeps its keys and data')
    .option('--moniker <name>', 'the validator\'s name', 'validator')
    .option('--external-address <host:port>', 'where other validators reach this one\'s p2p port', '')
    .option('--p2p-port <port>', 'CometBFT p2p port', '26656')
    .option('--rpc-port <port>', 'CometBFT JSON-RPC port (clients and storage nodes)', '26657')
    .option('--abci-port <port>', 'the insitu app\'s ABCI port on 127.0.0.1', '26658')
    .action(async (o: { home: string; moniker: string; externalAddress: string; p2pPort: string; rpcPort: string; abciPort: string }) => {
      const binary = findCometbft(io.env);
      if (!binary) throw new InsituError('ERR_CONFIG', 'CometBFT is not installed: run "node scripts/install-cometbft.mjs" (needs Go)');
      const home = resolve(io.cwd, o.home);
      if (existsSync(join(home, 'validator.json'))) throw new InsituError('ERR_CONFIG', `${home} already holds a validator; keep its keys or choose another --home`);
      const ports = { p2p: port(o.p2pPort, '--p2p-port'), rpc: port(o.rpcPort, '--rpc-port'), abci: port(o.abciPort, '--abci-port') };
      await mkdir(home, { recursive: true });
      const h = await initHome(binary, o.moniker, join(home, 'cometbft'), ports);
      const file: ValidatorFile = { name: o.moniker, nodeId: h.nodeId, pubKey: h.pubKey, ports, externalAddress: o.externalAddress };
      await writeFile(join(home, 'validator.json'), JSON.stringify(file, null, 2));
      const peer = `${h.nodeId}@${o.externalAddress || `<this-host>:${ports.p2p}`}`;
      printer(io, globals().json === true).result({ ...file, peer, genesisEntry: { name: o.moniker, pubKey: h.pubKey, power: '10' } }, [
        `validator ${o.moniker} initialised in ${home}`,
        `genesis entry  {"name": "${o.moniker}", "pubKey": "${h.pubKey}", "power": "10"}   (add it to "validators" in the shared genesis.json)`,
        `peer address   ${peer}   (give it to the other operators for --peers)`,
      ].join('\n'));
    });

  validator.command('start')
    .description('run this validator (the insitu app and CometBFT) with the shared genesis until Ctrl-C')
    .requiredOption('--home <dir>', 'the validator home made by "insitu validator init"')
    .requiredOption('--genesis <file>', 'the shared insitu genesis.json listing every validator')
    .option('--peers <list>', 'the other validators, id@host:port comma-separated', '')
    .action(async (o: { home: string; genesis: string; peers: string }) => {
      const binary = findCometbft(io.env);
      if (!binary) throw new InsituError('ERR_CONFIG', 'CometBFT is not installed: run "node scripts/install-cometbft.mjs" (needs Go)');
      const home = resolve(io.cwd, o.home);
      let v: ValidatorFile;
      try {
        v = JSON.parse(await readFile(join(home, 'validator.json'), 'utf8')) as ValidatorFile;
      } catch (cause) {
        throw new InsituError('ERR_CONFIG', `${home} holds no validator: run "insitu validator init --home ${o.home}" first`, { cause });
      }
      const genesis = parseGenesis(await readFile(resolve(io.cwd, o.genesis), 'utf8'));
      const validators = genesis.validators ?? [];
      if (!validators.some((x) => x.pubKey === v.pubKey)) {
        throw new InsituError('ERR_CONFIG', `the genesis does not list this validator (pubKey ${v.pubKey}); add {"name": "${v.name}", "pubKey": "${v.pubKey}", "power": "10"} to its "validators"`);
      }
      const peers = o.peers.split(',').map((p) => p.trim()).filter(Boolean);
      for (const p of peers) if (!/^[0-9a-f]{40}@[^:@\s]+:\d+$/.test(p)) throw new InsituError('ERR_INVALID_ARGUMENT', `peer "${p}" is not id@host:port`);
      const cometHome = join(home, 'cometbft');
      await writeFile(join(cometHome, 'config', 'genesis.json'), cometGenesis(genesis, validators));
      await configureHome(cometHome, {
        host: '127.0.0.1', ports: v.ports, peers, timeouts: genesis.validators ? NETWORK_TIMEOUTS : FAST_TIMEOUTS, moniker: v.name,
        listenAll: true, ...(v.externalAddress ? { externalAddress: v.externalAddress } : {}),
      });
      const genesisFile = join(home, 'genesis.json');
      await writeFile(genesisFile, serializeGenesis(genesis));
      const out = printer(io, globals().json === true);
      const app = await startApp({ dataDir: join(home, 'app'), genesisFile, host: '127.0.0.1', port: v.ports.abci, logFile: join(home, 'app.log') });
      const comet = await startCometbft(binary, cometHome, join(home, 'cometbft.log'));
      out.result({ name: v.name, rpc: `http://0.0.0.0:${v.ports.rpc}`, peers }, `validator ${v.name} running: CometBFT RPC on port ${v.ports.rpc}, logs in ${home} — Ctrl-C to stop`);
      try {
        await Promise.race([io.interrupted ?? new Promise<void>(() => {}), app.exited, comet.exited]);
      } finally {
        await stopProcess(comet);
        await stopProcess(app);
        out.info(`validator ${v.name} stopped`);
      }
    });
  return validator;
}
