// Payments: transaction fees, and Greenfield's stream payments for storage and read quota.
// stream.ts holds the records and their math, freeze.ts freezing and resuming, messages.ts and
// queries.ts the module's messages and queries.

export * from './stream.ts';
export * from './freeze.ts';
export * from './messages.ts';
export * from './queries.ts';
/** Accounts the chain itself holds funds in; every conservation sum includes them. */
export { FEE_COLLECTOR } from '../bank.ts';
