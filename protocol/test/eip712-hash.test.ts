// EIP-712 digests, signatures and signer recovery agree with @metamask/eth-sig-util (what
// greenfield-js-sdk and wallets sign with): over seeded random typed data of every shape,
// including the values eth-sig-util refuses or reads in its own peculiar ways, and over real
// transactions of many message types.

import test from 'ava';
import { createRequire } from 'node:module';
import { seeded } from '@insitu/test/random';
import { privateKeyToAddress, toHex, type Hex } from '@insitu/protocol';
import { typedDataDigest, txTypedData, signTypedData, recoverTxSigner, msgCodec, msgEip712, gnfdHelpers } from '@insitu/protocol/chain';

const require = createRequire(import.meta.url);
const sigUtil = require('@metamask/eth-sig-util') as {
  TypedDataUtils: { eip712Hash(data: unknown, version: string): Buffer };
  signTypedData(o: { data: unknown; privateKey: Buffer; version: string }): string;
  recoverTypedSignature(o: { data: unknown; signature: string; version: string }): string;
};

type Rand = (n: number) => number;
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[rand(xs.length)]!;

function text(rand: Rand): string {
  const alphabet = ['a', 'Z', '0', ' ', '/', '"', '\\', 'é', '中', '😀', '\u0000', '\ud800', ','];
  let s = '';
  for (let i = rand(12); i > 0; i--) s += pick(rand, alphabet);
  return s;
}

const UINTS = ['uint8', 'uint32', 'uint64', 'uint256'];
/** Types the digest computes itself, and ones it hands to eth-sig-util. */
const ATOMS = [...UINTS, ...UINTS, 'string', 'string', 'bytes', 'bool', 'address', 'int64', 'bytes32', 'uint', 'uint7'];

/** Half the inputs hold only the values Greenfield's typed data holds; the others anything. */
let clean = false;

function uintValue(rand: Rand, type: string): unknown {
  const bits = Number(/\d+/.exec(type)?.[0] ?? 256);
  const max = (1n << BigInt(bits)) - 1n;
  switch (clean ? pick(rand, [0, 1, 2, 4, 12, 12, 12, 12, 12, 12]) : rand(14)) {
    case 0: return String(max);
    case 1: return String(max + 1n);
    case 2: return `00${rand(1000)}`;
    case 3: return `0x${rand(1 << 20).toString(16)}`;
    case 4: return rand(2 ** 31);
    case 5: return -rand(100) - 1;
    case 6: return '';
    case 7: return null;
    case 8: return 1.5;
    case 9: return BigInt(rand(1000));
    case 10: return Number.MAX_SAFE_INTEGER + 2;
    case 11: return ` ${rand(9)}`;
    default: return String(rand(2 ** 31) % Number(max > 2n ** 31n ? 2n ** 31n : max + 1n));
  }
}

function atomValue(rand: Rand, type: string): unknown {
  if (!clean && rand(25) === 0) return undefined;
  if (type.startsWith('uint')) return uintValue(rand, type);
  if (type === 'string') return pick(rand, clean ? [text(rand), '', null] : [text(rand), text(rand), '', null, rand(1000)]);
  if (type === 'bytes') return pick(rand, [`0x${'ab'.repeat(rand(40))}`, `0x${'c'.repeat(rand(9))}`, '0x', 'aGVsbG8=', text(rand), ...(clean ? [] : [rand(300)])]);
  if (type === 'bool') return rand(2) === 0;
  if (type === 'address') return `0x${'1f'.repeat(20)}`;
  if (type === 'bytes32') return `0x${'07'.repeat(32)}`;
  return rand(1000);
}

interface Shape { types: Record<string, { name: string; type: string }[]>; structs: string[] }

