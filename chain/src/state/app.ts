// The chain's state machine: genesis, the message and query registries, the per-block work,
// and the application both ways of running the chain drive — CheckTx against a check state,
// FinalizeBlock through the one block executor (./block.ts), Commit as one atomic LevelDB
// batch, Info and Query. The embedded chain proposes its own blocks (produceBlock); the ABCI
// server hands over CometBFT's.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Level } from 'level';
import { InsituError, keccakReady } from '@insitu/protocol';
import type { Hex } from '@insitu/protocol';
import { genesisVirtualGroups, evmChainId, type Genesis } from '../genesis.ts';
import { decodeAndVerifyTx } from '../tx/decode.ts';
import { LevelKV, CacheKV, encodeValue, decodeValue, type KV } from './store.ts';
import type { ChainApp, DecodedTx, ExecResult, TxRecord, BlockInfo, FeedEvent } from './types.ts';
import { fail, type QueryHandler, type MsgContext } from './context.ts';
import {
  executeBlock, embeddedBlockHash, ante, anteEventsOf, runMessages, gasFor, errorResult, nextAppHash, pad, CLOCK_OFFSET_KEY, GAS_PER_MSG,
  type BlockDeps, type BlockHook, type BlockHeader, type BlockTx, type ExecutedBlock, type MsgDef,
} from './block.ts';
import { bankQueries, ensureAccount, accountKey, FEE_COLLECTOR } from './modules/bank.ts';
import { bankMsgs } from './modules/send.ts';
import { paymentMsgs, paymentQueries, settleDue, seconds } from './modules/payment/index.ts';
import { providerMsgs, providerQueries, addGvg, SP_DEPOSIT_POOL } from './modules/providers.ts';
import { storageMsgs, storageQueries } from './modules/storage.ts';
import { permissionMsgs, permissionQueries } from './modules/permission.ts';
import { computeMsgs, computeQueries, computeEndBlock, COMPUTE_ESCROW } from './modules/compute.ts';
import { recoveryMsgs, recoveryQueries } from './modules/recovery.ts';
import { auditQueries } from './modules/audit.ts';
import { groupMsgs, groupQueries } from './modules/group.ts';
import { stakeMsgs, stakeQueries, addGenesisProvider } from './modules/stake.ts';
import { challengeMsgs, challengeQueries, CHALLENGE_ESCROW } from './modules/challenge.ts';
import { providersEndBlock } from './modules/accountability.ts';
import { devClockMsgs, devClockQueries } from './modules/devclock.ts';
import { feedQueries } from './modules/feed.ts';

import { silentLogger, type Logger } from '@insitu/protocol';

export { silentLogger, type Logger, GAS_PER_MSG };

export interface ChainAppOptions {
  dataDir: string;
  genesis: Genesis;
  /** The embedded chain's clock for its block times (ms); CometBFT's headers carry their own. */
  now?: () => number;
  logger?: Logger;
  /** Kept for callers of earlier versions: the genesis (`devClock`) decides whether time can be moved. */
  devClock?: boolean;
  /**
   * 'embedded' (default): init() applies genesis and makes block 1 itself. 'abci': the state
   * waits for CometBFT's InitChain and blocks.
   */
  mode?: 'embedded' | 'abci';
}

const MSGS: Record<string, MsgDef> = {
  ...bankMsgs, ...providerMsgs, ...storageMsgs, ...permissionMsgs, ...computeMsgs, ...recoveryMsgs, ...groupMsgs, ...paymentMsgs, ...devClockMsgs,
  ...stakeMsgs, ...challengeMsgs,
};
// Each table is typed by its paths (QueryTable); joined, they answer by path at run time.
const QUERIES = {
  ...bankQueries, ...providerQueries, ...storageQueries, ...permissionQueries, ...computeQueries, ...recoveryQueries, ...auditQueries, ...groupQueries,
  ...paymentQueries, ...devClockQueries, ...feedQueries,
  ...stakeQueries, ...challengeQueries,
} as Record<string, QueryHandler>;

/**
 * Per-block work at the start of every block, in this order (and again within a block after a
 * transaction moved the development clock). Greenfield's auto-settle comes first: payers whose
 * balance ran out are settled before the block's transactions.
 */
