// The chain's JSON-RPC front against anonymous hostile callers: oversized batches and bodies,
// transactions signed for another chain, amounts that are not plain integers, and a seeded fuzz
// of malformed JSON-RPC bodies, abci_query paths and data, and mutated transaction bytes. Every
// answer is a stable error code (never ERR_INTERNAL), balances do not move, the chain stays up.

import test from 'ava';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createChainClient } from '@insitu/sdk/chain';
import { txTypedData, signTypedData } from '@insitu/protocol/chain';
import { createChain, type Chain } from '../src/index.ts';
import { codec, msgCodec, toLong } from '../src/gnfd.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testGenesis, type TestKey } from './helpers.ts';
import { rng } from '@insitu/test/random';

const TxRaw = codec('cosmos/tx/v1beta1/tx', 'TxRaw');
const TxBody = codec('cosmos/tx/v1beta1/tx', 'TxBody');
const AuthInfo = codec('cosmos/tx/v1beta1/tx', 'AuthInfo');
const EthPubKey = codec('cosmos/crypto/eth/ethsecp256k1/keys', 'PubKey');
const SEND = '/cosmos.bank.v1beta1.MsgSend';

/** A transaction signed the way greenfield-js-sdk signs one (EIP-712), with any fields the caller likes. */
function signedTx(key: TestKey, o: { accountNumber: bigint; sequence: bigint; evmChainId: string; msg: Record<string, unknown>; feeAmount?: string; gas?: bigint }): Uint8Array {
  const c = msgCodec(SEND)!;
  const bytes = c.encode(c.fromPartial(o.msg)).finish();
  const gas = o.gas ?? 200_000n;
  const feeAmount = o.feeAmount ?? (gas * 5_000_000_000n).toString();
  const pub = secp256k1.getPublicKey(Buffer.from(key.privateKey.slice(2), 'hex'), true);
  const body = TxBody.encode(TxBody.fromPartial({ messages: [{ typeUrl: SEND, value: bytes }], memo: '' })).finish();
  const auth = AuthInfo.encode(AuthInfo.fromPartial({
    signerInfos: [{ publicKey: { typeUrl: '/cosmos.crypto.eth.ethsecp256k1.PubKey', value: EthPubKey.encode({ key: pub }).finish() }, modeInfo: { single: { mode: 191 } }, sequence: toLong(o.sequence) }],
    fee: { amount: [{ denom: 'BNB', amount: feeAmount }], gasLimit: toLong(gas), payer: '', granter: '' },
  })).finish();
  let signature: Uint8Array;
  try {
    const typed = txTypedData({ msgs: [{ typeUrl: SEND, value: c.decode(bytes) }], accountNumber: o.accountNumber, sequence: o.sequence, evmChainId: o.evmChainId, feeAmount: BigInt(/^\d+$/.test(feeAmount) ? feeAmount : '0'), feeDenom: 'BNB', gasLimit: gas, payer: '', granter: '', memo: '', timeoutHeight: 0n });
    signature = signTypedData(typed, key.privateKey);
  } catch {
    signature = new Uint8Array(65).fill(1);
  }
  return TxRaw.encode({ bodyBytes: body, authInfoBytes: auth, signatures: [signature] }).finish();
}

async function post(chain: Chain, body: string | Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, text: await res.text() };
}
const rpc = (method: string, params: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });
const answer = async <T>(body: unknown): Promise<T> => JSON.parse((await post(chain, JSON.stringify(body))).text) as T;

let chain: Chain;
let g: ReturnType<typeof testGenesis>;
let dir: string;

test.before(async () => {
  g = testGenesis({ accounts: 2 });
  dir = await mkdtemp(join(tmpdir(), 'insitu-rpc-'));
  chain = createChain({ dataDir: dir, genesis: g.genesis });
  await chain.start();
});
test.after.always(async () => {
  await chain?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const balances = async (): Promise<bigint[]> => {
  const c = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: g.accounts[0]!.privateKey });
  return Promise.all(g.accounts.map(async (a) => (await c.getAccount(a.address)).balance));
};

