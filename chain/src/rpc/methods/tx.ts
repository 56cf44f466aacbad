// tx: one included transaction by hash (hex or base64), with its result.

import { RpcError, hexUpper, txJson } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const tx = ({ app }: MethodContext): Method => async (params) => {
  const hash = new Uint8Array(Buffer.from(String(params.hash ?? ''), /^[0-9a-fA-F]{64}$/.test(String(params.hash)) ? 'hex' : 'base64'));
  const rec = await app.getTx(hash);
  if (!rec || rec.index < 0) throw new RpcError(-32603, `tx (${hexUpper(hash)}) not found`);
  return txJson(rec);
};
