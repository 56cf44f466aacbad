import test from 'ava';
import { randomBytes } from 'node:crypto';
import { blsProofOfPossession, generateBlsKey, blsPublicKey } from '@insitu/protocol';
import { toHex } from '@insitu/protocol';
import { createChainApp, FEE_COLLECTOR, GAS_PER_MSG } from '../src/state/index.ts';
import type { BlockInfo } from '../src/state/types.ts';
import { createDevnetGenesis } from '../src/genesis.ts';
import { tx, newKey, GAS, PRICE } from './helpers.ts';
import { setup, sumBalances, balanceOf, createBucket, createObject, seal } from './state/fixtures.ts';

const SEND = '/cosmos.bank.v1beta1.MsgSend';
const send = (from: string, to: string, amount: bigint | string) => ({ typeUrl: SEND, value: { fromAddress: from, toAddress: to, amount: [{ denom: 'BNB', amount: String(amount) }] } });
const account = async (s: Awaited<ReturnType<typeof setup>>, address: string) => {
  const a = await s.app.kv().get<{ sequence: bigint; balance: bigint }>(`acct/${address.toLowerCase()}`);
  return a!;
};

test('every delivered transaction is one block, announced to commit listeners in order', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const genesisBlock = await s.app.latestBlock();
  t.is(genesisBlock.height, 1n);
  const seen: BlockInfo[] = [];
  const unsubscribe = s.app.onCommit((b) => seen.push(b));
  const records = [];
  for (let i = 0; i < 3; i++) records.push(await s.send(alice!, SEND, send(alice!.address, bob!.address, 1n + BigInt(i)).value));
  unsubscribe();
  await s.send(alice!, SEND, send(alice!.address, bob!.address, 9n).value);
  t.deepEqual(seen.map((b) => b.height), [2n, 3n, 4n], 'nothing after unsubscribing');
  for (const [i, rec] of records.entries()) {
    t.is(rec.height, BigInt(i + 2));
    const block = (await s.app.getBlock(rec.height))!;
    t.deepEqual(block.txHashes, [new Uint8Array(rec.hash)]);
    t.deepEqual(block, seen[i]);
    const stored = (await s.app.getTx(rec.hash))!;
    t.is(stored.result.code, 0);
    t.deepEqual(stored.raw, new Uint8Array(rec.raw));
    t.true(block.time >= (i === 0 ? genesisBlock.time : seen[i - 1]!.time));
  }
  t.not(Buffer.from(seen[0]!.hash).toString('hex'), Buffer.from(seen[1]!.hash).toString('hex'));
  t.is((await s.app.latestBlock()).height, 5n);
  t.is(await s.app.getBlock(99n), undefined);
  t.is(await s.app.getTx(randomBytes(32)), undefined);
  // Transfers are Cosmos events too, with the message and fee events Cosmos emits.
  const events = records[0]!.result.events;
  const attrs = (type: string) => events.filter((e) => e.type === type).map((e) => Object.fromEntries(e.attributes.map((a) => [a.key, a.value])));
  t.deepEqual(attrs('insitu.transfer'), [{ from: alice!.address, to: bob!.address, amount: '1' }]);
  t.deepEqual(attrs('message'), [{ action: SEND, sender: alice!.address, module: 'bank' }]);
  t.deepEqual(attrs('tx'), [{ fee: `${GAS * PRICE}BNB`, fee_payer: alice!.address }, { acc_seq: `${alice!.address}/0` }]);
});

test('a failing message reverts its whole transaction except the fee and the nonce', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const before = await account(s, alice!.address);
  const feedBefore = (await s.app.events(0n, 100)).length;
  const rec = await s.sendMany(alice!, [
    { typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: alice!.address, bucketName: 'ghost', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[0]!.address, chargedReadQuota: '0' } },
    send(alice!.address, bob!.address, 5n),
    send(alice!.address, bob!.address, 10n ** 30n),
  ]);
  t.is(rec.result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  t.true(rec.result.code > 1, 'a Cosmos-style non-zero code');
  t.deepEqual(rec.result.events.map((e) => e.type), ['tx', 'tx'], 'only the fee and sequence events remain');
  t.is(rec.height, 2n, 'the failed transaction still takes a block');
  t.is((await s.app.getTx(rec.hash))!.result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  await t.throwsAsync(s.app.query('/greenfield.storage.Query/HeadBucket', { bucketName: 'ghost' }), { message: /not found/ });
  const after = await account(s, alice!.address);
  t.is(after.sequence, before.sequence + 1n);
  t.is(after.balance, before.balance - 3n * GAS * PRICE, 'only the fee for three messages was paid');
  t.is(await balanceOf(s.app, bob!.address), 10n ** 21n);
  t.is((await s.app.events(0n, 100)).length, feedBefore, 'no feed events from a failed transaction');
  // The bucket name is still free.
  t.is((await createBucket(s, alice!, 'ghost')).result.code, 0);
});

