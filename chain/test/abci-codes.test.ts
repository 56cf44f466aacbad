// The numeric result codes the chain puts in CheckTx, FinalizeBlock and Query answers: an
// explicit table, one distinct number per error code, with the numbers clients already see
// pinned, so a code appended later can never shift another's number.

import test from 'ava';
import { ErrorCodes, ChainCodeNumbers, chainCodeNumber } from '@insitu/protocol';
import { errorResult } from '../src/state/block.ts';
import { InsituError } from '@insitu/protocol';

test('every error code has its own explicit ABCI number, and the numbers clients know stay put', (t) => {
  const numbers = Object.keys(ErrorCodes).map(chainCodeNumber);
  t.is(new Set(numbers).size, numbers.length, 'every code has its own number, listed or not yet');
  t.true(numbers.every((n) => Number.isInteger(n) && n >= 2), '0 is success and 1 a code the table does not know');
  for (const [code, n] of Object.entries(ChainCodeNumbers)) t.is(chainCodeNumber(code), n, code);
  // Numbers already on the wire (they were once derived from the table's order).
  t.like(ChainCodeNumbers, { ERR_INVALID_ARGUMENT: 2, ERR_BAD_REQUEST: 5, ERR_PERMISSION_DENIED: 10, ERR_ACCOUNT_NOT_FOUND: 15, ERR_INSUFFICIENT_BALANCE: 24, ERR_TX_NONCE: 26, ERR_TX_SIGNATURE: 27, ERR_TX_FEE: 28, ERR_CHAIN_UNAVAILABLE: 30, ERR_INTERNAL: 45, ERR_QUOTA_EXCEEDED: 47 });
  t.is(chainCodeNumber('ERR_NO_SUCH_CODE'), 1);
  const r = errorResult(new InsituError('ERR_TX_NONCE', 'stale'), 1n, 1n);
  t.is(r.code, 26);
  t.is(r.codespace, 'insitu');
  t.is(r.log, 'ERR_TX_NONCE: stale');
});
