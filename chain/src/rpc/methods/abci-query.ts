// abci_query: Greenfield's gRPC paths and the project's /insitu.* paths, answered by the same
// code the ABCI Query of CometBFT uses.

import { answerQuery } from '../query.ts';
import { b64 } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const abciQuery = ({ app, logger }: MethodContext): Method => async (params) => {
  const path = String(params.path ?? '');
  const data = new Uint8Array(Buffer.from(String(params.data ?? ''), 'hex'));
  const r = await answerQuery(app, logger, path, data, true);
  return { response: { code: r.code, log: r.log, info: '', index: '0', key: null, value: b64(r.value), proofOps: null, height: r.height.toString(), codespace: r.codespace } };
};
