// Pipelined transactions for one account. Each transaction is signed locally (EIP-712, as
// greenfield-js-sdk signs) with the next account sequence kept here, and broadcast; the next one
// may be signed as soon as the chain has admitted the previous one to its mempool, so several
// transactions of one account are in flight at once and each caller waits only for its own
// block. Signing and broadcasting stay in order (one lane per account): the chain admits
// sequence n+1 only after n.
//
// The sequence is learnt from the chain once and then counted here. When the chain refuses a
// transaction for its sequence (another client of the same key sent one, or an earlier
// transaction of ours failed its checks inside a block), the sequence the chain expects is taken
// from its answer (or asked for again) and the transaction is signed anew; a transaction that
// failed inside a block for its sequence is sent again. Gas is fixed per message type (as on
// Greenfield, whose gashub prices each type): each type is simulated once and its gas remembered.
//
// Clients of one key on one RPC in one process share the counter, so they do not race each other.
//
// On the embedded chain (known once it answered insitu_tx), whose blocks come every few
// milliseconds, a batch (messages given as a function, see seal-batch.ts) waits for its turn a
// little longer: until the lane's previous transaction is in a block, or HOLD_MS at most.
// Everything asked for meanwhile joins that one transaction instead of leaving in one small
// transaction each, which costs the chain a signature recovery, an admission and two requests
// per transaction (measured with 32 clients of 4 accounts: 2.9 messages per transaction without
// the wait). Messages given as a list still go at the lane's next turn, several transactions of
// one account in one block; and against CometBFT, whose blocks take far longer, a batch goes at
// once so as not to miss one. A batch sent with `hold: false` (a primary's seals, whose uploaders
// wait for them) goes at the lane's next turn too: what queued during the previous broadcast
// joins it, and it lands in the next block instead of the one after.

import { InsituError, throwIfAborted, compressedPublicKey, privateKeyToAddress, type Hex } from '@insitu/protocol';
import { codec, msgCodec, queryCodecs, toLong, txTypedData, signTypedData } from '@insitu/protocol/chain';
import type { CallOptions, TxResult } from '@insitu/protocol/chain';
import { jsonRpc, chainError } from './rpc.ts';
import { waitForTx, embeddedRpc } from './inclusion.ts';
import { sdkChainId } from './gnfd.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TxRaw = codec('cosmos/tx/v1beta1/tx', 'TxRaw');
const Tx = codec('cosmos/tx/v1beta1/tx', 'Tx');
const TxBody = codec('cosmos/tx/v1beta1/tx', 'TxBody');
const AuthInfo = codec('cosmos/tx/v1beta1/tx', 'AuthInfo');
const EthPubKey = codec('cosmos/crypto/eth/ethsecp256k1/keys', 'PubKey');
const SIMULATE = '/cosmos.tx.v1beta1.Service/Simulate';
const DENOM = 'BNB';
/** Greenfield's sign mode for EIP-712 (SIGN_MODE_EIP_712). */
const SIGN_MODE_EIP_712 = 191;

export interface Msg {
  typeUrl: string;
  value: Record<string, unknown>;
}

export interface SentTx extends TxResult {
  /** The included transaction's result data (TxMsgData, base64). */
  data?: string;
}

export interface TxSenderOptions {
  rpcUrl: string;
  chainId: string;
  privateKey: Hex;
  /** How long a transaction may take to be included (default 30 s). */
  txTimeoutMs?: number;
  /** The account's number and committed sequence, as the chain's auth module answers. */
  account(): Promise<{ accountNumber: bigint; sequence: bigint }>;
}

export interface TxSender {
  readonly address: Hex;
  /**
   * Signs and broadcasts one transaction of `msgs` and resolves once it is in a block. Given a
   * function, it is called when the transaction's turn in the lane comes, so what it returns can
   * include what was queued while earlier transactions were being sent. `hold: false` sends such
   * a batch at the lane's next turn without waiting for the previous transaction's block.
   */
  send(msgs: Msg[] | (() => Msg[]), opts?: CallOptions & { hold?: boolean }): Promise<SentTx>;
}

interface AccountLane {
  accountNumber?: bigint | undefined;
  /** The sequence the next transaction is signed with; undefined: ask the chain first. */
  next?: bigint | undefined;
  lane: Promise<unknown>;
  /** Settles once the lane's latest transaction is in a block (or failed, or was given up on). */
  included?: Promise<unknown> | undefined;
}

/** The longest a batch waits for the lane's previous transaction to be included. */
export const HOLD_MS = 100;

