// Decoding and authenticating transactions as Greenfield does: protobuf TxRaw → body and auth
// info, every message decoded by its type, and the EIP-712 signature recovered and matched
// against the public key in the auth info.

import { createHash } from 'node:crypto';
import { InsituError } from '@insitu/protocol';
import { publicKeyToAddress, sameAddress, type Hex } from '@insitu/protocol';
import { txTypedData, recoverTxSigner, eip712Supported } from '@insitu/protocol/chain';
import { codec, msgCodec, big } from '../gnfd.ts';
import type { AnyMsg, DecodedTx } from '../state/types.ts';

const TxRaw = codec('cosmos/tx/v1beta1/tx', 'TxRaw');
const Tx = codec('cosmos/tx/v1beta1/tx', 'Tx');
const TxBody = codec('cosmos/tx/v1beta1/tx', 'TxBody');
const AuthInfo = codec('cosmos/tx/v1beta1/tx', 'AuthInfo');
const EthPubKey = codec('cosmos/crypto/eth/ethsecp256k1/keys', 'PubKey');

export const MAX_TX_BYTES = 1024 * 1024;
/** Cosmos' default bound on a memo (auth params MaxMemoCharacters). */
export const MAX_MEMO_CHARS = 256;
/** Messages in one transaction. */
export const MAX_TX_MSGS = 64;

