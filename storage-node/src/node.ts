// A storage node: piece store, chain client (signed by the operator key), HTTP API and the
// event follower, started and stopped together.

import { InsituError } from '@insitu/protocol';
import { createChainClient } from '@insitu/sdk/chain';
import { createErasureCodec } from '@insitu/protocol/codec';
import { fromHex, normalizePrivateKey, privateKeyToAddress, sameAddress, type Hex } from '@insitu/protocol';
import type { StorageProvider } from '@insitu/protocol/chain';
import { createFsPieceStore } from './store/fs.ts';
import { countHoldings } from './store/holdings.ts';
import type { PieceStore } from './store/types.ts';
import { createHttpServer } from './http/server.ts';
import { REPLICATION_STALL_MS } from './http/put-object.ts';
import type { HttpLimits } from './http/limits.ts';
import { startFollower } from './follower.ts';
import { createGroupCache } from './group-cache.ts';
import { startChallenger, type Challenger, type ChallengerOptions } from './challenge/challenger.ts';
import { jobVerifier } from './job-verifier.ts';
import { startRecovery, type Recovery, type RecoveryOptions } from './recovery/index.ts';
import { createNodeMetrics } from './metrics.ts';
import { silentLogger, type Logger, type NodeContext } from './context.ts';
import { createJobRuntime, type JobRuntime } from '@insitu/executor';
import { join } from 'node:path';

export interface StorageNodeOptions {
  dataDir: string;
  rpcUrl: string;
  chainId: string;
  operatorKey: string;
  blsKey: Uint8Array | string;
  host?: string;
  port?: number;
  logger?: Logger;
  store?: PieceStore;
  /** Worker threads for jobs (default 2). */
  jobWorkers?: number;
  /** Scrubbing, health probes and swap-ins (see DEFAULT_RECOVERY). */
  recovery?: RecoveryOptions;
  /** Checking the storage challenges the chain names this node for (see DEFAULT_CHALLENGER). */
  challenge?: ChallengerOptions;
  /** Bytes kept free on the data directory's disk: below it uploads are refused and /readyz fails (default 1% of the disk, at most 1 GiB). */
  diskReserveBytes?: number;
  /** Connection caps, header deadline and minimum body rate (see DEFAULT_HTTP_LIMITS). */
  http?: HttpLimits;
  /**
   * A secondary silent this long during an upload is asked whether it is alive, and one that does
   * not answer that within half as long fails the upload (default REPLICATION_STALL_MS, 2 s).
   * Larger on machines so busy that a live process may not answer for seconds.
   */
  stallMs?: number;
}