test('admission checks signer, nonce, fee, gas and balance without changing state', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  const poor = newKey();
  await s.send(alice!, SEND, send(alice!.address, poor.address, GAS * PRICE - 1n).value);
  const snapshot = await sumBalances(s.app);
  const aliceBefore = await account(s, alice!.address);
  const check = (signer: string, seq: bigint, msgs: ReturnType<typeof send>[], fee = {}) => s.app.checkTx(tx(signer as `0x${string}`, seq, msgs, fee));
  t.is((await check(alice!.address, 1n, [send(alice!.address, bob!.address, 1n)])).code, 0);
  t.is((await check(alice!.address, 0n, [send(alice!.address, bob!.address, 1n)])).errorCode, 'ERR_TX_NONCE', 'a replayed nonce');
  t.is((await check(alice!.address, 2n, [send(alice!.address, bob!.address, 1n)])).errorCode, 'ERR_TX_NONCE', 'a future nonce');
  t.is((await check(alice!.address, 1n, [send(bob!.address, alice!.address, 1n)])).errorCode, 'ERR_TX_SIGNATURE');
  t.is((await check(alice!.address, 1n, [send(alice!.address, bob!.address, 1n), send(bob!.address, alice!.address, 1n)])).errorCode, 'ERR_TX_SIGNATURE', 'every message is checked');
  t.is((await check(alice!.address, 1n, [send(alice!.address, bob!.address, 1n)], { amount: GAS * PRICE - 1n })).errorCode, 'ERR_TX_FEE');
  t.is((await check(alice!.address, 1n, [send(alice!.address, bob!.address, 1n)], { gas: GAS - 1n })).errorCode, 'ERR_TX_FEE', 'gas limit under the need');
  t.is((await check(alice!.address, 1n, [send(alice!.address, bob!.address, 1n)], { denom: 'wei' })).errorCode, 'ERR_TX_FEE');
  t.is((await check(alice!.address, 1n, [])).errorCode, 'ERR_BAD_REQUEST');
  t.is((await check(alice!.address, 1n, [{ typeUrl: '/cosmos.gov.v1.MsgVote', value: {} } as never])).errorCode, 'ERR_BAD_REQUEST');
  t.is((await check(poor.address, 0n, [send(poor.address, bob!.address, 0n)])).errorCode, 'ERR_INSUFFICIENT_BALANCE', 'cannot pay the fee');
  // A tx failing admission in deliverTx leaves no block and no record.
  const height = (await s.app.latestBlock()).height;
  const rejected = await s.app.deliverTx(tx(poor.address, 0n, [send(poor.address, bob!.address, 0n)]));
  t.is(rejected.index, -1);
  t.is(rejected.result.errorCode, 'ERR_INSUFFICIENT_BALANCE');
  t.is((await s.app.latestBlock()).height, height);
  t.is(await s.app.getTx(rejected.hash), undefined);
  t.deepEqual(await account(s, alice!.address), aliceBefore);
  t.is(await sumBalances(s.app), snapshot);
});

test('simulate estimates a fixed gas per message and needs no signer', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  t.is(s.app.minGasPrice, 5_000_000_000n);
  const msgs = [send(alice!.address, bob!.address, 1n), send(alice!.address, bob!.address, 2n)];
  const r = await s.app.simulate({ ...tx(alice!.address, 0n, msgs), signer: null });
  t.is(r.code, 0, r.log);
  t.is(r.gasUsed, 2n * GAS_PER_MSG);
  const withSigner = await s.app.simulate({ ...tx(alice!.address, 7n, msgs) });
  t.is(withSigner.errorCode, 'ERR_TX_NONCE');
  const unknown = await s.app.simulate({ ...tx(alice!.address, 0n, [{ typeUrl: '/nope.Msg', value: {} }]), signer: null });
  t.is(unknown.errorCode, 'ERR_BAD_REQUEST');
  t.is((await account(s, alice!.address)).sequence, 0n);
});

