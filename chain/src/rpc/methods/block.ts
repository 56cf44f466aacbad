// block: a block by height (the latest when none is given), its header and transactions, in
// CometBFT's shape.

import { RpcError, b64, blockIdJson, hexUpper, rfc3339, uintParam } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const block = ({ app }: MethodContext): Method => async (params) => {
  const latest = await app.latestBlock();
  const h = params.height ? uintParam(params.height, 'height') : latest.height;
  const b = await app.getBlock(h);
  if (!b) throw new RpcError(-32603, `height ${h} is not available`);
  const zero = '0'.repeat(64);
  const txs = (await Promise.all(b.txHashes.map((hash) => app.getTx(hash)))).filter((r) => r !== undefined && r.index >= 0).sort((x, y) => x!.index - y!.index);
  return {
    block_id: blockIdJson(b),
    block: {
      header: {
        version: { block: '11', app: '0' }, chain_id: app.chainId, height: b.height.toString(), time: rfc3339(b.time),
        last_block_id: { hash: '', parts: { total: 0, hash: '' } }, last_commit_hash: zero, data_hash: zero, validators_hash: zero,
        next_validators_hash: zero, consensus_hash: zero, app_hash: hexUpper(b.appHash ?? b.hash), last_results_hash: zero, evidence_hash: zero,
        proposer_address: '0000000000000000000000000000000000000001',
      },
      data: { txs: txs.map((r) => b64(r!.raw)) },
      evidence: { evidence: [] },
      last_commit: { height: b.height.toString(), round: 0, block_id: blockIdJson(b), signatures: [] },
    },
  };
};
