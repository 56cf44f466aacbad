// tx_search: the kv indexer's tx.hash query, the one form greenfield-js-sdk and cosmjs send.

import { RpcError, txJson } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const txSearch = ({ app }: MethodContext): Method => async (params) => {
  const q = String(params.query ?? '');
  const m = /tx\.hash\s*=\s*'([0-9a-fA-F]{64})'/.exec(q);
  if (!m) throw new RpcError(-32602, 'only tx.hash queries are supported', q);
  const rec = await app.getTx(new Uint8Array(Buffer.from(m[1]!, 'hex')));
  return { txs: rec && rec.index >= 0 ? [txJson(rec)] : [], total_count: rec && rec.index >= 0 ? '1' : '0' };
};
