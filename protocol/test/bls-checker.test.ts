// The prepared FastAggregateVerify a primary uses for its secondaries' approvals answers as the
// one-shot check does, and the aggregation that leaves the subgroup check to verification makes
// the same aggregate for valid signatures.

import test from 'ava';
import { generateBlsKey, blsPublicKey, blsSign, blsAggregate, blsAggregateChecker, blsAggregateUnchecked, blsFastAggregateVerify, keccak256 } from '@insitu/protocol';

test('a prepared aggregate checker accepts and refuses what FastAggregateVerify does', (t) => {
  const keys = Array.from({ length: 6 }, () => generateBlsKey());
  const pks = keys.map(blsPublicKey);
  const msg = keccak256(new TextEncoder().encode('seal'));
  const sigs = keys.map((k) => blsSign(msg, k));
  const agg = blsAggregateUnchecked(sigs);
  t.deepEqual(agg, blsAggregate(sigs), 'the same aggregate as the checked aggregation');
  const check = blsAggregateChecker(pks);
  t.true(check(agg, msg));
  t.true(blsFastAggregateVerify(agg, msg, pks));
  t.false(check(agg, keccak256(msg)), 'another message');
  t.false(blsAggregateChecker(pks.slice(1))(agg, msg), 'a signer missing');
  t.false(check(blsAggregateUnchecked([...sigs.slice(1), blsSign(msg, generateBlsKey())]), msg), 'one approval from a stranger');
  t.false(check(sigs[0]!, msg), 'one approval is not the aggregate');
  t.false(check(new Uint8Array(96), msg), 'garbage is refused, not thrown');
  t.throws(() => blsAggregateChecker([new Uint8Array(48).fill(1)]), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => blsAggregateUnchecked([new Uint8Array(96).fill(1)]), { code: 'ERR_INVALID_ARGUMENT' } as never);
});
