// Typed errors shared by every part of insitu. Each condition has one stable `code`;
// callers match on `code`, never on the message or the class.

export interface InsituErrorOptions {
  cause?: unknown;
  /** HTTP status a node answers with when this error crosses the wire. */
  status?: number;
  details?: Record<string, unknown>;
}

export class InsituError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: InsituErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InsituError';
    this.code = code;
    this.status = options.status ?? statusFor(code);
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Every stable error code with the HTTP status it maps to. Codes never change. */
export const ErrorCodes = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_INVALID_NAME: 400,
  ERR_INVALID_RANGE: 416,
  ERR_BAD_REQUEST: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNAUTHENTICATED: 401,
  ERR_SIGNATURE_INVALID: 401,
  ERR_SIGNATURE_EXPIRED: 401,
  ERR_PERMISSION_DENIED: 403,
  ERR_NOT_FOUND: 404,
  ERR_BUCKET_NOT_FOUND: 404,
  ERR_OBJECT_NOT_FOUND: 404,
  ERR_PIECE_NOT_FOUND: 404,
  ERR_ACCOUNT_NOT_FOUND: 404,
  ERR_PROVIDER_NOT_FOUND: 404,
  ERR_BUCKET_EXISTS: 409,
  ERR_OBJECT_EXISTS: 409,
  ERR_BUCKET_NOT_EMPTY: 409,
  ERR_OBJECT_NOT_SEALED: 409,
  ERR_OBJECT_ALREADY_SEALED: 409,
  ERR_CHECKSUM_MISMATCH: 422,
  ERR_SIZE_MISMATCH: 422,
  ERR_INSUFFICIENT_BALANCE: 402,
  ERR_TX_FAILED: 400,
  ERR_TX_NONCE: 400,
  ERR_TX_SIGNATURE: 401,
  ERR_TX_FEE: 400,
  ERR_TX_TIMEOUT: 504,
  ERR_CHAIN_UNAVAILABLE: 503,
  ERR_NODE_UNAVAILABLE: 503,
  ERR_NOT_ENOUGH_PIECES: 503,
  ERR_REPLICATION_FAILED: 502,
  ERR_ABORTED: 499,
  ERR_JOB_INVALID_MODULE: 400,
  ERR_JOB_FORBIDDEN_IMPORT: 400,
  ERR_JOB_NO_ENTRYPOINT: 400,
  ERR_JOB_MEMORY_LIMIT: 422,
  ERR_JOB_OUT_OF_FUEL: 422,
  ERR_JOB_TIMEOUT: 422,
  ERR_JOB_OUTPUT_LIMIT: 422,
  ERR_JOB_TRAP: 422,
  ERR_JOB_EXIT_NONZERO: 422,
  ERR_CONFIG: 400,
  ERR_INTERNAL: 500,
  ERR_ACCOUNT_FROZEN: 402,
  ERR_QUOTA_EXCEEDED: 429,
  ERR_INVALID_RECEIPT: 422,
  ERR_JOB_RUNNING: 409,
  ERR_DISPUTE_CLOSED: 409,
  ERR_WRONG_HOST: 421,
  ERR_NODE_DISK_FULL: 507,
  ERR_TOO_MANY_REQUESTS: 429,
  ERR_REQUEST_TIMEOUT: 408,
  /** A command line that does not parse (unknown command or option, missing argument). */
  ERR_USAGE: 400,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * The number each code carries as an ABCI result code (CheckTx, FinalizeBlock, Query) in the
 * chain's `insitu` codespace. Numbers are part of the wire and never change: a code appended
 * above gets the next free number here (0 is success, 1 a failure without a known code); the type
 * makes a code without a number an error.
 */
