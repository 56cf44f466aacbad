// status: the node, its latest block and its validator, in CometBFT's shape.

import { b64, hexUpper, rfc3339 } from '../json.ts';
import type { Method, MethodContext } from './context.ts';

export const status = ({ app }: MethodContext): Method => async () => {
  const b = await app.latestBlock();
  return {
    node_info: {
      protocol_version: { p2p: '8', block: '11', app: '0' },
      id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      listen_addr: 'tcp://127.0.0.1:0',
      network: app.chainId,
      version: '0.37.2',
      channels: '40202122233038606100',
      moniker: 'insitu-devnet',
      other: { tx_index: 'on', rpc_address: 'tcp://127.0.0.1:0' },
    },
    sync_info: {
      latest_block_hash: hexUpper(b.hash),
      latest_app_hash: hexUpper(b.appHash ?? b.hash),
      latest_block_height: b.height.toString(),
      latest_block_time: rfc3339(b.time),
      earliest_block_height: '0',
      catching_up: false,
    },
    validator_info: {
      address: '0000000000000000000000000000000000000001',
      pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(new Uint8Array(32)) },
      voting_power: '1',
    },
  };
};
