// The chain's state machine: genesis, the ante checks every transaction passes (signer, nonce,
// fee), message execution with Cosmos semantics (a failed message keeps the fee and nonce and
// reverts the rest), one block per transaction, tx records and the ordered event feed.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { InsituError, ErrorCodes } from '@insitu/sdk/errors.ts';
import { sameAddress, type Hex } from '@insitu/sdk/crypto/keys.ts';
import { genesisVirtualGroups, type Genesis } from '../genesis.ts';
import { LevelKV, CacheKV, encodeValue, decodeValue, type KV } from './store.ts';
import type { ChainApp, DecodedTx, ExecResult, TxRecord, BlockInfo, FeedEvent, AnyMsg, TxEvent } from './types.ts';
import { fail, type MsgContext, type MsgHandler, type QueryHandler, type FeedEmit } from './context.ts';
import { bankMsgs, bankQueries, ensureAccount, getAccount, accountKey, DENOM, FEE_COLLECTOR } from './modules/bank.ts';
import { chargeFee, paymentMsgs, paymentQueries, settleDue, seconds } from './modules/payment.ts';
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

import { silentLogger, type Logger } from '@insitu/sdk/logger.ts';

export { silentLogger, type Logger };

export interface ChainAppOptions {
  dataDir: string;
  genesis: Genesis;
  now?: () => number;
  logger?: Logger;
  /**
   * A development clock: `advanceTime` moves chain time forward (the offset is kept in the state,
   * so time never runs backwards across restarts). Devnets and tests use it to let stream
   * payments run for months in a moment.
   */
  devClock?: boolean;
}

/** Gas charged per message; Greenfield's storage messages have fixed gas too. */
export const GAS_PER_MSG = 120_000n;

const MSGS: Record<string, { handler: MsgHandler; signer: (m: Record<string, unknown>) => string }> = {
  ...bankMsgs, ...providerMsgs, ...storageMsgs, ...permissionMsgs, ...computeMsgs, ...recoveryMsgs, ...groupMsgs, ...paymentMsgs,
  ...stakeMsgs, ...challengeMsgs,
};
const QUERIES: Record<string, QueryHandler> = { ...bankQueries, ...providerQueries, ...storageQueries, ...permissionQueries, ...computeQueries, ...recoveryQueries, ...auditQueries, ...groupQueries, ...paymentQueries, ...stakeQueries, ...challengeQueries };

export const supportedMessages = (): string[] => Object.keys(MSGS);

const CODE_NUMBERS = new Map(Object.keys(ErrorCodes).map((c, i) => [c, i + 2]));

function errorResult(e: unknown, gasWanted: bigint, gasUsed: bigint): ExecResult {
  const ie = e instanceof InsituError ? e : new InsituError('ERR_INTERNAL', e instanceof Error ? e.message : String(e));
  return {
    code: CODE_NUMBERS.get(ie.code) ?? 1,
    codespace: 'insitu',
    log: `${ie.code}: ${ie.message}`,
    errorCode: ie.code,
    gasWanted,
    gasUsed,
    events: [],
    responses: [],
  };
}

