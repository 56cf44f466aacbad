// Job receipts: what a node attests about a job it ran, signed with its operator key. The same
// module over the same input gives the same receipt fields (but the executor) on every node, so a
// receipt can be checked by re-running the job elsewhere (a dispute on chain does exactly that).

import { InsituError } from './errors.ts';
import { keccak256 } from './crypto/keys.ts';

export interface JobReceipt {
  jobId: string;
  executorSpId: number;
  moduleHash: string;
  inputObjectId: string;
  inputChecksums: string[];
  args: string[];
  /** 'rejected': the node refused the module (invalid, forbidden import); nothing ran. */
  state: 'succeeded' | 'failed' | 'rejected';
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

/** The exit state a receipt settles with: its error code, or 'succeeded'. */
export const exitStateOf = (r: Pick<JobReceipt, 'code'>): string => r.code ?? 'succeeded';

const bad = (what: string): never => {
  throw new InsituError('ERR_INVALID_RECEIPT', `receipt: ${what}`);
};

/**
 * A receipt from its JSON, every field checked for type and form (the chain reads receipts sent
 * by providers, which may be hostile): a well-formed receipt or ERR_INVALID_RECEIPT.
 */
export function parseReceipt(text: string): JobReceipt {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64 * 1024) bad('missing or larger than 64 KiB');
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) bad('not an object');
  const keys = ['args', 'code', 'executorSpId', 'exitCode', 'fuelUsed', 'inputChecksums', 'inputObjectId', 'jobId', 'moduleHash', 'outputBytes', 'outputHash', 'state', 'stderrTail'];
  if (Object.keys(r).sort().join() !== keys.join()) bad(`fields must be exactly ${keys.join(', ')}`);
  const str = (k: string, re: RegExp): string => (typeof r[k] === 'string' && re.test(r[k] as string) ? (r[k] as string) : bad(`${k} is malformed`));
  str('jobId', /^\d{1,20}$/);
  str('inputObjectId', /^\d{1,20}$/);
  str('fuelUsed', /^\d{1,30}$/);
  str('moduleHash', /^[0-9a-f]{64}$/);
  str('outputHash', /^[0-9a-f]{64}$/);
  if (typeof r.stderrTail !== 'string') bad('stderrTail is not a string');
  if (!['succeeded', 'failed', 'rejected'].includes(r.state as string)) bad('state must be succeeded, failed or rejected');
  if (r.code !== null && !(typeof r.code === 'string' && /^ERR_[A-Z0-9_]{1,60}$/.test(r.code))) bad('code must be null or an ERR_ code');
  if ((r.state === 'succeeded') !== (r.code === null)) bad('a succeeded receipt has no code and a failed one has one');
  for (const k of ['executorSpId', 'exitCode', 'outputBytes']) if (!Number.isSafeInteger(r[k])) bad(`${k} is not an integer`);
  if ((r.outputBytes as number) < 0 || (r.executorSpId as number) <= 0) bad('outputBytes or executorSpId out of range');
  const list = (k: string): void => {
    if (!Array.isArray(r[k]) || (r[k] as unknown[]).some((x) => typeof x !== 'string')) bad(`${k} is not a list of strings`);
  };
  list('args');
  list('inputChecksums');
  return r as unknown as JobReceipt;
}

/** Whether two runs of one job agree on what re-execution decides: state, output and fuel. */
export const receiptsAgree = (a: Pick<JobReceipt, 'code' | 'outputHash' | 'fuelUsed'>, b: Pick<JobReceipt, 'code' | 'outputHash' | 'fuelUsed'>): boolean =>
  exitStateOf(a) === exitStateOf(b) && a.outputHash === b.outputHash && BigInt(a.fuelUsed) === BigInt(b.fuelUsed);