function randomTypes(rand: Rand): Shape {
  const count = 1 + rand(4);
  const structs = Array.from({ length: count }, (_, i) => `S${i}`);
  const types: Shape['types'] = {};
  structs.forEach((name, i) => {
    const fields: { name: string; type: string }[] = [];
    for (let f = rand(6); f >= 0; f--) {
      // A struct refers only to later ones, so every value is finite.
      let type = i + 1 < count && rand(3) === 0 ? structs[i + 1 + rand(count - i - 1)]! : pick(rand, clean ? ATOMS.slice(0, 11) : ATOMS);
      if (rand(4) === 0) type += '[]';
      if (rand(10) === 0) type += '[]';
      fields.push({ name: rand(8) === 0 ? `f${f} x` : `f${f}`, type });
    }
    types[name] = fields;
  });
  return { types, structs };
}

function randomValue(rand: Rand, shape: Shape, type: string, depth: number): unknown {
  if (type.endsWith(']')) {
    if (!clean && rand(20) === 0) return pick(rand, [null, 'notarray', undefined]);
    const inner = type.slice(0, type.lastIndexOf('['));
    return Array.from({ length: rand(depth > 2 ? 2 : 4) }, () => randomValue(rand, shape, inner, depth + 1));
  }
  if (shape.types[type]) {
    if (rand(12) === 0) return pick(rand, clean ? [null, undefined] : [null, undefined, 'str']);
    const out: Record<string, unknown> = {};
    for (const f of shape.types[type]!) {
      const v = randomValue(rand, shape, f.type, depth + 1);
      if (v !== undefined || rand(2) === 0) out[f.name] = v;
    }
    return out;
  }
  return atomValue(rand, type);
}

const DOMAIN_TYPES = [
  { name: 'name', type: 'string' }, { name: 'version', type: 'string' }, { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'string' }, { name: 'salt', type: 'string' },
];

function randomTyped(rand: Rand): Record<string, unknown> {
  clean = rand(2) === 0;
  const shape = randomTypes(rand);
  const domain = { name: 'Greenfield Tx', version: '1.0.0', chainId: pick(rand, clean ? ['5600', '9000', 5600] : ['5600', '9000', 5600, '0x15e0', '1'.repeat(80)]), verifyingContract: '0x71e835aff094655dEF897fbc85534186DbeaB75d', salt: '0' };
  const typed: Record<string, unknown> = {
    types: { EIP712Domain: rand(10) === 0 ? DOMAIN_TYPES.slice(0, 3) : DOMAIN_TYPES, ...shape.types },
    primaryType: !clean && rand(30) === 0 ? pick(rand, ['Missing', '', 'EIP712Domain']) : 'S0',
    domain: !clean && rand(30) === 0 ? undefined : domain,
    message: randomValue(rand, shape, 'S0', 0) ?? {},
  };
  if (!clean && rand(40) === 0) delete typed.types;
  return typed;
}

