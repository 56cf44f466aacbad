// block_results: each transaction's result in a block (the latest when no height is given), in
// CometBFT 0.38's shape; the embedded chain's per-block work has no events of its own here.

import { RpcError, txResultJson, uintParam } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const blockResults = ({ app }: MethodContext): Method => async (params) => {
  const latest = await app.latestBlock();
  const h = params.height ? uintParam(params.height, 'height') : latest.height;
  const b = await app.getBlock(h);
  if (!b) throw new RpcError(-32603, `height ${h} is not available`);
  const txs = await Promise.all(b.txHashes.map((hash) => app.getTx(hash)));
  return {
    height: b.height.toString(),
    txs_results: txs.filter((r) => r !== undefined && r.index >= 0).sort((x, y) => x!.index - y!.index).map((r) => txResultJson(r!.result)),
    finalize_block_events: [],
    validator_updates: null,
    consensus_param_updates: null,
    app_hash: Buffer.from(b.appHash).toString('base64'),
  };
};
