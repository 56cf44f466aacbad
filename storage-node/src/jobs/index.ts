// Jobs on a storage node: running a job with its inputs (execute.ts), split by data piece
// (map-reduce.ts), settled once by its executor (settle.ts), with outputs and receipts kept (outputs.ts).
export type { JobsContext } from './context.ts';
export { executeJob, type ExecutedJob } from './execute.ts';
export { runOnce } from './settle.ts';
export { readOutput, type SignedReceipt } from './outputs.ts';
