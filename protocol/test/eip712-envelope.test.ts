// The typed data insitu builds for a transaction is the one greenfield-js-sdk builds: the envelope
// (domain, Tx, Fee, the Msg<n> renaming of several messages, fields sorted by name) is insitu's own
// code, checked here against greenfield-js-sdk's offline helpers for one message, several kinds
// of messages together, and more than nine (where Msg1 → Msg1<n> renaming meets msg10, msg11).

import test from 'ava';
import { createRequire } from 'node:module';
import { msgCodec, msgEip712, txTypedData, type TxSignDoc } from '@insitu/protocol/chain';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const gf = require('@bnb-chain/greenfield-js-sdk') as any;

const A = '0x1111111111111111111111111111111111111111';
const B = '0x2222222222222222222222222222222222222222';
const decoded = (typeUrl: string, partial: Record<string, unknown>): { typeUrl: string; value: Record<string, unknown> } => {
  const c = msgCodec(typeUrl)!;
  return { typeUrl, value: c.decode(c.encode(c.fromPartial(partial)).finish()) as Record<string, unknown> };
};
const send = (n: number) => decoded('/cosmos.bank.v1beta1.MsgSend', { fromAddress: A, toAddress: B, amount: [{ denom: 'BNB', amount: String(n) }] });
const del = (name: string) => decoded('/greenfield.storage.MsgDeleteObject', { operator: A, bucketName: 'b', objectName: name });
const bucket = decoded('/greenfield.storage.MsgCreateBucket', { creator: A, bucketName: 'my-bucket', visibility: 1, paymentAddress: A, primarySpAddress: B, primarySpApproval: { expiredHeight: 0, globalVirtualGroupFamilyId: 3 }, chargedReadQuota: 100 });
const policy = decoded('/greenfield.storage.MsgDeletePolicy', { operator: A, resource: 'grn:b::my-bucket', principal: { type: 1, value: B } });

/** The same document through greenfield-js-sdk's own helpers, as its txClient.multiTx builds it. */
function sdkTypedData(doc: TxSignDoc): Record<string, unknown> {
  const parts = doc.msgs.map((m) => msgEip712(m.typeUrl, m.value));
  const types = gf.generateTypes(gf.mergeMultiEip712(parts.map((p) => p.types)));
  const msgs: Record<string, unknown> = {};
  parts.forEach((p, i) => {
    msgs[`msg${i + 1}`] = { ...p.value, type: doc.msgs[i]!.typeUrl };
  });
  const fee = gf.generateFee(doc.feeAmount.toString(), doc.feeDenom, doc.gasLimit.toString(), doc.payer ?? '', doc.granter ?? '');
  return gf.createEIP712(types, doc.evmChainId, gf.generateMessage(doc.accountNumber.toString(), doc.sequence.toString(), doc.evmChainId, doc.memo ?? '', fee, msgs, (doc.timeoutHeight ?? 0n).toString()));
}

const doc = (msgs: TxSignDoc['msgs'], extra: Partial<TxSignDoc> = {}): TxSignDoc => ({
  msgs, accountNumber: 7n, sequence: 42n, evmChainId: '9000', feeAmount: 6000000000000n, feeDenom: 'BNB', gasLimit: 1200n, payer: A, granter: '', memo: '', timeoutHeight: 0n, ...extra,
});

const cases: [string, TxSignDoc][] = [
  ['one transfer', doc([send(1)])],
  ['one bucket with its nested approval type', doc([bucket])],
  ['four kinds of message in one transaction', doc([bucket, send(5), del('x'), policy])],
  ['twelve messages (msg10 to msg12 beside the Msg1 renaming)', doc([...Array.from({ length: 6 }, (_, i) => send(i)), ...Array.from({ length: 6 }, (_, i) => del(`o${i}`)), policy].slice(0, 12))],
  ['a memo, a granter and a timeout height', doc([del('y')], { memo: 'hello', granter: B, timeoutHeight: 99n, payer: '' })],
];

for (const [what, d] of cases) {
  test(`typed data is greenfield-js-sdk's, key order included: ${what}`, (t) => {
    const ours = txTypedData(d);
    const theirs = sdkTypedData(d);
    t.deepEqual(ours, theirs);
    t.is(JSON.stringify(ours), JSON.stringify(theirs));
  });
}

test('the envelope needs no greenfield-js-sdk: building typed data does not load it', async (t) => {
  // A fresh process: this test file itself loaded greenfield-js-sdk for the comparison.
  const { execFileSync } = await import('node:child_process');
  const script = `import { txTypedData } from '@insitu/protocol/chain';
    import { createRequire } from 'node:module';
    txTypedData({ msgs: [], accountNumber: 1n, sequence: 0n, evmChainId: '9000', feeAmount: 0n, feeDenom: 'BNB', gasLimit: 1n });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(String(cache.filter((k) => k.includes('greenfield-js-sdk')).length));`;
  const out = execFileSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { cwd: new URL('.', import.meta.url), encoding: 'utf8' });
  t.is(out, '0');
});
