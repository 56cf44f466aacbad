// Job receipts: what a node attests about a job it ran, signed with its operator key. The same
// module over the same input gives the same receipt fields (but the executor) on every node.

import { keccak256 } from './crypto/keys.ts';

export interface JobReceipt {
  jobId: string;
  executorSpId: number;
  moduleHash: string;
  inputObjectId: string;
  inputChecksums: string[];
  args: string[];
  state: 'succeeded' | 'failed';
  code: string | null;
  exitCode: number;
  fuelUsed: string;
  outputHash: string;
  outputBytes: number;
  stderrTail: string;
}

/** The digest a receipt signature covers: keccak256 of its JSON with keys in sorted order. */
export function receiptDigest(r: JobReceipt): Uint8Array {
  const ordered = Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k as keyof JobReceipt]]));
  return keccak256(new TextEncoder().encode(JSON.stringify(ordered)));
}