const BEGIN_BLOCK: BlockHook[] = [
  (b) => settleDue(b.kv, seconds(b.now)),
  // Job fees whose dispute window closed go to their providers; disputes past their deadline are decided.
  (b) => computeEndBlock(b),
];

/** Per-block work after the block's transactions, in this order. */
const END_BLOCK: BlockHook[] = [
  providersEndBlock,
];

export const supportedMessages = (): string[] => Object.keys(MSGS);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** How many of the newest feed events are kept in memory for followers near the head of the feed. */
const FEED_TAIL = 4096;
/** How many verified transactions are remembered (oldest forgotten first). */
const VERIFIED_CACHE = 20_000;

export type StateApp = ChainApp & { kv(): KV; genesis: Genesis };

export function createChainApp(opts: ChainAppOptions): StateApp {
  const wallClock = opts.now ?? Date.now;
  const mode = opts.mode ?? 'embedded';
  const logger = opts.logger ?? silentLogger;
  const genesis = opts.genesis;
  const minGasPrice = BigInt(genesis.minGasPrice);
  const evm = String(evmChainId(genesis.chainId));
  let db: Level<string, string> | undefined;
  let committed: LevelKV | undefined;
  /** The mempool's view: committed state plus the ante effects of the txs checked since the last commit. */
  let checkState: CacheKV | undefined;
  /** FinalizeBlock's result, waiting for Commit. */
  let pending: ExecutedBlock | undefined;
  let last: BlockInfo | undefined;
  let clockOffset = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const listeners = new Set<(b: BlockInfo) => void>();
  /**
   * The newest feed events as committed, in seq order: every event after `after` is in `events`
   * (seqs are consecutive). Storage nodes follow the feed from near its head after every block;
   * they are answered from here instead of a LevelDB walk each. Undefined until the state is open.
   */
  let feedTail: { after: bigint; events: FeedEvent[] } | undefined;

  const state = (): LevelKV => {
    if (!committed) throw new InsituError('ERR_CHAIN_UNAVAILABLE', 'the chain state is not open');
    return committed;
  };

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  /**
   * Transactions whose signature this process has already recovered (in CheckTx, or an earlier
   * block), by hash: the same bytes always decode to the same signer, since an account's number
   * never changes once the account exists, so recheck and FinalizeBlock skip the EIP-712 work.
   */
  const verified = new Map<string, DecodedTx>();
  const accountNumber = (kv: KV) => async (address: Hex): Promise<bigint | undefined> =>
    (await kv.get<{ number: bigint }>(accountKey(address)))?.number;

  const deps: BlockDeps = {
    genesis,
    minGasPrice,
    msgs: MSGS,
    beginBlock: BEGIN_BLOCK,
    endBlock: END_BLOCK,
    decode: async (raw, kv) => {
      const key = createHash('sha256').update(raw).digest('hex');
      const known = verified.get(key);
      if (known) return known;
      const tx = await decodeAndVerifyTx(raw, { evmChainId: evm, accountNumber: accountNumber(kv) });
      verified.set(key, tx);
      if (verified.size > VERIFIED_CACHE) verified.delete(verified.keys().next().value!);
      return tx;
    },
  };

  async function latest(): Promise<BlockInfo> {
    if (last) return last;
    const h = (await state().get<bigint>('meta/height')) ?? 0n;
    const b = await state().get<BlockInfo>(`block/${pad(h)}`);
    if (!b) throw new InsituError('ERR_CHAIN_UNAVAILABLE', 'the chain has no genesis yet (waiting for InitChain)');
    last = b;
    return b;
  }

  /** Genesis at height 0: accounts, providers and groups; returns the genesis app hash. */
  async function applyGenesis(): Promise<BlockInfo> {
    const kv = new CacheKV(state());
    await ensureAccount(kv, FEE_COLLECTOR);
    await ensureAccount(kv, SP_DEPOSIT_POOL);
    await ensureAccount(kv, COMPUTE_ESCROW);
    for (const a of genesis.accounts) {
      const acct = await ensureAccount(kv, a.address);
      acct.balance += BigInt(a.balance);
      kv.put(accountKey(a.address), acct);
    }
    const ids: number[] = [];
    await ensureAccount(kv, CHALLENGE_ESCROW);
    for (const p of genesis.providers) ids.push((await addGenesisProvider(kv, genesis, p)).id);
    const spId = (n: number): number => ids[n - 1] ?? fail('ERR_CONFIG', `genesis virtual group names provider ${n} of ${ids.length}`);
    for (const v of genesisVirtualGroups(genesis)) await addGvg(kv, spId(v.primarySpId), v.secondarySpIds.map(spId), genesis.genesisTime);
    kv.put('meta/height', 0n);
    kv.put('meta/genesis', genesis.chainId);
    const chainHash = new Uint8Array(createHash('sha256').update(genesis.chainId).digest());
    const block: BlockInfo = {
      height: 0n,
      time: genesis.genesisTime,
      headerTime: genesis.genesisTime,
      hash: chainHash,
      appHash: nextAppHash(chainHash, kv.batch()),
      txHashes: [],
    };
    kv.put(`block/${pad(0n)}`, block);
    await state().commit(kv.batch());
    last = block;
    logger.info('genesis applied', { chainId: genesis.chainId, accounts: genesis.accounts.length, providers: genesis.providers.length });
    return block;
  }

  async function finalize(header: BlockHeader, txs: BlockTx[]): Promise<ExecutedBlock> {
    if (pending) throw new InsituError('ERR_INTERNAL', `block ${pending.block.height} was finalized but not committed`);
    pending = await executeBlock(deps, state(), await latest(), header, txs);
    return pending;
  }

  async function commitPending(): Promise<BlockInfo> {
    const done = pending;
    if (!done) throw new InsituError('ERR_INTERNAL', 'nothing to commit: no block was finalized');
    const writes = done.writes.batch();
    await state().commit(writes);
    // At once after the batch is stored: a feed read sees the block's events in both places or
    // neither. Decoded from what was stored, so the tail answers exactly what LevelDB would.
    if (feedTail) extendFeedTail(feedTail, writes.filter((w) => w.type === 'put' && w.key.startsWith('event/')).map((w) => decodeValue<FeedEvent>(w.value!)));
    pending = undefined;
    last = done.block;
    checkState = undefined;
    clockOffset = (await state().get<number>(CLOCK_OFFSET_KEY)) ?? 0;
    for (const l of listeners) {
      try {
        l(done.block);
      } catch (e) {
        logger.error('commit listener failed', { error: String(e) });
      }
    }
    return done.block;
  }

  /** The embedded chain's next block header: its clock (never behind the last block) and hash. */
  async function embeddedHeader(txs: BlockTx[], time?: number): Promise<BlockHeader> {
    const prev = await latest();
    const height = prev.height + 1n;
    return { height, time: Math.max(time ?? wallClock(), prev.headerTime ?? prev.time), hash: embeddedBlockHash(prev, height, txs) };
  }

  async function produce(txs: BlockTx[], time?: number, aroundCommit?: (commit: () => Promise<BlockInfo>) => Promise<BlockInfo>): Promise<ExecutedBlock> {
    const executed = await finalize(await embeddedHeader(txs, time), txs);
    await (aroundCommit ? aroundCommit(commitPending) : commitPending());
    return executed;
  }

  const checkOn = async (kv: KV, tx: DecodedTx): Promise<ExecResult> => {
    const gas = gasFor(tx);
    try {
      await ante(deps, kv, tx, gas);
      return { code: 0, codespace: '', log: '', gasWanted: tx.gasLimit, gasUsed: gas, events: [], responses: [] };
    } catch (e) {
      return errorResult(e, tx.gasLimit, gas);
    }
  };

  return {
    chainId: genesis.chainId,
    genesis,
    minGasPrice,
    kv: state,

    async init() {
      // Signatures are checked with the WebAssembly keccak from the first transaction on.
      await keccakReady;
      await mkdir(opts.dataDir, { recursive: true });
      db = new Level<string, string>(join(opts.dataDir, 'state'), { valueEncoding: 'utf8' });
      await db.open();
      committed = new LevelKV(db);
      feedTail = { after: (await committed.get<bigint>('meta/eventSeq')) ?? 0n, events: [] };
      last = undefined;
      clockOffset = (await committed.get<number>(CLOCK_OFFSET_KEY)) ?? 0;
      const stored = await committed.get<string>('meta/genesis');
      if (stored !== undefined && stored !== genesis.chainId) {
        throw new InsituError('ERR_CONFIG', `data dir holds chain ${stored}, not ${genesis.chainId}`);
      }
      if (mode === 'embedded') {
        if (stored === undefined) await applyGenesis();
        // Block 1 at genesis time, as CometBFT's first block carries the genesis time.
        if ((await latest()).height === 0n) await serial(() => produce([], genesis.genesisTime));
      }
    },

    async close() {
      await queue;
      await db?.close();
      db = undefined;
      committed = undefined;
      feedTail = undefined;
      last = undefined;
      pending = undefined;
      checkState = undefined;
    },

    info: async () => {
      const h = (await state().get<bigint>('meta/height'));
      if (h === undefined) return { height: 0n, appHash: new Uint8Array() };
      const b = await latest();
      return { height: b.height, appHash: b.appHash };
    },

    initChain: (chainId) => serial(async () => {
      if (chainId !== genesis.chainId) throw new InsituError('ERR_CONFIG', `CometBFT's genesis is for chain ${chainId}, the app's for ${genesis.chainId}`);
      const stored = await state().get<string>('meta/genesis');
      const b = stored === undefined ? await applyGenesis() : await latest();
      return b.appHash;
    }),

    async checkTx(tx) {
      return checkOn(new CacheKV(state()), tx);
    },

    async checkTxBytes(raw, o) {
      const kv = (checkState ??= new CacheKV(state()));
      let tx: DecodedTx;
      try {
        tx = await deps.decode(raw, kv);
      } catch (e) {
        return { ...errorResult(e, 0n, 0n), hash: new Uint8Array(createHash('sha256').update(raw).digest()) };
      }
      if (!o?.recheck && (await state().get<TxRecord>(`tx/${hex(tx.hash)}`))?.result.code === 0) {
        return { ...errorResult(new InsituError('ERR_TX_NONCE', 'transaction already in the chain'), tx.gasLimit, 0n), hash: tx.hash, tx };
      }
      // Ante effects (fee, nonce) stay in the check state, so the next tx of the same sender
      // is checked against the nonce after this one, as Cosmos's mempool does.
      const scratch = new CacheKV(kv);
      const r = await checkOn(scratch, tx);
      if (r.code === 0) scratch.flushInto(kv);
      return { ...r, hash: tx.hash, tx };
    },

    async prepareTx(raw) {
      await deps.decode(raw, state()).catch(() => undefined);
    },

    finalizeBlock: (header, txs) => serial(() => finalize(header, txs)),

    commit: () => serial(commitPending),

    produceBlock: (txs, o) => serial(() => produce(txs, undefined, o?.aroundCommit)),

    deliverTx(tx) {
      return serial(async () => {
        // A tx that fails admission makes no block (the proposer leaves it out).
        const admission = await checkOn(new CacheKV(state()), tx);
        if (admission.code !== 0) return { hash: tx.hash, height: (await latest()).height, index: -1, raw: tx.raw, result: admission };
        const executed = await produce([tx]);
        const rec = executed.records[0]!;
        if (rec.result.code !== 0) logger.debug('tx failed', { hash: hex(tx.hash), log: rec.result.log });
        return rec;
      });
    },

    async query(path, request) {
      const handler = QUERIES[path];
      if (!handler) throw new InsituError('ERR_BAD_REQUEST', `unknown query path ${path}`);
      const b = await latest();
      // Chain time never precedes the last block's; the embedded chain's runs on between blocks.
      const now = mode === 'embedded' ? Math.max(wallClock() + clockOffset, b.time) : b.time;
      try {
        return await handler({ kv: state(), genesis, height: b.height, now }, request);
      } catch (e) {
        // JSON requests are untyped: a field that does not convert (BigInt('x'), BigInt(1.5),
        // a missing id) is the caller's bad input, not a bug.
        if (e instanceof SyntaxError || e instanceof RangeError) throw new InsituError('ERR_INVALID_ARGUMENT', `a field of the ${path} request is malformed: ${e.message.slice(0, 200)}`, { cause: e });
        throw e;
      }
    },

    async simulate(tx) {
      const gas = gasFor(tx);
      // A throwaway cache of the committed state (Cosmos's simulation runs on a copy of the
      // check state): nothing is written, no sequence consumed, no feed event kept.
      const kv = new CacheKV(state());
      // Simulations usually carry no public key (greenfield-js-sdk sends a zero key): the
      // signer is the one the messages name, and ante checks that they all name the same one.
      const signer = tx.signer ?? simulatedSigner(tx);
      try {
        await ante(deps, kv, { ...tx, signer }, 0n);
      } catch (e) {
        // Refused before any message ran: no gas figure, as the transaction would not be admitted.
        return errorResult(e, gas, 0n);
      }
      if (!signer) return errorResult(new InsituError('ERR_TX_SIGNATURE', 'the simulated transaction carries no public key and its message names no signer'), gas, 0n);
      const b = await latest();
      const events = anteEventsOf({ ...tx, signer });
      const ctx: MsgContext = {
        kv, signer, height: b.height + 1n, now: chainNow(b), seed: b.hash, genesis, txEvents: events, feed: [],
      };
      try {
        const responses = await runMessages(MSGS, ctx, tx.msgs);
        return { code: 0, codespace: '', log: '', gasWanted: gas, gasUsed: gas, events: ctx.txEvents, responses };
      } catch (e) {
        // A message the block would refuse: its code, and the gas the transaction would use.
        return { ...errorResult(e, gas, gas), events };
      }
    },

    async getTx(hash) {
      return state().get<TxRecord>(`tx/${hex(hash)}`);
    },

    latestBlock: latest,

    now() {
      return mode === 'embedded' ? Math.max(wallClock() + clockOffset, last?.time ?? 0) : (last?.time ?? genesis.genesisTime);
    },

    tick() {
      return serial(async () => {
        const header = await embeddedHeader([]);
        const executed = await executeBlock(deps, state(), await latest(), header, []);
        // Only a block with something to settle is worth making.
        if (executed.block.txHashes.length === 0 && !(await hasFeed(executed))) return undefined;
        pending = executed;
        return commitPending();
      });
    },

    async getBlock(height) {
      return state().get<BlockInfo>(`block/${pad(height)}`);
    },

    async events(after, limit) {
      const tail = feedTail;
      if (tail && after >= tail.after) {
        const from = Number(after - tail.after);
        return tail.events.slice(from, from + Math.max(1, Math.floor(limit) || 1));
      }
      const rows = await state().list<FeedEvent>('event/', { after: `event/${pad(after)}`, limit });
      return rows.map(([, v]) => v);
    },

    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  /** Appends a committed block's feed events to the tail, keeping its newest FEED_TAIL. */
  function extendFeedTail(tail: { after: bigint; events: FeedEvent[] }, added: FeedEvent[]): void {
    for (const ev of added.sort((a, b) => (a.seq < b.seq ? -1 : 1))) {
      const lastSeq = tail.events.at(-1)?.seq ?? tail.after;
      // Never expected (seqs are consecutive): the tail starts again after the event, older ones from LevelDB.
      if (ev.seq !== lastSeq + 1n) {
        tail.after = ev.seq;
        tail.events = [];
        continue;
      }
      tail.events.push(ev);
    }
    if (tail.events.length > FEED_TAIL) {
      const dropped = tail.events.splice(0, tail.events.length - FEED_TAIL);
      tail.after = dropped.at(-1)!.seq;
    }
  }

  /** The chain time a transaction sent now would run at (as queries see it). */
  function chainNow(b: BlockInfo): number {
    return mode === 'embedded' ? Math.max(wallClock() + clockOffset, b.time) : b.time;
  }

  /** The signer the messages of a simulated transaction name (the first one's; ante checks the rest). */
  function simulatedSigner(tx: { msgs: { typeUrl: string; value: Record<string, unknown> }[] }): Hex | null {
    const m = tx.msgs[0];
    const def = m ? MSGS[m.typeUrl] : undefined;
    if (!m || !def) return null;
    try {
      const s = def.signer(m.value);
      return typeof s === 'string' && /^0x[0-9a-fA-F]{40}$/.test(s) ? (s as Hex) : null;
    } catch {
      return null;
    }
  }

  async function hasFeed(executed: ExecutedBlock): Promise<boolean> {
    return ((await executed.writes.get<bigint>('meta/eventSeq')) ?? 0n) !== ((await state().get<bigint>('meta/eventSeq')) ?? 0n);
  }
}

export { encodeValue, decodeValue };
