// What every RPC method of the embedded chain is given: the app, the logger, the mempool's door
// and a way to wait for the next block.

import type { ChainApp, TxRecord, ExecResult } from '../../state/types.ts';
import type { Logger } from '../../state/app.ts';

export interface MethodContext {
  app: ChainApp;
  logger: Logger;
  /** CheckTx, and on success the tx joins the chain's mempool: `included` resolves once it is in a block. */
  admit(raw: Uint8Array): Promise<{ result: ExecResult; hash: Uint8Array; included?: Promise<TxRecord> }>;
  /** Resolves at the next commit, or after waitMs, whichever is first. */
  nextCommit(waitMs: number): Promise<void>;
  /** A transaction admitted here and still waiting for its block: its inclusion (hash in lowercase hex). */
  admitted?(hash: string): Promise<TxRecord> | undefined;
}

export type Params = Record<string, unknown>;
export type Method = (params: Params) => Promise<unknown>;