const pad = (n: bigint): string => n.toString().padStart(20, '0');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function createChainApp(opts: ChainAppOptions): ChainApp & { kv(): KV; genesis: Genesis } {
  const wallClock = opts.now ?? Date.now;
  let clockOffset = 0;
  const now = (): number => wallClock() + clockOffset;
  const logger = opts.logger ?? silentLogger;
  const genesis = opts.genesis;
  const minGasPrice = BigInt(genesis.minGasPrice);
  let db: Level<string, string> | undefined;
  let committed: LevelKV | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const listeners = new Set<(b: BlockInfo) => void>();

  const state = (): LevelKV => {
    if (!committed) throw new InsituError('ERR_CHAIN_UNAVAILABLE', 'the chain state is not open');
    return committed;
  };

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  async function latest(): Promise<BlockInfo> {
    const h = (await state().get<bigint>('meta/height')) ?? 0n;
    return (await state().get<BlockInfo>(`block/${pad(h)}`))!;
  }

  async function ante(kv: KV, tx: DecodedTx | (Omit<DecodedTx, 'signer'> & { signer: Hex | null }), gasNeeded: bigint): Promise<void> {
    if (tx.msgs.length === 0) throw new InsituError('ERR_BAD_REQUEST', 'a transaction needs at least one message');
    for (const m of tx.msgs) {
      const def = MSGS[m.typeUrl];
      if (!def) throw new InsituError('ERR_BAD_REQUEST', `unsupported message ${m.typeUrl}`);
      if (tx.signer && !sameAddress(def.signer(m.value), tx.signer)) {
        throw new InsituError('ERR_TX_SIGNATURE', `message ${m.typeUrl} must be signed by ${def.signer(m.value)}, not ${tx.signer}`);
      }
    }
    if (!tx.signer) return;
    const acct = await getAccount(kv, tx.signer);
    if (!acct) throw new InsituError('ERR_ACCOUNT_NOT_FOUND', `account ${tx.signer} does not exist; fund it first`);
    if (tx.sequence !== acct.sequence) {
      throw new InsituError('ERR_TX_NONCE', `account sequence mismatch: expected ${acct.sequence}, got ${tx.sequence}`);
    }
    if (tx.feeDenom !== DENOM) throw new InsituError('ERR_TX_FEE', `fees are paid in ${DENOM}, not ${tx.feeDenom || 'nothing'}`);
    if (tx.gasLimit < gasNeeded) throw new InsituError('ERR_TX_FEE', `out of gas: limit ${tx.gasLimit}, needed ${gasNeeded}`);
    const minFee = tx.gasLimit * minGasPrice;
    if (tx.feeAmount < minFee) throw new InsituError('ERR_TX_FEE', `insufficient fee: ${tx.feeAmount} < ${minFee} (${minGasPrice} per gas)`);
    await chargeFee(kv, tx.signer, tx.feeAmount);
    const after = (await getAccount(kv, tx.signer))!;
    after.sequence += 1n;
    kv.put(accountKey(tx.signer), after);
  }

  /** Writes a block (with its tx, if any, already put in `kv`), its feed events, and tells listeners. */
  async function commitBlock(kv: CacheKV, prev: BlockInfo, time: number, txHash: Uint8Array | null, feed: FeedEmit[]): Promise<BlockInfo> {
    const height = prev.height + 1n;
    const block: BlockInfo = {
      height,
      time,
      hash: new Uint8Array(createHash('sha256').update(prev.hash).update(txHash ?? new Uint8Array()).update(String(height)).digest()),
      txHashes: txHash ? [new Uint8Array(txHash)] : [],
    };
    let seq = (await kv.get<bigint>('meta/eventSeq')) ?? 0n;
    for (const f of feed) {
      seq += 1n;
      const ev: FeedEvent = { seq, height, txHash, type: f.type, attributes: f.attributes };
      kv.put(`event/${pad(seq)}`, ev);
    }
    kv.put('meta/eventSeq', seq);
    kv.put(`block/${pad(height)}`, block);
    kv.put('meta/height', height);
    await state().db.batch(kv.batch() as never);
    for (const l of listeners) {
      try {
        l(block);
      } catch (e) {
        logger.error('commit listener failed', { error: String(e) });
      }
    }
    return block;
  }

  /** A block without transactions when a payer's balance has run out since the last one. */
  async function tickNow(): Promise<BlockInfo | undefined> {
    const prev = await latest();
    const time = Math.max(now(), prev.time);
    const kv = new CacheKV(state());
    const feed = await settleDue(kv, seconds(time));
    feed.push(...(await providersEndBlock({ kv, height: prev.height + 1n, now: time, seed: prev.hash, genesis })));
    feed.push(...(await computeEndBlock({ kv, now: time })));
    if (feed.length === 0) return undefined;
    return commitBlock(kv, prev, time, null, feed);
  }

  const gasFor = (tx: { msgs: AnyMsg[] }): bigint => GAS_PER_MSG * BigInt(tx.msgs.length);

  async function applyGenesis(): Promise<void> {
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
    // The genesis block is height 1: clients treat height 0 as "no height".
    const block: BlockInfo = { height: 1n, time: genesis.genesisTime, hash: createHash('sha256').update(genesis.chainId).digest(), txHashes: [] };
    kv.put('block/' + pad(1n), block);
    kv.put('meta/height', 1n);
    kv.put('meta/genesis', genesis.chainId);
    await state().db.batch(kv.batch() as never);
  }

  return {
    chainId: genesis.chainId,
    genesis,
    minGasPrice,
    kv: state,

    async init() {
      await mkdir(opts.dataDir, { recursive: true });
      db = new Level<string, string>(join(opts.dataDir, 'state'), { valueEncoding: 'utf8' });
      await db.open();
      committed = new LevelKV(db);
      clockOffset = (await committed.get<number>('meta/clockOffset')) ?? 0;
      const stored = await committed.get<string>('meta/genesis');
      if (stored === undefined) {
        await applyGenesis();
        logger.info('genesis applied', { chainId: genesis.chainId, accounts: genesis.accounts.length, providers: genesis.providers.length });
      } else if (stored !== genesis.chainId) {
        throw new InsituError('ERR_CONFIG', `data dir holds chain ${stored}, not ${genesis.chainId}`);
      }
    },

    async close() {
      await queue;
      await db?.close();
      db = undefined;
      committed = undefined;
    },

    async checkTx(tx) {
      const gas = gasFor(tx);
      try {
        await ante(new CacheKV(state()), tx, gas);
        return { code: 0, codespace: '', log: '', gasWanted: tx.gasLimit, gasUsed: gas, events: [], responses: [] };
      } catch (e) {
        return errorResult(e, tx.gasLimit, gas);
      }
    },

    deliverTx(tx) {
      return serial(async () => {
        const prev = await latest();
        const height = prev.height + 1n;
        const time = Math.max(now(), prev.time);
        const gas = gasFor(tx);
        const anteKV = new CacheKV(state());
        let result: ExecResult;
        // Greenfield's auto-settle runs at every block: payers whose balance ran out are settled first.
        const feed: FeedEmit[] = await settleDue(anteKV, seconds(time));
        feed.push(...(await providersEndBlock({ kv: anteKV, height, now: time, seed: prev.hash, genesis })));
        // Job fees whose dispute window closed go to their providers; disputes past their deadline are decided.
        feed.push(...(await computeEndBlock({ kv: anteKV, now: time })));
        const settled = feed.length;
        try {
          await ante(anteKV, tx, gas);
          const msgKV = new CacheKV(anteKV);
          // The fee and sequence events Cosmos emits for every admitted tx, failed or not.
          const anteEvents: TxEvent[] = [
            { type: 'tx', attributes: [{ key: 'fee', value: `${tx.feeAmount}${DENOM}` }, { key: 'fee_payer', value: tx.signer }] },
            { type: 'tx', attributes: [{ key: 'acc_seq', value: `${tx.signer}/${tx.sequence}` }] },
          ];
          const txEvents: TxEvent[] = [...anteEvents];
          const ctx: MsgContext = { kv: msgKV, signer: tx.signer, height, now: time, genesis, txEvents, feed };
          const responses: AnyMsg[] = [];
          try {
            for (const m of tx.msgs) {
              const value = await MSGS[m.typeUrl]!.handler(ctx, m.value);
              responses.push({ typeUrl: `${m.typeUrl}Response`, value });
              txEvents.push({ type: 'message', attributes: [
                { key: 'action', value: m.typeUrl },
                { key: 'sender', value: tx.signer },
                { key: 'module', value: m.typeUrl.split('.')[1] ?? '' },
              ] });
            }
            msgKV.flushInto(anteKV);
            result = { code: 0, codespace: '', log: '', gasWanted: tx.gasLimit, gasUsed: gas, events: txEvents, responses };
          } catch (e) {
            feed.length = settled;
            result = { ...errorResult(e, tx.gasLimit, gas), events: anteEvents };
          }
        } catch (e) {
          // Failed ante: nothing but the record of the attempt is kept (the settlement runs again next block).
          return { hash: tx.hash, height: prev.height, index: -1, raw: tx.raw, result: errorResult(e, tx.gasLimit, gas) };
        }
        const record: TxRecord = { hash: tx.hash, height, index: 0, raw: tx.raw, result };
        anteKV.put(`tx/${hex(tx.hash)}`, record);
        await commitBlock(anteKV, prev, time, tx.hash, feed);
        if (result.code !== 0) logger.debug('tx failed', { hash: hex(tx.hash), log: result.log });
        return record;
      });
    },

    async query(path, request) {
      const handler = QUERIES[path];
      if (!handler) throw new InsituError('ERR_BAD_REQUEST', `unknown query path ${path}`);
      const last = await latest();
      // Chain time never precedes the last block's.
      return handler({ kv: state(), genesis, height: last.height, now: Math.max(now(), last.time) }, request);
    },

    async simulate(tx) {
      const gas = gasFor(tx);
      try {
        await ante(new CacheKV(state()), tx, 0n);
        return { code: 0, codespace: '', log: '', gasWanted: gas, gasUsed: gas, events: [], responses: [] };
      } catch (e) {
        return errorResult(e, gas, gas);
      }
    },

    async getTx(hash) {
      return state().get<TxRecord>(`tx/${hex(hash)}`);
    },

    latestBlock: latest,

    now,

    tick() {
      return serial(tickNow);
    },

    advanceTime(ms: number) {
      return serial(async () => {
        if (!opts.devClock) throw new InsituError('ERR_BAD_REQUEST', 'this chain runs on the wall clock; start it with a development clock to move time');
        if (!Number.isFinite(ms) || ms <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'time moves forward by a positive number of milliseconds');
        clockOffset += Math.floor(ms);
        const kv = new CacheKV(state());
        kv.put('meta/clockOffset', clockOffset);
        await state().db.batch(kv.batch() as never);
        await tickNow();
        return now();
      });
    },

    async getBlock(height) {
      return state().get<BlockInfo>(`block/${pad(height)}`);
    },

    async events(after, limit) {
      const rows = await state().list<FeedEvent>('event/', { after: `event/${pad(after)}`, limit });
      return rows.map(([, v]) => v);
    },

    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export { encodeValue, decodeValue };