test.serial('a batch past the bound is refused whole before any signature is recovered; bodies past 2 MiB are refused', async (t) => {
  const [alice, bob] = g.accounts as [TestKey, TestKey];
  const before = await balances();
  const wrongChain = Buffer.from(signedTx(alice, { accountNumber: 0n, sequence: 0n, evmChainId: '424242', msg: { fromAddress: alice.address, toAddress: bob.address, amount: [{ denom: 'BNB', amount: '1' }] } })).toString('base64');
  const flood = JSON.stringify(Array.from({ length: 1000 }, (_, i) => rpc('broadcast_tx_sync', { tx: wrongChain }, i)));
  const r = await post(chain, flood);
  const refusal = JSON.parse(r.text) as { error?: { code: number; data: string } };
  t.false(Array.isArray(refusal), 'one refusal, not 1000 answers');
  t.is(refusal.error?.code, -32600);
  t.regex(String(refusal.error?.data), /^ERR_BAD_REQUEST: a batch holds 1 to 20 requests, not 1000/);
  t.regex((await post(chain, '[]')).text, /ERR_BAD_REQUEST/);

  // Within the bound each one is answered, as a signature that does not verify.
  const few = await answer<{ result: { code: number; log: string } }[]>(Array.from({ length: 20 }, (_, i) => rpc('broadcast_tx_sync', { tx: wrongChain }, i)));
  t.is(few.length, 20);
  for (const a of few) t.regex(a.result.log, /^ERR_TX_SIGNATURE/);

  const big = await post(chain, Buffer.alloc(3 * 1024 * 1024, 0x20));
  t.is(big.status, 413);
  t.regex(big.text, /ERR_PAYLOAD_TOO_LARGE/);
  t.deepEqual(await balances(), before, 'nothing moved');
  t.deepEqual((await answer<{ result: unknown }>(rpc('health', {}))).result, {}, 'the chain still answers');
});

test.serial('MsgSend and fees with amounts that are not plain integers are ERR_INVALID_ARGUMENT, not ERR_INTERNAL', async (t) => {
  const [alice, bob] = g.accounts as [TestKey, TestKey];
  const c = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: alice.privateKey });
  const before = await balances();
  for (const amount of ['1e3', '-5', ' 7', '0x10', '1.5', '', '١٢']) {
    const acct = await c.getAccount(alice.address);
    const raw = signedTx(alice, { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: chain.evmChainId, msg: { fromAddress: alice.address, toAddress: bob.address, amount: [{ denom: 'BNB', amount }] } });
    const r = await answer<{ result: Record<string, { code: number; log: string } | undefined> & { code?: number; log?: string } }>(rpc('broadcast_tx_commit', { tx: Buffer.from(raw).toString('base64') }));
    const res = r.result.tx_result ?? r.result;
    t.not(res.code, 0, `amount ${JSON.stringify(amount)}`);
    t.regex(String(res.log), /^ERR_INVALID_ARGUMENT/, `amount ${JSON.stringify(amount)}`);
  }
  const acct = await c.getAccount(alice.address);
  const badFee = signedTx(alice, { accountNumber: acct.accountNumber, sequence: acct.nonce, evmChainId: chain.evmChainId, feeAmount: '1e18', msg: { fromAddress: alice.address, toAddress: bob.address, amount: [{ denom: 'BNB', amount: '1' }] } });
  const r = await answer<{ result: { code: number; log: string } }>(rpc('broadcast_tx_sync', { tx: Buffer.from(badFee).toString('base64') }));
  t.regex(r.result.log, /^ERR_INVALID_ARGUMENT/);
  const after = await balances();
  // Failed deliveries may pay their fee; no amount moved to bob.
  t.is(after[1], before[1], 'bob received nothing');
});