export interface StorageNode {
  readonly address: Hex;
  readonly endpoint: string;
  readonly spId: number;
  readonly store: PieceStore;
  /** Present while the node runs. */
  readonly recovery: Recovery | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createStorageNode(opts: StorageNodeOptions): StorageNode {
  const operatorKey = normalizePrivateKey(opts.operatorKey);
  const address = privateKeyToAddress(operatorKey);
  const blsSecret = typeof opts.blsKey === 'string' ? fromHex(opts.blsKey) : opts.blsKey;
  const logger = opts.logger ?? silentLogger;
  // Counted, so readiness, status and metrics read the node's holdings without walking the store.
  const store = countHoldings(opts.store ?? createFsPieceStore({ dataDir: opts.dataDir, ...(opts.diskReserveBytes !== undefined ? { reserveBytes: opts.diskReserveBytes } : {}) }));
  let endpoint = '';
  let spId = 0;
  let challenger: Challenger | undefined;
  let running: { close(): Promise<void>; follower: { stop(): Promise<void> }; runtime: JobRuntime; recovery: Recovery } | undefined;

  return {
    address,
    get endpoint() {
      return endpoint;
    },
    get spId() {
      return spId;
    },
    get recovery() {
      return running?.recovery;
    },
    store,

    async start() {
      await store.start();
      try {
        const chain = await createChainClient({ rpcUrl: opts.rpcUrl, chainId: opts.chainId, privateKey: operatorKey });
        let providers = new Map<number, StorageProvider>();
        let operatorMissAt = 0;
        let operatorRefresh: Promise<void> | undefined;
        const refresh = async (): Promise<void> => {
          providers = new Map((await chain.listStorageProviders()).map((p) => [p.id, p]));
        };
        let me: StorageProvider | undefined;
        for (let attempt = 0; ; attempt++) {
          try {
            await refresh();
            me = [...providers.values()].find((p) => sameAddress(p.operatorAddress, address));
            if (me) break;
          } catch (e) {
            if (attempt > 100) throw e;
          }
          if (attempt > 100) throw new InsituError('ERR_PROVIDER_NOT_FOUND', `no storage provider with operator ${address} is registered on chain`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const status = await chain.status();
        const ctx: NodeContext = {
          chain,
          store,
          codec: createErasureCodec(),
          logger,
          operatorKey,
          address,
          blsSecret,
          chainId: status.chainId,
          spId: me!.id,
          baseHost: new URL(me!.endpoint).hostname,
          params: await chain.params(),
          uploads: new Set(),
          groups: createGroupCache(chain),
          metrics: createNodeMetrics(store),
          stallMs: opts.stallMs ?? REPLICATION_STALL_MS,
          async provider(id) {
            if (!providers.has(id)) await refresh();
            const p = providers.get(id);
            if (!p) throw new InsituError('ERR_PROVIDER_NOT_FOUND', `no storage provider ${id}`);
            return p;
          },
          async providerByOperator(a) {
            const find = (): StorageProvider | undefined => [...providers.values()].find((p) => sameAddress(p.operatorAddress, a));
            // A provider registered since the list was read is learnt by reading it again; an
            // account that is no provider can make that happen at most once a second.
            if (find()) return find();
            if (!operatorRefresh && Date.now() - operatorMissAt >= 1000) {
              operatorMissAt = Date.now();
              operatorRefresh = refresh().finally(() => (operatorRefresh = undefined));
            }
            await operatorRefresh?.catch(() => undefined);
            return find();
          },
        };
        const runtime = createJobRuntime({ cacheDir: join(opts.dataDir, 'job-cache'), workers: opts.jobWorkers ?? 2, logger });
        await runtime.start();
        const jobs = { runtime, dir: join(opts.dataDir, 'jobs'), maxMemoryMiB: 1024, maxTimeoutMs: 10 * 60_000, maxOutputBytes: 256 * 1024 * 1024 };
        const http = createHttpServer(ctx, jobs, opts.http);
        let port: number;
        try {
          port = await http.listen(opts.host ?? '127.0.0.1', opts.port ?? Number(new URL(me!.endpoint).port || 0));
        } catch (e) {
          // The job workers started above must not keep the process alive.
          await runtime.stop();
          throw e;
        }
        spId = me!.id;
        const u = new URL(me!.endpoint);
        endpoint = `${u.protocol}//${u.hostname}:${port}`;
        const recovery = startRecovery(ctx, opts.recovery);
        ctx.recovery = recovery;
        const ch = startChallenger(ctx, opts.challenge);
        challenger = ch;
        // One feed follower per node: dropped objects, disputed jobs to re-run, and challenges
        // naming this node (as a challenger, or as the challenged once failed) wake the challenger.
        const follower = startFollower(ctx, [jobVerifier(ctx, jobs)], (e) => {
          const type = e.type as string;
          if (type === 'challenge-issued' && String(e.attributes.challengers ?? '').split(',').map(Number).includes(ctx.spId)) ch.wake();
          else if (type === 'challenge-failed' && e.spId === ctx.spId) ch.wake();
        });
        running = { close: http.close, follower, runtime, recovery };
        logger.info('storage node serving', { spId, endpoint, address });
      } catch (e) {
        await store.stop();
        throw e;
      }
    },

    async stop() {
      if (!running) return;
      const r = running;
      running = undefined;
      await challenger?.stop();
      challenger = undefined;
      await r.recovery.stop();
      await r.follower.stop();
      await r.close();
      await r.runtime.stop();
      await store.stop();
    },
  };
}
