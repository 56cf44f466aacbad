// broadcast_tx_sync|async|commit: CheckTx, then the tx waits in the mempool for the next block;
// the commit form answers once it is in one.

import { MAX_TX_BYTES } from '../../tx/decode.ts';
import { hexUpper, txResultJson } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const broadcast = ({ admit, logger }: MethodContext, commit: boolean): Method => async (params) => {
  const raw = new Uint8Array(Buffer.from(String(params.tx ?? ''), 'base64'));
  if (raw.length === 0 || raw.length > MAX_TX_BYTES) {
    return { code: 5, data: '', log: `ERR_BAD_REQUEST: transaction size ${raw.length} is outside 1..${MAX_TX_BYTES} bytes`, codespace: 'insitu', hash: hexUpper(new Uint8Array(32)) };
  }
  const { result: check, hash, included } = await admit(raw);
  if (check.code !== 0 || !included) return { code: check.code, data: '', log: check.log, codespace: check.codespace, hash: hexUpper(hash) };
  if (!commit) {
    included.catch((e: unknown) => logger.error('deliver failed', { error: String(e) }));
    return { code: 0, data: '', log: '[]', codespace: '', hash: hexUpper(hash) };
  }
  const rec = await included;
  return { check_tx: { code: 0 }, deliver_tx: txResultJson(rec.result), tx_result: txResultJson(rec.result), hash: hexUpper(rec.hash), height: rec.height.toString() };
};