/** A coin amount: a plain decimal integer (no sign, exponent, fraction or spaces), as Cosmos' Int parses it. */
export function parseCoinAmount(amount: unknown, what: string): bigint {
  if (typeof amount !== 'string' || !/^\d{1,78}$/.test(amount)) {
    throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a non-negative decimal integer, not ${JSON.stringify(String(amount)).slice(0, 90)}`);
  }
  return BigInt(amount);
}

interface Body { messages: { typeUrl: string; value: Uint8Array }[]; memo: string; timeoutHeight: unknown }
interface Auth {
  signerInfos: { publicKey?: { typeUrl: string; value: Uint8Array }; sequence: unknown }[];
  fee?: { amount: { denom: string; amount: string }[]; gasLimit: unknown; payer: string; granter: string };
}

const bad = (message: string, cause?: unknown): InsituError =>
  new InsituError('ERR_BAD_REQUEST', message, cause === undefined ? {} : { cause });

function decodeParts(body: Body, auth: Auth): Omit<DecodedTx, 'hash' | 'raw' | 'signer'> & { payer: string; granter: string } {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('transaction has no messages');
  if (body.messages.length > MAX_TX_MSGS) throw bad(`transaction has ${body.messages.length} messages; at most ${MAX_TX_MSGS}`);
  if ((body.memo ?? '').length > MAX_MEMO_CHARS) throw bad(`memo is ${body.memo.length} characters; at most ${MAX_MEMO_CHARS}`);
  const msgs: AnyMsg[] = body.messages.map((any) => {
    const c = msgCodec(any.typeUrl);
    if (!c || !eip712Supported(any.typeUrl)) throw bad(`unsupported message type ${any.typeUrl}`);
    try {
      return { typeUrl: any.typeUrl, value: c.decode(any.value) };
    } catch (cause) {
      throw bad(`malformed ${any.typeUrl}`, cause);
    }
  });
  const signerInfo = auth.signerInfos?.[0];
  if (!signerInfo || auth.signerInfos.length !== 1) throw bad('a transaction needs exactly one signer');
  const fee = auth.fee;
  const coin = fee?.amount?.[0];
  let publicKey: Uint8Array = new Uint8Array(0);
  if (signerInfo.publicKey) {
    if (signerInfo.publicKey.typeUrl !== '/cosmos.crypto.eth.ethsecp256k1.PubKey') {
      throw bad(`unsupported public key type ${signerInfo.publicKey.typeUrl}`);
    }
    try {
      publicKey = (EthPubKey.decode(signerInfo.publicKey.value) as { key: Uint8Array }).key ?? new Uint8Array(0);
    } catch (cause) {
      throw new InsituError('ERR_TX_SIGNATURE', 'the signer public key is not a protobuf PubKey', { cause });
    }
  }
  if ((fee?.amount?.length ?? 0) > 1) throw bad('a fee is paid in one coin');
  return {
    publicKey,
    sequence: big(signerInfo.sequence),
    gasLimit: big(fee?.gasLimit),
    feeAmount: coin ? parseCoinAmount(coin.amount, 'the fee amount') : 0n,
    feeDenom: coin?.denom ?? '',
    memo: body.memo ?? '',
    timeoutHeight: big(body.timeoutHeight),
    msgs,
    payer: fee?.payer ?? '',
    granter: fee?.granter ?? '',
  };
}

export interface VerifyContext {
  evmChainId: string;
  accountNumber(address: Hex): Promise<bigint | undefined>;
}

/** Decodes a broadcast tx and checks its EIP-712 signature; throws ERR_TX_SIGNATURE if forged. */
export async function decodeAndVerifyTx(raw: Uint8Array, ctx: VerifyContext): Promise<DecodedTx> {
  if (raw.length === 0 || raw.length > MAX_TX_BYTES) throw bad(`transaction size ${raw.length} is outside 1..${MAX_TX_BYTES} bytes`);
  let txRaw: { bodyBytes: Uint8Array; authInfoBytes: Uint8Array; signatures: Uint8Array[] };
  let body: Body;
  let auth: Auth;
  try {
    txRaw = TxRaw.decode(raw) as never;
    body = TxBody.decode(txRaw.bodyBytes) as never;
    auth = AuthInfo.decode(txRaw.authInfoBytes) as never;
  } catch (cause) {
    throw bad('transaction bytes are not a protobuf TxRaw', cause);
  }
  const parts = decodeParts(body, auth);
  if (parts.publicKey.length !== 33) throw new InsituError('ERR_TX_SIGNATURE', 'the signer public key is missing or malformed');
  let signer: Hex;
  try {
    signer = publicKeyToAddress(parts.publicKey);
  } catch (cause) {
    throw new InsituError('ERR_TX_SIGNATURE', 'the signer public key is not on secp256k1', { cause });
  }
  const signature = txRaw.signatures?.[0];
  if (!signature || signature.length !== 65) throw new InsituError('ERR_TX_SIGNATURE', 'the transaction carries no 65-byte signature');
  const accountNumber = await ctx.accountNumber(signer);
  if (accountNumber === undefined) throw new InsituError('ERR_ACCOUNT_NOT_FOUND', `account ${signer} does not exist; fund it first`);
  let typed: Record<string, unknown>;
  try {
    typed = txTypedData({
      msgs: parts.msgs,
      accountNumber,
      sequence: parts.sequence,
      evmChainId: ctx.evmChainId,
      feeAmount: parts.feeAmount,
      feeDenom: parts.feeDenom,
      gasLimit: parts.gasLimit,
      payer: parts.payer,
      granter: parts.granter,
      memo: parts.memo,
      timeoutHeight: parts.timeoutHeight,
    });
  } catch (cause) {
    // A message whose fields do not fit its EIP-712 type cannot have been signed as one.
    throw new InsituError('ERR_TX_SIGNATURE', `the transaction's messages cannot be put in EIP-712 form: ${(cause as Error).message}`, { cause });
  }
  const recovered = recoverTxSigner(typed, signature);
  if (!sameAddress(recovered, signer)) {
    throw new InsituError('ERR_TX_SIGNATURE', 'the EIP-712 signature does not match the signer (wrong key, chain id, account number, sequence or content)');
  }
  return { ...parts, hash: txHash(raw), raw, signer };
}

/** Decodes the unsigned Tx of a Simulate request. */
export function decodeSimulateTx(bytes: Uint8Array): Omit<DecodedTx, 'signer'> & { signer: Hex | null } {
  let tx: { body: Body; authInfo: Auth };
  try {
    tx = Tx.decode(bytes) as never;
  } catch (cause) {
    throw bad('simulate request does not hold a protobuf Tx', cause);
  }
  const parts = decodeParts(tx.body, tx.authInfo);
  let signer: Hex | null = null;
  try {
    if (parts.publicKey.length === 33 && parts.publicKey.some((b) => b !== 0)) signer = publicKeyToAddress(parts.publicKey);
  } catch {
    signer = null;
  }
  return { ...parts, hash: txHash(bytes), raw: bytes, signer };
}

export const txHash = (raw: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(raw).digest());