type Outcome = { ok: string } | { error: string };
const outcome = (fn: () => Uint8Array | string): Outcome => {
  try {
    const v = fn();
    return { ok: typeof v === 'string' ? v : Buffer.from(v).toString('hex') };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

test('the EIP-712 digest is eth-sig-util\'s V4 digest, or its very error, for random typed data of every shape', (t) => {
  const { rand } = seeded((l) => t.log(l));
  let hashed = 0;
  for (let i = 0; i < 400; i++) {
    const typed = randomTyped(rand);
    const expected = outcome(() => sigUtil.TypedDataUtils.eip712Hash(typed, 'V4'));
    const got = outcome(() => typedDataDigest(typed));
    if ('ok' in expected) hashed++;
    t.deepEqual(got, expected, `typed data ${i}: ${JSON.stringify(typed, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  }
  t.log(`${hashed} of 400 hash`);
  t.true(hashed > 100, `a good share of the random inputs hash (${hashed} of 400)`);
});

const KEYS: Hex[] = [`0x${'11'.repeat(32)}`, `0x${'ab'.repeat(32)}`, `0x${'0'.repeat(63)}1`];

function txDoc(rand: Rand): Parameters<typeof txTypedData>[0] {
  const name = (): string => `${text(rand).replace(/[^a-z0-9]/gi, '')}x${rand(1e6)}`;
  const addr = privateKeyToAddress(pick(rand, KEYS));
  const all: { typeUrl: string; value: Record<string, unknown> }[] = [
    { typeUrl: '/greenfield.storage.MsgCreateObject', value: { creator: addr, bucketName: name(), objectName: text(rand), payloadSize: BigInt(rand(2 ** 31)), visibility: rand(3), contentType: text(rand), expectChecksums: Array.from({ length: 7 }, () => new Uint8Array(32).fill(rand(256))), redundancyType: 0 } },
    { typeUrl: '/greenfield.storage.MsgSealObject', value: { operator: addr, bucketName: name(), objectName: text(rand), globalVirtualGroupId: rand(1000), secondarySpBlsAggSignatures: new Uint8Array(96).fill(rand(256)) } },
    { typeUrl: '/insitu.storage.MsgSealObjects', value: { operator: addr, globalVirtualGroupId: rand(1000), objectIds: Array.from({ length: 1 + rand(5) }, () => String(rand(1e9))), checksumsHashes: Array.from({ length: 1 + rand(5) }, () => Buffer.alloc(32, rand(256)).toString('hex')), secondarySpBlsAggSignatures: new Uint8Array(96).fill(rand(256)) } },
    { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: addr, toAddress: addr, amount: [{ denom: 'BNB', amount: String(BigInt(rand(2 ** 31)) * 10n ** 18n) }] } },
    { typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: addr, bucketName: name(), paymentAddress: addr, primarySpAddress: addr, chargedReadQuota: BigInt(rand(1e9)), visibility: 1 } },
    { typeUrl: '/greenfield.storage.MsgDeleteObject', value: { operator: addr, bucketName: name(), objectName: text(rand) } },
    { typeUrl: '/greenfield.storage.MsgUpdateGroupMember', value: { operator: addr, groupOwner: addr, groupName: name(), membersToAdd: rand(2) ? [{ member: addr }] : [], membersToDelete: rand(2) ? [addr] : [] } },
    { typeUrl: '/greenfield.payment.MsgDeposit', value: { creator: addr, to: addr, amount: String(rand(1e9)) } },
  ];
  const msgs = Array.from({ length: 1 + rand(3) }, () => {
    const m = pick(rand, all);
    const c = msgCodec(m.typeUrl)!;
    return { typeUrl: m.typeUrl, value: c.decode(c.encode(c.fromPartial(m.value)).finish()) as Record<string, unknown> };
  });
  return {
    msgs, accountNumber: BigInt(rand(1e6)), sequence: BigInt(rand(1e6)), evmChainId: pick(rand, ['5600', '9000', '1017']),
    feeAmount: BigInt(rand(2 ** 31)) * 10n ** 9n, feeDenom: 'BNB', gasLimit: BigInt(rand(1e7)), memo: rand(3) ? '' : text(rand), timeoutHeight: BigInt(rand(100)),
  };
}

test('transactions of many message types are signed and recovered as eth-sig-util signs and recovers them', (t) => {
  const { rand } = seeded((l) => t.log(l));
  for (let i = 0; i < 40; i++) {
    const typed = txTypedData(txDoc(rand));
    const key = pick(rand, KEYS);
    const digest = typedDataDigest(typed);
    t.deepEqual(Buffer.from(digest), sigUtil.TypedDataUtils.eip712Hash(typed, 'V4'));
    const ours = signTypedData(typed, key);
    const theirs = sigUtil.signTypedData({ data: typed, privateKey: Buffer.from(key.slice(2), 'hex'), version: 'V4' });
    t.is(toHex(ours), theirs as Hex, 'the same signature bytes, v in {27,28}');
    t.is(recoverTxSigner(typed, ours), privateKeyToAddress(key));
    t.is(recoverTxSigner(typed, ours).toLowerCase(), sigUtil.recoverTypedSignature({ data: typed, signature: theirs, version: 'V4' }));
  }
});

test('a transaction signature eth-sig-util cannot recover is refused with ERR_TX_SIGNATURE; the ones it can recover agree', (t) => {
  const { rand, bytes } = seeded((l) => t.log(l));
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const typed = txTypedData(txDoc(rand));
  const good = signTypedData(typed, KEYS[0]!);
  const s = BigInt(`0x${Buffer.from(good.subarray(32, 64)).toString('hex')}`);
  const highS = Uint8Array.from([...good.subarray(0, 32), ...Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), good[64]! ^ 1]);
  const cases: Uint8Array[] = [
    good, highS,
    Uint8Array.from([...good.subarray(0, 64), 0]), Uint8Array.from([...good.subarray(0, 64), 2]),
    Uint8Array.from([...good.subarray(0, 64), 26]), Uint8Array.from([...good.subarray(0, 64), 29]),
    Uint8Array.from([...new Uint8Array(32), ...good.subarray(32)]), Uint8Array.from([...good.subarray(0, 32), ...new Uint8Array(32), 27]),
    Uint8Array.from([...new Uint8Array(64).fill(0xff), 27]),
    ...Array.from({ length: 30 }, () => Uint8Array.from([...bytes(64), 27 + rand(2)])),
  ];
  let refused = 0;
  for (const sig of cases) {
    let expected: string;
    try {
      expected = sigUtil.recoverTypedSignature({ data: typed, signature: toHex(sig), version: 'V4' });
    } catch {
      expected = 'refused';
    }
    let got: string;
    try {
      got = recoverTxSigner(typed, sig).toLowerCase();
    } catch (e) {
      t.is((e as { code?: string }).code, 'ERR_TX_SIGNATURE');
      got = 'refused';
    }
    if (got === 'refused') refused++;
    t.is(got, expected, toHex(sig));
  }
  t.true(refused >= 6, 'the malformed ones are refused');
});

test('transactions of the same message types share one fixed types table and still hash as eth-sig-util hashes them', (t) => {
  const { rand } = seeded((l) => t.log(l));
  let shared = 0;
  for (let i = 0; i < 40; i++) {
    const doc = txDoc(rand);
    const typed = txTypedData(doc);
    // The same messages again at the next sequence: a second transaction of the same types.
    const again = txTypedData({ ...doc, sequence: doc.sequence + 1n });
    for (const x of [typed, again]) t.deepEqual(Buffer.from(typedDataDigest(x)), sigUtil.TypedDataUtils.eip712Hash(x, 'V4'), `transaction ${i}`);
    // The same table given as a copy (not the fixed one) hashes alike.
    const copy = { ...again, types: JSON.parse(JSON.stringify(again.types)) as unknown };
    t.deepEqual(Buffer.from(typedDataDigest(copy)), Buffer.from(typedDataDigest(again)));
    if (again.types === typed.types) {
      t.true(Object.isFrozen(again.types));
      shared++;
    }
  }
  t.true(shared > 10, `transactions of fixed message types share their table (${shared} of 40)`);
});

test('a MsgCreateObject\'s checksums are signed in the base64 greenfield-cosmos-types writes, whatever the bytes and their view', (t) => {
  const { bytes } = seeded((l) => t.log(l));
  const within = new Uint8Array(200);
  const checksums = [bytes(32), bytes(0), bytes(1), bytes(31), within.subarray(5, 37).fill(9), Buffer.from(bytes(32))];
  const { value } = msgEip712('/greenfield.storage.MsgCreateObject', { creator: '0x0000000000000000000000000000000000000001', expectChecksums: checksums, payloadSize: 1n });
  t.deepEqual(value.expect_checksums, checksums.map((c) => gnfdHelpers().base64FromBytes(c)));
});