test.serial('fuzz: malformed JSON-RPC bodies, abci_query paths and data, and mutated transactions all get stable errors', async (t) => {
  const seed = Number(process.env.INSITU_FUZZ_SEED ?? 0xc4a1_0009);
  t.log(`seed ${seed} (replay with INSITU_FUZZ_SEED=${seed})`);
  const rand = rng(seed);
  const [alice, bob] = g.accounts as [TestKey, TestKey];
  const c = await createChainClient({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, privateKey: alice.privateKey });
  const acct = await c.getAccount(alice.address);
  const valid = signedTx(alice, { accountNumber: acct.accountNumber, sequence: acct.nonce + 1000n, evmChainId: chain.evmChainId, msg: { fromAddress: alice.address, toAddress: bob.address, amount: [{ denom: 'BNB', amount: '1' }] } });
  const paths = [
    '/greenfield.storage.Query/HeadBucket', '/greenfield.storage.Query/HeadObject', '/greenfield.storage.Query/HeadObjectById', '/greenfield.storage.Query/Params',
    '/greenfield.sp.Query/StorageProviders', '/greenfield.sp.Query/StorageProviderByOperatorAddress', '/greenfield.virtualgroup.Query/GlobalVirtualGroupFamily',
    '/greenfield.virtualgroup.Query/QuerySpOptimalGlobalVirtualGroupFamily', '/cosmos.auth.v1beta1.Query/Account', '/cosmos.bank.v1beta1.Query/Balance',
    '/cosmos.tx.v1beta1.Service/Simulate', '/greenfield.permission.Query/VerifyPermission', '/greenfield.storage.Query/VerifyPermission',
    '/insitu.audit.Query/Holdings', '/insitu.challenge.Query/Challenge', '/insitu.challenge.Query/Challenges', '/insitu.compute.Query/Job', '/insitu.compute.Query/Jobs',
    '/insitu.devclock.Query/Time', '/insitu.events.Query/Feed', '/insitu.payment.Query/Account', '/insitu.payment.Query/BucketRead', '/insitu.payment.Query/ProviderIncome',
    '/insitu.permission.Query/ListPolicies', '/insitu.sp.Query/Providers', '/insitu.sp.Query/Stake', '/insitu.storage.Query/BucketsByOwner', '/insitu.storage.Query/Groups',
    '/insitu.storage.Query/ObjectById', '/insitu.storage.Query/Objects', '/insitu.storage.Query/ObjectsInGroup', '/insitu.virtualgroup.Query/ProviderGroups', '/insitu.virtualgroup.Query/SwapIns',
  ];
  const insitu = paths.filter((p) => p.startsWith('/insitu.'));
  // The fields the project's JSON queries read, so random requests reach the handlers.
  const fields = ['bucketName', 'id', 'spId', 'address', 'objectName', 'limit', 'account', 'owner', 'groupName', 'operator', 'member', 'groupOwner', 'bucket', 'startAfter',
    'spAddr', 'policyId', 'operatorAddress', 'objectId', 'object', 'globalVirtualGroupId', 'familyId', 'creator', 'challenger', 'bucketId', 'afterId', 'addr', 'resource',
    'principalAddress', 'prefix', 'gvgId', 'globalVirtualGroupFamilyIds', 'globalVirtualGroupFamilyId', 'after', 'actionType', 'month', 'yearMonth'];
  const methods = ['status', 'health', 'abci_info', 'abci_query', 'broadcast_tx_sync', 'broadcast_tx_async', 'broadcast_tx_commit', 'tx', 'tx_search', 'block', 'insitu_events', 'nope', ''];
  const junk = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(rand(3) === 0 ? rand(0x3000) : 32 + rand(95))).join('');
  const value = (depth = 0): unknown => {
    switch (rand(depth > 2 ? 6 : 9)) {
      case 0: return null;
      case 1: return rand(2) === 0;
      case 2: return [0, -1, 1e21, 1.5, Number.MAX_SAFE_INTEGER, -0][rand(6)];
      case 3: return junk(rand(20));
      case 4: return ['1e3', '-1', '0x1f', '18446744073709551616', 'NaN', '', ' 1', '99999999999999999999999'][rand(8)];
      case 5: return Buffer.from(junk(rand(40))).toString(['hex', 'base64'][rand(2)] as BufferEncoding);
      case 6: return Array.from({ length: rand(4) }, () => value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: rand(4) }, () => [['path', 'data', 'tx', 'hash', 'height', 'after', 'limit', 'wait_ms', 'query', 'prove', junk(3)][rand(11)]!, value(depth + 1)]));
    }
  };
  const fieldValue = (): unknown => {
    switch (rand(5)) {
      case 0: return { $big: ['1', '-1', 'x', '1e3', '340282366920938463463374607431768211456'][rand(5)] };
      case 1: return { $bytes: junk(4) };
      case 2: return alice.address;
      default: return value(1);
    }
  };
  const mutateTx = (): string => {
    const b = [...valid];
    for (let k = 1 + rand(6); k > 0; k--) {
      const at = rand(b.length);
      if (rand(3) === 0) b.splice(at, 1 + rand(16));
      else if (rand(2) === 0) b[at] = rand(256);
      else b.splice(at, 0, ...Array.from({ length: 1 + rand(8) }, () => rand(256)));
    }
    return Buffer.from(b).toString('base64');
  };
  const jsonQuery = (): string => Buffer.from(JSON.stringify(rand(4) === 0 ? value() : Object.fromEntries(Array.from({ length: 1 + rand(4) }, () => [fields[rand(fields.length)]!, fieldValue()]))) ?? 'null').toString('hex');
  const request = (): unknown => {
    switch (rand(6)) {
      case 0: return rpc(methods[rand(methods.length)]!, value(), value());
      case 1: return rpc('abci_query', { path: paths[rand(paths.length)], data: Buffer.from(Array.from({ length: rand(64) }, () => rand(256))).toString('hex') });
      case 2: return rpc('abci_query', { path: rand(10) === 0 ? `/insitu.${junk(8)}` : insitu[rand(insitu.length)], data: jsonQuery() });
      case 3: return rpc('abci_query', { path: rand(2) ? `/${junk(30)}` : paths[rand(paths.length)]!.slice(0, rand(30)), data: junk(10) });
      case 4: return rpc('broadcast_tx_sync', { tx: mutateTx() });
      default: return value();
    }
  };
  const before = await balances();
  const bad: string[] = [];
  const CASES = 1500;
  for (let n = 0; n < CASES;) {
    const size = 1 + rand(20);
    const batch = Array.from({ length: size }, request);
    n += size;
    // Now and then not JSON at all, or a body cut short.
    const text = rand(10) === 0 ? JSON.stringify(batch).slice(0, rand(200)) + junk(5) : JSON.stringify(size === 1 ? batch[0] : batch);
    const r = await post(chain, text);
    if (r.status >= 500) bad.push(`${text.slice(0, 300)} -> HTTP ${r.status}`);
    if (!/ERR_INTERNAL|"Internal error"/.test(r.text)) continue;
    // Name the request that got it, not the whole batch.
    const answers = JSON.parse(r.text) as unknown;
    const list = Array.isArray(answers) ? answers : [answers];
    list.forEach((a, k) => {
      const s = JSON.stringify(a);
      if (/ERR_INTERNAL|"Internal error"/.test(s)) bad.push(`${JSON.stringify(size === 1 ? batch[0] : batch[k]).slice(0, 300)} -> ${s.slice(0, 300)}`);
    });
  }
  t.deepEqual(bad, [], 'no malformed request is answered ERR_INTERNAL');
  t.deepEqual(await balances(), before, 'nothing moved');
  // Still serving: a real transfer goes through.
  await c.transfer(bob.address, 5n);
  t.is((await c.getAccount(bob.address)).balance, before[1]! + 5n);
});
