// Block execution: the one code path both ways of running the chain use. The embedded chain
// and the ABCI application (FinalizeBlock) hand a block — height, header time, block hash and
// its transactions in order — to executeBlock, which runs the per-block work, every
// transaction (decode and signature check, ante, messages) and returns the block's write set
// and its app hash; nothing is stored until the caller commits the write set in one batch.
//
// Determinism: everything here depends on the block and the committed state only. Time is the
// header's time plus the development clock's offset (kept in the state), randomness is the
// block hash, and the app hash chains the previous one with a hash of the block's write set in
// key order.

import { createHash } from 'node:crypto';
import { InsituError, chainCodeNumber } from '@insitu/protocol';
import { sameAddress, type Hex } from '@insitu/protocol';
import type { Genesis } from '../genesis.ts';
import { CacheKV, type KV } from './store.ts';
import type { AnyMsg, BlockInfo, DecodedTx, ExecResult, FeedEvent, TxEvent, TxRecord } from './types.ts';
import type { FeedEmit, MsgContext, MsgHandler } from './context.ts';
import { getAccount, accountKey, DENOM } from './modules/bank.ts';
import { chargeFee } from './modules/payment/index.ts';

/** Gas charged per message; Greenfield's storage messages have fixed gas too. */
export const GAS_PER_MSG = 120_000n;

export const CLOCK_OFFSET_KEY = 'meta/clockOffset';

export interface MsgDef {
  handler: MsgHandler;
  signer: (m: Record<string, unknown>) => string;
}

/** What per-block work sees: the block's state, height, chain time (ms) and randomness. */
export interface BlockContext {
  kv: KV;
  height: bigint;
  /** Chain time in ms: the header's time plus the development clock's offset. */
  now: number;
  /** Randomness of this block (its hash); the same on every validator. */
  seed: Uint8Array;
  genesis: Genesis;
}

/** Per-block work (settlement, challenges, dispute windows …): returns events for the feed. */
export type BlockHook = (ctx: BlockContext) => Promise<FeedEmit[]>;

export interface BlockHeader {
  height: bigint;
  /** Header time in ms (CometBFT's BFT time, or the embedded chain's clock). */
  time: number;
  /** The block's hash (CometBFT's block id); also the block's randomness. */
  hash: Uint8Array;
}

/** A transaction as a block carries it: raw bytes, or already decoded and authenticated. */
export type BlockTx = Uint8Array | DecodedTx;

export interface BlockDeps {
  genesis: Genesis;
  minGasPrice: bigint;
  msgs: Record<string, MsgDef>;
  /** Run at the start of every block, and again after a transaction that moved the clock. */
  beginBlock: BlockHook[];
  /** Run after the block's transactions. */
  endBlock: BlockHook[];
  /** Decodes raw tx bytes and checks their signature against the block's state. */
  decode(raw: Uint8Array, kv: KV): Promise<DecodedTx>;
}

export interface ExecutedBlock {
  block: BlockInfo;
  /** One result per transaction of the block, in order. */
  results: ExecResult[];
  records: TxRecord[];
  /** Every write of the block (state, tx records, feed, block record): commit it in one batch. */
  writes: CacheKV;
}

export const pad = (n: bigint): string => n.toString().padStart(20, '0');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function errorResult(e: unknown, gasWanted: bigint, gasUsed: bigint): ExecResult {
  const ie = e instanceof InsituError ? e : new InsituError('ERR_INTERNAL', e instanceof Error ? e.message : String(e));
  return {
    code: chainCodeNumber(ie.code),
    codespace: 'insitu',
    log: `${ie.code}: ${ie.message}`,
    errorCode: ie.code,
    gasWanted,
    gasUsed,
    events: [],
    responses: [],
  };
}

export const gasFor = (tx: { msgs: AnyMsg[] }): bigint => GAS_PER_MSG * BigInt(tx.msgs.length);

type AnteTx = DecodedTx | (Omit<DecodedTx, 'signer'> & { signer: Hex | null });