export const ChainCodeNumbers: Readonly<Record<ErrorCode, number>> = {
  ERR_INVALID_ARGUMENT: 2,
  ERR_INVALID_NAME: 3,
  ERR_INVALID_RANGE: 4,
  ERR_BAD_REQUEST: 5,
  ERR_PAYLOAD_TOO_LARGE: 6,
  ERR_UNAUTHENTICATED: 7,
  ERR_SIGNATURE_INVALID: 8,
  ERR_SIGNATURE_EXPIRED: 9,
  ERR_PERMISSION_DENIED: 10,
  ERR_NOT_FOUND: 11,
  ERR_BUCKET_NOT_FOUND: 12,
  ERR_OBJECT_NOT_FOUND: 13,
  ERR_PIECE_NOT_FOUND: 14,
  ERR_ACCOUNT_NOT_FOUND: 15,
  ERR_PROVIDER_NOT_FOUND: 16,
  ERR_BUCKET_EXISTS: 17,
  ERR_OBJECT_EXISTS: 18,
  ERR_BUCKET_NOT_EMPTY: 19,
  ERR_OBJECT_NOT_SEALED: 20,
  ERR_OBJECT_ALREADY_SEALED: 21,
  ERR_CHECKSUM_MISMATCH: 22,
  ERR_SIZE_MISMATCH: 23,
  ERR_INSUFFICIENT_BALANCE: 24,
  ERR_TX_FAILED: 25,
  ERR_TX_NONCE: 26,
  ERR_TX_SIGNATURE: 27,
  ERR_TX_FEE: 28,
  ERR_TX_TIMEOUT: 29,
  ERR_CHAIN_UNAVAILABLE: 30,
  ERR_NODE_UNAVAILABLE: 31,
  ERR_NOT_ENOUGH_PIECES: 32,
  ERR_REPLICATION_FAILED: 33,
  ERR_ABORTED: 34,
  ERR_JOB_INVALID_MODULE: 35,
  ERR_JOB_FORBIDDEN_IMPORT: 36,
  ERR_JOB_NO_ENTRYPOINT: 37,
  ERR_JOB_MEMORY_LIMIT: 38,
  ERR_JOB_OUT_OF_FUEL: 39,
  ERR_JOB_TIMEOUT: 40,
  ERR_JOB_OUTPUT_LIMIT: 41,
  ERR_JOB_TRAP: 42,
  ERR_JOB_EXIT_NONZERO: 43,
  ERR_CONFIG: 44,
  ERR_INTERNAL: 45,
  ERR_ACCOUNT_FROZEN: 46,
  ERR_QUOTA_EXCEEDED: 47,
  ERR_INVALID_RECEIPT: 48,
  ERR_JOB_RUNNING: 49,
  ERR_DISPUTE_CLOSED: 50,
  ERR_WRONG_HOST: 51,
  ERR_NODE_DISK_FULL: 52,
  ERR_TOO_MANY_REQUESTS: 53,
  ERR_REQUEST_TIMEOUT: 54,
  ERR_USAGE: 55,
};

/** The ABCI result code for an error code (1 for a code the table does not know at all). */
export function chainCodeNumber(code: string): number {
  return Object.hasOwn(ChainCodeNumbers, code) ? ChainCodeNumbers[code as ErrorCode] : 1;
}

/**
 * A code received from elsewhere (a node's error document, a chain log, a receipt) as this
 * table's type: the code itself when the table knows it, else the fallback the caller names.
 */
export function errorCodeOf(value: unknown, fallback: ErrorCode): ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value) ? (value as ErrorCode) : fallback;
}

function statusFor(code: string): number {
  return (ErrorCodes as Record<string, number>)[code] ?? 500;
}

/** The error a cancelled operation rejects with, whatever the signal's reason type was. */
export class AbortError extends InsituError {
  constructor(message = 'The operation was aborted', options: InsituErrorOptions = {}) {
    super('ERR_ABORTED', message, options);
    this.name = 'AbortError';
  }
}

export const err = (code: ErrorCode, message: string, options?: InsituErrorOptions): InsituError =>
  new InsituError(code, message, options);

export function isInsituError(e: unknown, code?: ErrorCode): e is InsituError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' &&
    (e as Error).name !== undefined && (code === undefined || (e as InsituError).code === code) &&
    e instanceof Error && 'status' in e;
}

/** Throws the project's AbortError if the signal is aborted (Node 20 reasons are DOMExceptions). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw toAbortError(signal.reason);
}

export function toAbortError(reason: unknown): AbortError {
  if (reason instanceof AbortError) return reason;
  const message = reason instanceof Error && reason.message ? reason.message : 'The operation was aborted';
  return new AbortError(message, { cause: reason });
}
