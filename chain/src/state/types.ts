// The boundary between the chain's state machine and its wire front (CometBFT JSON-RPC,
// protobuf, EIP-712). The wire front decodes and authenticates transactions and decodes query
// requests; the state machine executes them on LevelDB. Message and query objects are the
// decoded shapes of @bnb-chain/greenfield-cosmos-types (e.g. MsgCreateBucket.decode(bytes)),
// or this project's own message types for its extensions.

import type { Hex } from '@insitu/protocol';
import type { FeedEvent } from '@insitu/protocol/chain';
export type { FeedEvent };

export interface AnyMsg {
  typeUrl: string;
  /** The decoded message object (greenfield-cosmos-types shape). */
  value: Record<string, unknown>;
}

/** A transaction whose signature the wire front has already verified. */
export interface DecodedTx {
  /** sha256 of the raw tx bytes, as CometBFT computes tx hashes. */
  hash: Uint8Array;
  raw: Uint8Array;
  /** Address recovered from the EIP-712 signature. */
  signer: Hex;
  /** Compressed secp256k1 public key from AuthInfo. */
  publicKey: Uint8Array;
  sequence: bigint;
  gasLimit: bigint;
  /** Fee amount in base units of the fee denom. */
  feeAmount: bigint;
  feeDenom: string;
  memo: string;
  timeoutHeight: bigint;
  msgs: AnyMsg[];
}

export interface TxEvent {
  type: string;
  attributes: { key: string; value: string }[];
}

export interface ExecResult {
  /** 0 = success; otherwise a Cosmos-style error code. */
  code: number;
  codespace: string;
  /** Human-readable error, or '' on success. */
  log: string;
  /** The project's stable error code (ERR_...) when code != 0. */
  errorCode?: string;
  gasWanted: bigint;
  gasUsed: bigint;
  events: TxEvent[];
  /** Per-message response objects (e.g. MsgCreateBucketResponse), for tx result data. */
  responses: AnyMsg[];
}

export interface TxRecord {
  hash: Uint8Array;
  height: bigint;
  index: number;
  raw: Uint8Array;
  result: ExecResult;
}

export interface BlockInfo {
  height: bigint;
  /** Chain time of the block in ms: its header time plus the development clock's offset. */
  time: number;
  /** The header's time in ms (CometBFT's BFT time, or the embedded chain's clock). */
  headerTime: number;
  /** The block's hash (CometBFT's block id in the replicated mode); the block's randomness. */
  hash: Uint8Array;
  /** Commitment to the state after this block (what the next header carries). */
  appHash: Uint8Array;
  txHashes: Uint8Array[];
}

export interface BlockHeaderInput {
  height: bigint;
  /** Header time, ms. */
  time: number;
  /** The block's hash: its identity and its randomness. */
  hash: Uint8Array;
}

export interface ExecutedBlockResult {
  block: BlockInfo;
  /** One result per transaction of the block, in order. */
  results: ExecResult[];
  records: TxRecord[];
}

export interface ChainApp {
  readonly chainId: string;
  init(): Promise<void>;
  close(): Promise<void>;
  /** ABCI Info: the last committed height and app hash (height 0 and no hash before InitChain). */
  info(): Promise<{ height: bigint; appHash: Uint8Array }>;
  /** ABCI InitChain: applies genesis (once) and returns the genesis app hash. */
  initChain(chainId: string): Promise<Uint8Array>;
  /** Mempool admission of an already decoded tx against the committed state, changing nothing. */
  checkTx(tx: DecodedTx): Promise<ExecResult>;
  /**
   * ABCI CheckTx: decodes and authenticates raw tx bytes and runs the ante checks against the
   * check state, which keeps the effects of admitted txs until the next commit.
   */
  checkTxBytes(raw: Uint8Array, opts?: { recheck?: boolean }): Promise<ExecResult & { hash: Uint8Array; tx?: DecodedTx }>;
  /**
   * Decodes and authenticates raw tx bytes ahead of CheckTx, outside any lock (the signature
   * recovery is the expensive part); failures are left for CheckTx to report.
   */
  prepareTx(raw: Uint8Array): Promise<void>;
  /** ABCI FinalizeBlock: executes a block (nothing stored until commit()). */
  finalizeBlock(header: BlockHeaderInput, txs: (Uint8Array | DecodedTx)[]): Promise<ExecutedBlockResult>;
  /** ABCI Commit: stores the finalized block in one atomic batch and tells listeners. */
  commit(): Promise<BlockInfo>;
  /**
   * The embedded chain: executes and commits its own next block of these txs. `aroundCommit`
   * wraps the commit (the embedded mempool re-admits its waiting txs to the new check state
   * before it admits new ones, as CometBFT locks its mempool over Commit and recheck).
   */
  produceBlock(txs: (Uint8Array | DecodedTx)[], opts?: { aroundCommit?: (commit: () => Promise<BlockInfo>) => Promise<BlockInfo> }): Promise<ExecutedBlockResult>;
  /** Executes one admitted tx in a block of its own (tests and tools); a refused tx makes no block (index -1). */
  deliverTx(tx: DecodedTx): Promise<TxRecord>;
  /** Runs a query by its gRPC path with the decoded request; returns the response object. */
  query(path: string, request: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Gas estimate for a simulated tx (signature not required). */
  simulate(tx: Omit<DecodedTx, 'signer'> & { signer: Hex | null }): Promise<ExecResult>;
  getTx(hash: Uint8Array): Promise<TxRecord | undefined>;
  latestBlock(): Promise<BlockInfo>;
  getBlock(height: bigint): Promise<BlockInfo | undefined>;
  /** Feed events with seq > after, at most `limit`. */
  events(after: bigint, limit: number): Promise<FeedEvent[]>;
  /** Called after every committed block; returns an unsubscribe function. */
  onCommit(listener: (block: BlockInfo) => void): () => void;
  /** Chain time now (ms), development clock offset included. */
  now(): number;
  /** Embedded chain: makes an empty block if some payer ran out since the last block. */
  tick(): Promise<BlockInfo | undefined>;
  /** Minimum gas price in base units per gas (Simulate's gas_info.min_gas_price). */
  readonly minGasPrice: bigint;
}