test('the sum of all balances is conserved through fees, transfers, deposits and failures', async (t) => {
  const s = await setup(t);
  const total = await sumBalances(s.app);
  t.is(total, 10n ** 21n * BigInt(s.accounts.length + s.providers.length));
  const people = [...s.accounts, newKey(), newKey()];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const outcomes = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const from = s.accounts[rand(s.accounts.length)]!;
    const to = people[rand(people.length)]!;
    const op = rand(4);
    let rec;
    if (op === 0) rec = await s.send(from, SEND, send(from.address, to.address, BigInt(rand(10 ** 9))).value);
    else if (op === 1) rec = await s.send(from, SEND, send(from.address, to.address, 10n ** 25n).value);
    else if (op === 2) rec = await createBucket(s, from, `b-${i}`, { primary: 1 + rand(7) });
    else rec = await s.sendMany(from, [send(from.address, to.address, 1n), send(from.address, to.address, BigInt(rand(2)) * 10n ** 25n)]);
    outcomes.add(rec.result.errorCode ?? 'ok');
    t.is(await sumBalances(s.app), total, `after step ${i}`);
  }
  t.true(outcomes.has('ok') && outcomes.has('ERR_INSUFFICIENT_BALANCE'), 'both successes and failures happened');
  // A provider registering itself deposits into the chain's pool.
  const sp = newKey();
  await s.send(s.accounts[0]!, SEND, send(s.accounts[0]!.address, sp.address, 10n ** 20n).value);
  const bls = generateBlsKey();
  const r = await s.send(sp, '/greenfield.sp.MsgCreateStorageProvider', {
    creator: sp.address, spAddress: sp.address, fundingAddress: sp.address, sealAddress: sp.address, approvalAddress: sp.address, gcAddress: sp.address, maintenanceAddress: sp.address,
    description: { moniker: 'late' }, endpoint: 'http://localhost:9999', deposit: { denom: 'BNB', amount: (10n ** 19n).toString() },
    blsKey: Buffer.from(blsPublicKey(bls)).toString('hex'), blsProof: Buffer.from(blsProofOfPossession(bls)).toString('hex'), readPrice: '1', storePrice: '2', freeReadQuota: '0',
  });
  t.is(r.result.code, 0, r.result.log);
  t.is(await sumBalances(s.app), total);
  t.true(await balanceOf(s.app, FEE_COLLECTOR) > 0n);
});

test('state, nonces and the event feed survive a restart; genesis is applied once', async (t) => {
  const s = await setup(t);
  const [alice, bob] = s.accounts;
  await createBucket(s, alice!, 'durable');
  await createObject(s, alice!, 'durable', 'o', randomBytes(100));
  t.is((await seal(s, 'durable', 'o')).result.code, 0);
  const events = await s.app.events(0n, 100);
  const latest = await s.app.latestBlock();
  const aliceAcct = await account(s, alice!.address);
  await s.app.close();

  // Reopened with a genesis that would give everyone more: the stored state wins.
  const richer = { ...s.genesis, accounts: s.genesis.accounts.map((a) => ({ ...a, balance: (10n ** 24n).toString() })) };
  const again = createChainApp({ dataDir: s.dir, genesis: richer, now: () => (s.clock.now += 1000) });
  await again.init();
  t.teardown(() => again.close());
  t.deepEqual(await again.latestBlock(), latest);
  t.deepEqual(await again.events(0n, 100), events);
  t.deepEqual(await again.kv().get(`acct/${alice!.address.toLowerCase()}`), aliceAcct);
  const head = await again.query('/greenfield.storage.Query/HeadObject', { bucketName: 'durable', objectName: 'o' });
  t.is((head.objectInfo as { objectStatus: number; localVirtualGroupId: number }).objectStatus, 1);
  t.is((head.objectInfo as { localVirtualGroupId: number }).localVirtualGroupId, 1);
  // The old nonce is refused, the next one accepted, and the feed and ids carry on.
  t.is((await again.checkTx(tx(alice!.address, aliceAcct.sequence - 1n, [send(alice!.address, bob!.address, 1n)]))).errorCode, 'ERR_TX_NONCE');
  const rec = await again.deliverTx(tx(alice!.address, aliceAcct.sequence, [{ typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: alice!.address, bucketName: 'second', visibility: 2, paymentAddress: '', primarySpAddress: s.providers[1]!.address, chargedReadQuota: '0' } }]));
  t.is(rec.result.code, 0, rec.result.log);
  t.is(rec.height, latest.height + 1n);
  t.is((rec.result.responses[0]!.value as { bucketId: string }).bucketId, '2');
  const resumed = await again.events(events.at(-1)!.seq, 10);
  t.deepEqual(resumed.map((e) => [e.seq, e.type]), [[events.at(-1)!.seq + 1n, 'bucket-created']]);
  await again.close();

  // Another chain's genesis cannot open this directory.
  const other = createChainApp({ dataDir: s.dir, genesis: { ...s.genesis, chainId: 'other_77-1' } });
  await t.throwsAsync(other.init(), { message: /holds chain/ });
  await other.close();
});

test('genesis without accounts or enough providers is refused', (t) => {
  const providers = Array.from({ length: 6 }, () => ({
    operatorAddress: newKey().address, fundingAddress: newKey().address, sealAddress: newKey().address, approvalAddress: newKey().address, gcAddress: newKey().address,
    blsKey: toHex(blsPublicKey(generateBlsKey())), endpoint: 'http://localhost:1', moniker: 'x', storePrice: '1', readPrice: '1', computePrice: '1',
  }));
  t.throws(() => createDevnetGenesis({ accounts: [], providers }), { message: /at least 7/ });
  t.throws(() => createDevnetGenesis({ accounts: [{ address: '0x1234' as `0x${string}`, balance: 1n }], providers: [...providers, providers[0]!] }), { message: /bad genesis address/ });
});
