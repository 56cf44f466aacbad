// Transactions signed as greenfield-js-sdk signs them (protobuf TxRaw, EIP-712 signature), for
// tests that hand raw bytes to the chain: CheckTx, FinalizeBlock, CometBFT's broadcast_tx_sync.

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { txTypedData, signTypedData } from '@insitu/protocol/chain';
import { codec, msgCodec, toLong } from '../../src/gnfd.ts';
import type { TestKey } from '../helpers.ts';

const TxRaw = codec('cosmos/tx/v1beta1/tx', 'TxRaw');
const TxBody = codec('cosmos/tx/v1beta1/tx', 'TxBody');
const AuthInfo = codec('cosmos/tx/v1beta1/tx', 'AuthInfo');
const EthPubKey = codec('cosmos/crypto/eth/ethsecp256k1/keys', 'PubKey');

export const GAS_PER_MSG = 120_000n;
export const GAS_PRICE = 5_000_000_000n;

export interface SignOptions {
  accountNumber: bigint;
  sequence: bigint;
  evmChainId: string;
  /** Sign with this key instead (a forgery: the public key stays the signer's). */
  signWith?: TestKey;
}

export function signTx(key: TestKey, msgs: { typeUrl: string; value: Record<string, unknown> }[], o: SignOptions): Uint8Array {
  const encoded = msgs.map((m) => {
    const c = msgCodec(m.typeUrl);
    if (!c) throw new TypeError(`no codec for ${m.typeUrl}`);
    return { typeUrl: m.typeUrl, bytes: c.encode(c.fromPartial(m.value)).finish(), c };
  });
  const gas = GAS_PER_MSG * BigInt(msgs.length);
  const fee = gas * GAS_PRICE;
  const pub = secp256k1.getPublicKey(Buffer.from(key.privateKey.slice(2), 'hex'), true);
  const body = TxBody.encode(TxBody.fromPartial({ messages: encoded.map((e) => ({ typeUrl: e.typeUrl, value: e.bytes })), memo: '' })).finish();
  const auth = AuthInfo.encode(AuthInfo.fromPartial({
    signerInfos: [{ publicKey: { typeUrl: '/cosmos.crypto.eth.ethsecp256k1.PubKey', value: EthPubKey.encode({ key: pub }).finish() }, modeInfo: { single: { mode: 191 } }, sequence: toLong(o.sequence) }],
    fee: { amount: [{ denom: 'BNB', amount: fee.toString() }], gasLimit: toLong(gas), payer: '', granter: '' },
  })).finish();
  const typed = txTypedData({
    msgs: encoded.map((e) => ({ typeUrl: e.typeUrl, value: e.c.decode(e.bytes) })),
    accountNumber: o.accountNumber, sequence: o.sequence, evmChainId: o.evmChainId,
    feeAmount: fee, feeDenom: 'BNB', gasLimit: gas, payer: '', granter: '', memo: '', timeoutHeight: 0n,
  });
  const signature = signTypedData(typed, (o.signWith ?? key).privateKey);
  return TxRaw.encode({ bodyBytes: body, authInfoBytes: auth, signatures: [signature] }).finish();
}
