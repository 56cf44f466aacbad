// abci_info: the application's last height and app hash.

import { b64 } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const abciInfo = ({ app }: MethodContext): Method => async () => {
  const b = await app.latestBlock();
  return { response: { data: 'insitu', version: '0.1.0', last_block_height: b.height.toString(), last_block_app_hash: b64(b.appHash ?? b.hash) } };
};