/** Per RPC and address: one counter and one lane for every client of that key in this process. */
const lanes = new Map<string, AccountLane>();
/** Per RPC: gas per message type and the minimum gas price, learnt by simulation. */
const gasTables = new Map<string, { perType: Map<string, bigint>; price?: bigint }>();

/** Resolves when `p` settles or after `ms`, whichever is first. */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Attempts at a transaction the chain refused for its sequence, before giving up. */
const SEQUENCE_RETRIES = 3;

const sequenceRefusal = (code: string, log: string): boolean => code === 'ERR_TX_NONCE' || /sequence mismatch/i.test(log);

interface Encoded {
  typeUrl: string;
  bytes: Uint8Array;
  /** The message as the codec decodes it back: the form its EIP-712 document is made from. */
  value: Record<string, unknown>;
}

export function createTxSender(opts: TxSenderOptions): TxSender {
  const { rpcUrl, privateKey } = opts;
  const address = privateKeyToAddress(privateKey);
  const publicKey = compressedPublicKey(privateKey);
  const evmChainId = sdkChainId(opts.chainId);
  const laneKey = `${rpcUrl}|${address.toLowerCase()}`;
  let state = lanes.get(laneKey);
  if (!state) lanes.set(laneKey, (state = { lane: Promise.resolve() }));
  const acct = state;
  let table = gasTables.get(rpcUrl);
  if (!table) gasTables.set(rpcUrl, (table = { perType: new Map() }));
  const gas = table;

  /** Runs `fn` after every earlier turn of this account's lane. */
  function inLane<T>(fn: () => Promise<T>): Promise<T> {
    const run = acct.lane.then(fn, fn);
    acct.lane = run.catch(() => undefined);
    return run;
  }

  async function resync(): Promise<void> {
    const a = await opts.account();
    acct.accountNumber = a.accountNumber;
    acct.next = a.sequence;
  }

  const encode = (msgs: Msg[]): Encoded[] => msgs.map((m) => {
    const c = msgCodec(m.typeUrl);
    if (!c) throw new InsituError('ERR_INTERNAL', `no codec for ${m.typeUrl}`);
    const bytes = c.encode(c.fromPartial(m.value)).finish();
    return { typeUrl: m.typeUrl, bytes, value: c.decode(bytes) };
  });

  const bodyOf = (msgs: Encoded[]): Record<string, unknown> =>
    TxBody.fromPartial({ messages: msgs.map((m) => ({ typeUrl: m.typeUrl, value: m.bytes })), memo: '' });

  const authOf = (sequence: bigint, gasLimit: bigint, fee: bigint): Record<string, unknown> => AuthInfo.fromPartial({
    signerInfos: [{
      publicKey: { typeUrl: '/cosmos.crypto.eth.ethsecp256k1.PubKey', value: EthPubKey.encode({ key: publicKey }).finish() },
      modeInfo: { single: { mode: SIGN_MODE_EIP_712 } },
      sequence: toLong(sequence),
    }],
    fee: { amount: [{ denom: DENOM, amount: fee.toString() }], gasLimit: toLong(gasLimit), payer: '', granter: '' },
  });

  /** Gas of one message of this type and the gas price, simulated the first time a type is sent. */
  async function gasOf(m: Encoded, o?: CallOptions): Promise<{ gas: bigint; price: bigint }> {
    const known = gas.perType.get(m.typeUrl);
    if (known !== undefined && gas.price !== undefined) return { gas: known, price: gas.price };
    // Simulation runs the signer checks against the committed state: the committed sequence. A
    // block of this account's transactions in flight may commit between reading it and the
    // simulation; the refusal names the sequence now expected, which is used instead.
    let sequence = (await opts.account()).sequence;
    const { request, response } = queryCodecs(SIMULATE)!;
    let res: Rec;
    let used: bigint;
    for (let attempt = 0; ; attempt++) {
      const tx = Tx.encode(Tx.fromPartial({ body: bodyOf([m]), authInfo: authOf(sequence, 0n, 0n), signatures: [new Uint8Array(0)] })).finish();
      const data = Buffer.from(request.encode(request.fromPartial({ txBytes: tx })).finish()).toString('hex');
      const r = await jsonRpc<Rec>(rpcUrl, 'abci_query', { path: SIMULATE, data }, o?.signal);
      res = response.decode(Buffer.from(String(r.response.value ?? ''), 'base64')) as Rec;
      // Simulation runs the messages against the committed state, so one that builds on an earlier
      // transaction of this lane not yet in a block fails there; such a message failure still
      // answers its gas (the ante checks passed), and the block decides the outcome.
      used = BigInt(String(res.gasInfo?.gasUsed ?? 0));
      if (r.response.code === 0 || used !== 0n) break;
      const log = String(r.response.log);
      const refused = chainError(log);
      const expected = /expected (\d+)/.exec(log)?.[1];
      if (!sequenceRefusal(refused.code, log) || expected === undefined || attempt >= SEQUENCE_RETRIES) throw refused;
      sequence = BigInt(expected);
    }
    const price = /^(\d+)/.exec(String(res.gasInfo?.minGasPrice ?? ''))?.[1];
    gas.perType.set(m.typeUrl, used);
    if (price !== undefined) gas.price = BigInt(price);
    return { gas: used, price: gas.price ?? 0n };
  }

  function sign(msgs: Encoded[], sequence: bigint, gasLimit: bigint, fee: bigint): Uint8Array {
    const typed = txTypedData({
      msgs: msgs.map((m) => ({ typeUrl: m.typeUrl, value: m.value })),
      accountNumber: acct.accountNumber!, sequence, evmChainId,
      feeAmount: fee, feeDenom: DENOM, gasLimit, payer: '', granter: '', memo: '', timeoutHeight: 0n,
    });
    const signature = signTypedData(typed, privateKey);
    const bodyBytes = TxBody.encode(bodyOf(msgs)).finish();
    const authInfoBytes = AuthInfo.encode(authOf(sequence, gasLimit, fee)).finish();
    return TxRaw.encode({ bodyBytes, authInfoBytes, signatures: [signature] }).finish();
  }

  /** One turn of the lane: sign with the next sequence, broadcast, and count the sequence used. */
  async function signAndBroadcast(msgs: Encoded[], o?: CallOptions): Promise<string> {
    throwIfAborted(o?.signal);
    if (acct.next === undefined || acct.accountNumber === undefined) await resync();
    let gasLimit = 0n;
    let price = 0n;
    for (const m of msgs) {
      const g = await gasOf(m, o);
      gasLimit += g.gas;
      price = g.price;
    }
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(o?.signal);
      const sequence = acct.next!;
      const raw = sign(msgs, sequence, gasLimit, gasLimit * price);
      let r: Rec;
      try {
        r = await jsonRpc<Rec>(rpcUrl, 'broadcast_tx_sync', { tx: Buffer.from(raw).toString('base64') });
      } catch (e) {
        // It may have arrived: the sequence is learnt again before the next transaction.
        acct.next = undefined;
        throw e;
      }
      if (Number(r.code) === 0) {
        acct.next = sequence + 1n;
        return String(r.hash);
      }
      const log = String(r.log ?? '');
      const refused = chainError(log);
      // A signature refused with a remembered account number: the chain at this RPC may be a new
      // one (its accounts numbered afresh); learn the account again once before giving up.
      if (refused.code === 'ERR_TX_SIGNATURE' && attempt === 0) {
        await resync();
        continue;
      }
      if (!sequenceRefusal(refused.code, log) || attempt >= SEQUENCE_RETRIES) throw refused;
      const expected = /expected (\d+)/.exec(log)?.[1];
      if (expected !== undefined) acct.next = BigInt(expected);
      else await resync();
    }
  }

  return {
    address,
    async send(msgs, o) {
      const batch = typeof msgs === 'function';
      let encoded: Encoded[] | undefined = batch ? undefined : encode(msgs);
      for (let attempt = 0; ; attempt++) {
        let inclusion!: Promise<SentTx>;
        await inLane(async () => {
          if (batch && o?.hold !== false && encoded === undefined && acct.included && embeddedRpc(rpcUrl)) await settledOrAfter(acct.included, HOLD_MS);
          encoded ??= encode((msgs as () => Msg[])());
          if (encoded.length === 0) throw new InsituError('ERR_INVALID_ARGUMENT', 'a transaction needs at least one message');
          const hash = await signAndBroadcast(encoded, o);
          // Set before the lane's next turn can start, which may be a batch waiting for it.
          inclusion = waitForTx(rpcUrl, hash, { ...(o?.signal ? { signal: o.signal } : {}), ...(opts.txTimeoutMs !== undefined ? { timeoutMs: opts.txTimeoutMs } : {}) });
          acct.included = inclusion.catch(() => undefined);
        });
        try {
          return await inclusion;
        } catch (e) {
          // Admitted, then refused inside its block for its sequence (an earlier transaction of
          // this account failed its checks there): nothing of it ran, so it is sent again.
          const code = (e as InsituError).code ?? '';
          if (!sequenceRefusal(code, (e as Error).message) || attempt >= SEQUENCE_RETRIES) throw e;
        }
      }
    },
  };
}
