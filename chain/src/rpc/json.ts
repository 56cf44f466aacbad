// The JSON shapes CometBFT's RPC gives transactions, results and blocks, shared by the embedded
// chain's RPC methods (and the ABCI server's result data), and the JSON-RPC error they throw.

import { codec, msgCodec } from '../gnfd.ts';
import type { TxRecord, ExecResult, BlockInfo } from '../state/types.ts';

/** A JSON-RPC error with its numeric code (-32602 invalid params, -32603 internal, ...). */
export class RpcError extends Error {
  constructor(readonly rpcCode: number, message: string, readonly data = '') {
    super(message);
  }
}

/** A non-negative integer parameter (decimal string or safe number), or Invalid params. */
export function uintParam(v: unknown, name: string): bigint {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : typeof v === 'string' ? v : '';
  if (!/^\d{1,20}$/.test(s)) throw new RpcError(-32602, 'Invalid params', `ERR_INVALID_ARGUMENT: ${name} must be a non-negative integer, not ${String(JSON.stringify(v)).slice(0, 80)}`);
  return BigInt(s);
}

export const hexUpper = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('Z', '000000Z');

const TxMsgData = codec('cosmos/base/abci/v1beta1/abci', 'TxMsgData');

/** A tx result's data as Cosmos carries it: TxMsgData with each message's response. */
export function resultData(result: ExecResult): Uint8Array {
  const msgResponses = result.responses.map((r) => {
    const c = msgCodec(r.typeUrl);
    let value: Uint8Array = new Uint8Array(0);
    try {
      if (c) value = c.encode(c.fromPartial(r.value)).finish();
    } catch {
      value = new Uint8Array(0);
    }
    return { typeUrl: r.typeUrl, value };
  });
  return TxMsgData.encode(TxMsgData.fromPartial({ msgResponses })).finish();
}

export function txResultJson(result: ExecResult): Record<string, unknown> {
  return {
    code: result.code,
    data: result.code === 0 ? b64(resultData(result)) : '',
    log: result.log,
    info: result.errorCode ?? '',
    gas_wanted: result.gasWanted.toString(),
    gas_used: result.gasUsed.toString(),
    events: result.events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ ...a, index: true })) })),
    codespace: result.codespace,
  };
}

export const txJson = (rec: TxRecord): Record<string, unknown> => ({
  hash: hexUpper(rec.hash),
  height: rec.height.toString(),
  index: rec.index,
  tx_result: txResultJson(rec.result),
  tx: b64(rec.raw),
});

export function blockIdJson(b: BlockInfo): Record<string, unknown> {
  return { hash: hexUpper(b.hash), parts: { total: 1, hash: hexUpper(b.hash) } };
}