/** The checks every transaction passes before its messages run: signer, nonce, fee; charges the fee. */
export async function ante(deps: Pick<BlockDeps, 'msgs' | 'minGasPrice'>, kv: KV, tx: AnteTx, gasNeeded: bigint): Promise<void> {
  if (tx.msgs.length === 0) throw new InsituError('ERR_BAD_REQUEST', 'a transaction needs at least one message');
  for (const m of tx.msgs) {
    const def = deps.msgs[m.typeUrl];
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
  const minFee = tx.gasLimit * deps.minGasPrice;
  if (tx.feeAmount < minFee) throw new InsituError('ERR_TX_FEE', `insufficient fee: ${tx.feeAmount} < ${minFee} (${deps.minGasPrice} per gas)`);
  await chargeFee(kv, tx.signer, tx.feeAmount);
  const after = (await getAccount(kv, tx.signer))!;
  after.sequence += 1n;
  kv.put(accountKey(tx.signer), after);
}

const txHashOf = (raw: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(raw).digest());

/** Block bookkeeping the app hash leaves out: it follows from the chain itself. */
const BOOKKEEPING = (key: string): boolean => key.startsWith('block/') || key === 'meta/height';

/**
 * The app hash after a block: the previous one chained with the block's writes in key order.
 * A block that changes no state keeps the previous hash, so CometBFT need not make empty
 * blocks to carry a new one.
 */
export function nextAppHash(prev: Uint8Array, writes: { type: 'put' | 'del'; key: string; value?: string }[]): Uint8Array {
  const sorted = writes.filter((w) => !BOOKKEEPING(w.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (sorted.length === 0) return new Uint8Array(prev);
  // Each write length-prefixed, so no two different write sets hash alike: u32 key length, key,
  // 1 (put) or 0 (del), u32 value length, value (empty for a del). Written into one buffer and
  // hashed in one update (the same bytes as an update per part, without five calls per write).
  let size = 0;
  for (const w of sorted) size += 9 + Buffer.byteLength(w.key, 'utf8') + (w.type === 'put' ? Buffer.byteLength(w.value!, 'utf8') : 0);
  const all = Buffer.allocUnsafe(size);
  let at = 0;
  for (const w of sorted) {
    const k = all.write(w.key, at + 4, 'utf8');
    all.writeUInt32BE(k, at);
    at += 4 + k;
    all[at++] = w.type === 'put' ? 1 : 0;
    const v = w.type === 'put' ? all.write(w.value!, at + 4, 'utf8') : 0;
    all.writeUInt32BE(v, at);
    at += 4 + v;
  }
  if (at !== size) throw new InsituError('ERR_INTERNAL', `the block's writes took ${at} bytes, not ${size}`);
  const set = createHash('sha256').update(all).digest();
  return new Uint8Array(createHash('sha256').update(prev).update(set).digest());
}


async function runHooks(hooks: BlockHook[], ctx: BlockContext): Promise<FeedEmit[]> {
  const out: FeedEmit[] = [];
  for (const h of hooks) out.push(...(await h(ctx)));
  return out;
}

/**
 * Executes one block on a cache above `state` (the committed state). A transaction that fails
 * to decode or fails its ante checks gets an error result and changes nothing; one whose
 * message fails keeps its fee and nonce and reverts the rest (Cosmos semantics).
 */
export async function executeBlock(deps: BlockDeps, state: KV, prev: BlockInfo, header: BlockHeader, txs: BlockTx[]): Promise<ExecutedBlock> {
  if (header.height !== prev.height + 1n) {
    throw new InsituError('ERR_INTERNAL', `block ${header.height} does not follow block ${prev.height}`);
  }
  const kv = new CacheKV(state);
  const headerTime = Math.max(header.time, prev.headerTime ?? prev.time);
  const chainTime = async (): Promise<number> => headerTime + ((await kv.get<number>(CLOCK_OFFSET_KEY)) ?? 0);
  let now = Math.max(await chainTime(), prev.time);
  const blockCtx = (): BlockContext => ({ kv, height: header.height, now, seed: header.hash, genesis: deps.genesis });
  const feed: { emit: FeedEmit; txHash: Uint8Array | null }[] = [];
  const blockFeed = (list: FeedEmit[]): void => {
    for (const emit of list) feed.push({ emit, txHash: null });
  };
  blockFeed(await runHooks(deps.beginBlock, blockCtx()));

  const results: ExecResult[] = [];
  const records: TxRecord[] = [];
  for (const [index, item] of txs.entries()) {
    const raw = item instanceof Uint8Array ? item : item.raw;
    const hash = item instanceof Uint8Array ? txHashOf(item) : item.hash;
    let tx: DecodedTx;
    let result: ExecResult;
    try {
      tx = item instanceof Uint8Array ? await deps.decode(item, kv) : item;
    } catch (e) {
      result = errorResult(e, 0n, 0n);
      results.push(result);
      records.push(await record(kv, { hash, height: header.height, index, raw, result }));
      continue;
    }
    const gas = gasFor(tx);
    const anteKV = new CacheKV(kv);
    try {
      await ante(deps, anteKV, tx, gas);
    } catch (e) {
      result = errorResult(e, tx.gasLimit, gas);
      results.push(result);
      records.push(await record(kv, { hash, height: header.height, index, raw, result }));
      continue;
    }
    const anteEvents = anteEventsOf(tx);
    const msgKV = new CacheKV(anteKV);
    const txEvents: TxEvent[] = [...anteEvents];
    const txFeed: FeedEmit[] = [];
    const ctx: MsgContext = { kv: msgKV, signer: tx.signer, height: header.height, now, seed: header.hash, genesis: deps.genesis, txEvents, feed: txFeed };
    try {
      const responses = await runMessages(deps.msgs, ctx, tx.msgs);
      msgKV.flushInto(anteKV);
      for (const emit of txFeed) feed.push({ emit, txHash: hash });
      result = { code: 0, codespace: '', log: '', gasWanted: tx.gasLimit, gasUsed: gas, events: txEvents, responses };
    } catch (e) {
      result = { ...errorResult(e, tx.gasLimit, gas), events: anteEvents };
    }
    anteKV.flushInto(kv);
    results.push(result);
    records.push(await record(kv, { hash, height: header.height, index, raw, result }));
    // The development clock moved inside this block: the per-block work catches up at once.
    const moved = await chainTime();
    if (moved > now) {
      now = moved;
      blockFeed(await runHooks(deps.beginBlock, blockCtx()));
    }
  }
  blockFeed(await runHooks(deps.endBlock, blockCtx()));

  let seq = (await kv.get<bigint>('meta/eventSeq')) ?? 0n;
  for (const f of feed) {
    seq += 1n;
    const ev: FeedEvent = { seq, height: header.height, txHash: f.txHash, type: f.emit.type, attributes: f.emit.attributes };
    kv.put(`event/${pad(seq)}`, ev);
  }
  if (feed.length > 0) kv.put('meta/eventSeq', seq);
  kv.put('meta/height', header.height);
  const appHash = nextAppHash(prev.appHash ?? prev.hash, kv.batch());
  const block: BlockInfo = {
    height: header.height,
    time: now,
    headerTime,
    hash: new Uint8Array(header.hash),
    appHash,
    txHashes: records.map((r) => new Uint8Array(r.hash)),
  };
  kv.put(`block/${pad(header.height)}`, block);
  return { block, results, records, writes: kv };
}

/** The fee and sequence events Cosmos emits for every admitted tx, failed or not. */
export function anteEventsOf(tx: { feeAmount: bigint; signer: Hex; sequence: bigint }): TxEvent[] {
  return [
    { type: 'tx', attributes: [{ key: 'fee', value: `${tx.feeAmount}${DENOM}` }, { key: 'fee_payer', value: tx.signer }] },
    { type: 'tx', attributes: [{ key: 'acc_seq', value: `${tx.signer}/${tx.sequence}` }] },
  ];
}

/**
 * Runs a transaction's messages in order on ctx.kv (after its ante checks passed), adding their
 * events to ctx.txEvents; throws at the first message that fails. Blocks and Simulate both run
 * messages through here, so a simulation answers what the block would.
 */
export async function runMessages(msgs: Record<string, MsgDef>, ctx: MsgContext, list: AnyMsg[]): Promise<AnyMsg[]> {
  const responses: AnyMsg[] = [];
  for (const m of list) {
    const def = msgs[m.typeUrl];
    if (!def) throw new InsituError('ERR_BAD_REQUEST', `unsupported message ${m.typeUrl}`);
    const value = await def.handler(ctx, m.value);
    responses.push({ typeUrl: `${m.typeUrl}Response`, value });
    ctx.txEvents.push({ type: 'message', attributes: [
      { key: 'action', value: m.typeUrl },
      { key: 'sender', value: ctx.signer },
      { key: 'module', value: m.typeUrl.split('.')[1] ?? '' },
    ] });
  }
  return responses;
}

async function record(kv: KV, rec: TxRecord): Promise<TxRecord> {
  // A replayed tx (refused by its nonce) never hides the record of its successful inclusion,
  // as CometBFT's indexer keeps it.
  const key = `tx/${hex(rec.hash)}`;
  if (rec.result.code === 0 || (await kv.get<TxRecord>(key))?.result.code !== 0) kv.put(key, rec);
  return rec;
}

/** The block hash the embedded chain gives its blocks: the previous hash, the height and the txs. */
export function embeddedBlockHash(prev: BlockInfo, height: bigint, txs: BlockTx[]): Uint8Array {
  const h = createHash('sha256').update(prev.hash).update(String(height));
  for (const t of txs) h.update(t instanceof Uint8Array ? txHashOf(t) : t.hash);
  return new Uint8Array(h.digest());
}
