import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { generateBlsKey, blsPublicKey, blsProofOfPossession } from '@insitu/protocol';
import { keccak256 } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { createChainApp } from '../src/state/index.ts';
import { parseGenesis, serializeGenesis } from '../src/genesis.ts';
import { newKey, tempDir, type TestKey } from './helpers.ts';
import { setup, createBucket, createObject, seal, sumBalances, balanceOf, type Setup } from './state/fixtures.ts';
import { SP_DEPOSIT_POOL } from '../src/state/modules/providers.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('the seal document is keccak256 of the key-sorted proto JSON of SecondarySpSealObjectSignDoc', (t) => {
  const checksums = Array.from({ length: 7 }, (_, i) => new Uint8Array(32).fill(i + 1));
  const digest = createHash('sha256').update(Buffer.concat(checksums)).digest('base64');
  const json = `{"chain_id":"greenfield_1017-1","checksum":"${digest}","global_virtual_group_id":3,"object_id":"18446744073709551615"}`;
  const doc = sealSignDoc({ chainId: 'greenfield_1017-1', gvgId: 3, objectId: 2n ** 64n - 1n, checksums });
  t.is(hex(doc), hex(keccak256(new TextEncoder().encode(json))));
  t.is(doc.length, 32);
  t.not(hex(sealSignDoc({ chainId: 'greenfield_1017-1', gvgId: 4, objectId: 2n ** 64n - 1n, checksums })), hex(doc));
});

test('genesis derives one family and group per provider, ring-wise, and round-trips through JSON', async (t) => {
  const s = await setup(t, { providers: 8 });
  t.is(s.genesis.virtualGroups!.length, 8);
  const text = serializeGenesis(s.genesis);
  t.deepEqual(parseGenesis(text), s.genesis);
  for (let sp = 1; sp <= 8; sp++) {
    const family = (await s.app.query('/greenfield.virtualgroup.Query/QuerySpOptimalGlobalVirtualGroupFamily', { spId: sp, pricingStrategy: 0 })).globalVirtualGroupFamilyId as number;
    const groups = (await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroupByFamilyID', { globalVirtualGroupFamilyId: family })).globalVirtualGroups as { primarySpId: number; secondarySpIds: number[] }[];
    t.is(groups.length, 1);
    t.is(groups[0]!.primarySpId, sp);
    t.deepEqual(groups[0]!.secondarySpIds, Array.from({ length: 6 }, (_, j) => ((sp + j) % 8) + 1));
  }
  const families = await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroupFamilies', {});
  t.is((families.gvgFamilies as unknown[]).length, 8);
  const available = await s.app.query('/greenfield.virtualgroup.Query/QuerySpAvailableGlobalVirtualGroupFamilies', { globalVirtualGroupFamilyIds: [2, 5, 42] });
  t.deepEqual(available.globalVirtualGroupFamilyIds, [2, 5]);
  const vgParams = (await s.app.query('/greenfield.virtualgroup.Query/Params', {})).params as { maxLocalVirtualGroupNumPerBucket: number };
  t.is(vgParams.maxLocalVirtualGroupNumPerBucket, 10);
  const storage = (await s.app.query('/greenfield.storage.Query/Params', {})).params as { versionedParams: { maxSegmentSize: { toString(): string }; redundantDataChunkNum: number; redundantParityChunkNum: number; minChargeSize: { toString(): string } }; maxPayloadSize: { toString(): string } };
  t.is(storage.versionedParams.maxSegmentSize.toString(), String(16 * 1024 * 1024));
  t.is(storage.versionedParams.redundantDataChunkNum, 4);
  t.is(storage.versionedParams.redundantParityChunkNum, 2);
  t.is(storage.versionedParams.minChargeSize.toString(), String(1024 * 1024));
  t.is(storage.maxPayloadSize.toString(), String(64n * 1024n ** 3n));

  // A genesis file written before groups were listed derives the same groups.
  const legacy = JSON.parse(text) as Record<string, unknown>;
  delete legacy.virtualGroups;
  const dir = await tempDir(t);
  const old = createChainApp({ dataDir: dir, genesis: parseGenesis(JSON.stringify(legacy)) });
  await old.init();
  t.teardown(() => old.close());
  const g8 = (await old.query('/greenfield.virtualgroup.Query/GlobalVirtualGroup', { globalVirtualGroupId: 8 })).globalVirtualGroup as { secondarySpIds: number[] };
  t.deepEqual(g8.secondarySpIds, [1, 2, 3, 4, 5, 6]);
});

test('a genesis file with bad values is refused with ERR_CONFIG', async (t) => {
  const s = await setup(t);
  const good = JSON.parse(serializeGenesis(s.genesis)) as Record<string, unknown> & { accounts: { balance: string }[]; providers: { blsKey: string }[]; virtualGroups: { secondarySpIds: number[] }[] };
  const broken = (edit: (g: typeof good) => void): string => {
    const g = structuredClone(good);
    edit(g);
    return JSON.stringify(g);
  };
  t.throws(() => parseGenesis('{'), { code: 'ERR_CONFIG' } as never);
  t.throws(() => parseGenesis(broken((g) => { g.chainId = 'nochainnumber'; })), { code: 'ERR_CONFIG' } as never);
  t.throws(() => parseGenesis(broken((g) => { g.accounts[0]!.balance = '-5'; })), { message: /balance/ });
  t.throws(() => parseGenesis(broken((g) => { g.providers[0]!.blsKey = 'abcd'; })), { message: /blsKey/ });
  t.throws(() => parseGenesis(broken((g) => { g.virtualGroups[0]!.secondarySpIds = [2, 2, 3, 4, 5, 6]; })), { message: /distinct/ });
  t.throws(() => parseGenesis(broken((g) => { g.virtualGroups[0]!.secondarySpIds = [2, 3, 4, 5, 6, 99]; })), { message: /distinct/ });
  t.throws(() => parseGenesis(broken((g) => { g.minGasPrice = 5e9; })), { message: /minGasPrice/ });
});

function registration(sp: TestKey, overrides: Record<string, unknown> = {}) {
  const bls = generateBlsKey();
  return {
    bls,
    msg: {
      creator: sp.address, spAddress: sp.address, fundingAddress: sp.address, sealAddress: sp.address, approvalAddress: sp.address,
      gcAddress: sp.address, maintenanceAddress: sp.address, description: { moniker: 'new-sp', details: 'computePrice=7' },
      endpoint: 'http://localhost:9200', deposit: { denom: 'BNB', amount: MIN_DEPOSIT.toString() }, readPrice: '3', storePrice: '4000', freeReadQuota: '0',
      blsKey: hex(blsPublicKey(bls)), blsProof: hex(blsProofOfPossession(bls)), ...overrides,
    },
  };
}

const CREATE_SP = '/greenfield.sp.MsgCreateStorageProvider';
const ADMIT = '/insitu.sp.MsgAdmitStorageProvider';
const MIN_DEPOSIT = 10n ** 19n;
const DAY = 86_400_000;

test('providers register themselves with a BLS proof of possession', async (t) => {
  const s = await setup(t);
  const sp = newKey();
  await s.send(s.accounts[0]!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: s.accounts[0]!.address, toAddress: sp.address, amount: [{ denom: 'BNB', amount: (10n ** 20n).toString() }] });
  const other = generateBlsKey();
  const { msg } = registration(sp);
  t.is((await s.send(sp, CREATE_SP, { ...msg, blsProof: hex(blsProofOfPossession(other)) })).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await s.send(sp, CREATE_SP, { ...msg, blsKey: 'zz' })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await s.send(sp, CREATE_SP, { ...msg, endpoint: 'ftp://x' })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  const ok = await s.send(sp, CREATE_SP, msg);
  t.is(ok.result.code, 0, ok.result.log);
  t.is((await s.send(sp, CREATE_SP, registration(sp).msg)).result.errorCode, 'ERR_INVALID_ARGUMENT', 'an operator registers once');
  const found = (await s.app.query('/greenfield.sp.Query/StorageProviderByOperatorAddress', { operatorAddress: sp.address })).storageProvider as { id: number; endpoint: string; description: { moniker: string } };
  t.is(found.id, 8);
  t.is(found.endpoint, 'http://localhost:9200');
  t.is(found.description.moniker, 'new-sp');
  const byId = (await s.app.query('/greenfield.sp.Query/StorageProvider', { id: 8 })).storageProvider as { operatorAddress: string };
  t.is(byId.operatorAddress, sp.address);
  const all = await s.app.query('/greenfield.sp.Query/StorageProviders', {});
  t.is((all.sps as unknown[]).length, 8);
  const providers = (await s.app.query('/insitu.sp.Query/Providers', {})).providers as { computePrice: string }[];
  t.is(providers[7]!.computePrice, '7');
  t.deepEqual((await s.app.events(0n, 10)).map((e) => e.type).filter((e) => e !== 'global-price-updated'), ['transfer', 'provider-created']);
});

test('a provider is admitted only with the minimum deposit and by the admin account; until then it has no role', async (t) => {
  const s = await setup(t);
  const [admin, alice] = s.accounts;
  const sp = newKey();
  await s.send(admin!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: admin!.address, toAddress: sp.address, amount: [{ denom: 'BNB', amount: (10n ** 20n).toString() }] });
  const total = await sumBalances(s.app);
  const before = await balanceOf(s.app, sp.address);
  const poolBefore = await balanceOf(s.app, SP_DEPOSIT_POOL);
  // No deposit, or one below the genesis minimum: refused, nothing held.
  for (const amount of ['0', (MIN_DEPOSIT - 1n).toString()]) {
    const r = await s.send(sp, CREATE_SP, registration(sp, { deposit: { denom: 'BNB', amount } }).msg);
    t.is(r.result.errorCode, 'ERR_INVALID_ARGUMENT', r.result.log);
    t.regex(r.result.log, /at least/);
  }
  t.is(await balanceOf(s.app, SP_DEPOSIT_POOL), poolBefore);
  const ok = await s.send(sp, CREATE_SP, registration(sp).msg);
  t.is(ok.result.code, 0, ok.result.log);
  t.is(await balanceOf(s.app, SP_DEPOSIT_POOL), poolBefore + MIN_DEPOSIT, 'the deposit is held in the deposit pool');
  t.true(await balanceOf(s.app, sp.address) < before - MIN_DEPOSIT + 1n);
  const rec = (await s.app.query('/greenfield.sp.Query/StorageProvider', { id: 8 })).storageProvider as { status: number; totalDeposit: string };
  t.deepEqual([rec.status, rec.totalDeposit], [3, MIN_DEPOSIT.toString()], 'it waits in maintenance');
  // Not admitted: no bucket, no group, no vote.
  const bucket = await s.send(alice!, '/greenfield.storage.MsgCreateBucket', { creator: alice!.address, bucketName: 'on-new', visibility: 2, paymentAddress: '', primarySpAddress: sp.address, chargedReadQuota: '0' });
  t.is(bucket.result.errorCode, 'ERR_PROVIDER_NOT_FOUND');
  const gvg = await s.send(s.providers[0]!, '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', { storageProvider: s.providers[0]!.address, familyId: 1, secondarySpIds: [2, 3, 4, 5, 6, 8], deposit: { denom: 'BNB', amount: '0' } });
  t.is(gvg.result.errorCode, 'ERR_PERMISSION_DENIED');
  // Only the admin admits.
  t.is((await s.send(alice!, ADMIT, { authority: alice!.address, spId: 8 })).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await s.send(sp, ADMIT, { authority: sp.address, spId: 8 })).result.errorCode, 'ERR_PERMISSION_DENIED');
  const admitted = await s.send(admin!, ADMIT, { authority: admin!.address, spId: 8 });
  t.is(admitted.result.code, 0, admitted.result.log);
  t.is(((await s.app.query('/greenfield.sp.Query/StorageProvider', { id: 8 })).storageProvider as { status: number }).status, 0);
  t.is((await s.send(admin!, ADMIT, { authority: admin!.address, spId: 8 })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'admitted once');
  t.is((await s.send(s.accounts[1]!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: s.accounts[1]!.address, toAddress: s.accounts[2]!.address, amount: [{ denom: 'BNB', amount: '1' }] })).result.code, 0);
  t.is(await sumBalances(s.app), total, 'deposits are part of what the chain holds');
  const params = (await s.app.query('/greenfield.sp.Query/Params', {})).params as { minDeposit: string };
  t.is(params.minDeposit, MIN_DEPOSIT.toString());
});

test('global prices come from admitted providers only and move by a bounded step per period', async (t) => {
  const s = await setup(t);
  const [admin] = s.accounts;
  const global = async () => (await s.app.query('/greenfield.sp.Query/QueryGlobalSpStorePriceByTime', { timestamp: 0 })).globalSpStorePrice as Record<string, string>;
  t.is((await global()).primaryStorePrice, '1000');
  // Nine new providers register with an absurd price.
  const absurd = (10n ** 24n).toString();
  const fakes = Array.from({ length: 9 }, newKey);
  for (const f of fakes) {
    await s.send(admin!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: admin!.address, toAddress: f.address, amount: [{ denom: 'BNB', amount: (2n * MIN_DEPOSIT).toString() }] });
    const r = await s.send(f, CREATE_SP, registration(f, { storePrice: absurd, readPrice: absurd }).msg);
    t.is(r.result.code, 0, r.result.log);
  }
  s.clock.now += 31 * DAY;
  await s.app.tick();
  t.is((await global()).primaryStorePrice, '1000', 'providers not admitted have no say');
  // Even admitted (the admin was fooled), one period moves the price by at most 20%.
  for (let id = 8; id <= 16; id++) t.is((await s.send(admin!, ADMIT, { authority: admin!.address, spId: id })).result.code, 0);
  s.clock.now += 31 * DAY;
  await s.app.tick();
  t.is((await global()).primaryStorePrice, '1200');
  t.is((await global()).readPrice, '12');
  s.clock.now += 31 * DAY;
  await s.app.tick();
  t.is((await global()).primaryStorePrice, '1440');
  // An upload still pays today's bounded price.
  await createBucket(s, s.accounts[1]!, 'cheap');
  const rec = await createObject(s, s.accounts[1]!, 'cheap', 'o', randomBytes(10));
  t.is(rec.result.code, 0, rec.result.log);
});

test('providers edit their endpoint, keys and seal address, and set prices that feed the global price', async (t) => {
  const s: Setup = await setup(t);
  const [alice] = s.accounts;
  const sp1 = s.providers[0]!;
  const EDIT = '/greenfield.sp.MsgEditStorageProvider';
  const edit = (value: Record<string, unknown>) => s.send(sp1, EDIT, { spAddress: sp1.address, endpoint: '', sealAddress: '', approvalAddress: '', gcAddress: '', maintenanceAddress: '', blsKey: '', blsProof: '', ...value });
  t.is((await edit({ endpoint: 'not a url' })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await edit({ sealAddress: s.providers[1]!.address })).result.errorCode, 'ERR_INVALID_ARGUMENT', 'a seal address belongs to one provider');
  const sealer = newKey();
  t.is((await edit({ endpoint: 'http://localhost:9555', sealAddress: sealer.address })).result.code, 0);
  const p = (await s.app.query('/greenfield.sp.Query/StorageProvider', { id: 1 })).storageProvider as { endpoint: string; sealAddress: string };
  t.is(p.endpoint, 'http://localhost:9555');
  t.is(p.sealAddress, sealer.address);
  // Only the new seal address may seal for provider 1 now.
  await s.send(alice!, '/cosmos.bank.v1beta1.MsgSend', { fromAddress: alice!.address, toAddress: sealer.address, amount: [{ denom: 'BNB', amount: (10n ** 19n).toString() }] });
  await createBucket(s, alice!, 'edits');
  await createObject(s, alice!, 'edits', 'o', randomBytes(50));
  t.is((await seal(s, 'edits', 'o', { sealer: sp1 })).result.errorCode, 'ERR_PERMISSION_DENIED');
  t.is((await seal(s, 'edits', 'o', { sealer })).result.code, 0);
  // A new BLS key needs its proof.
  const bls = generateBlsKey();
  t.is((await edit({ blsKey: hex(blsPublicKey(bls)), blsProof: hex(blsProofOfPossession(generateBlsKey())) })).result.errorCode, 'ERR_SIGNATURE_INVALID');
  t.is((await edit({ blsKey: hex(blsPublicKey(bls)), blsProof: hex(blsProofOfPossession(bls)) })).result.code, 0);
  t.is((await s.send(alice!, EDIT, { spAddress: sp1.address, endpoint: 'http://localhost:1' })).result.errorCode, 'ERR_TX_SIGNATURE', 'only the operator edits');
  t.is((await s.send(alice!, EDIT, { spAddress: alice!.address, endpoint: 'http://localhost:1' })).result.errorCode, 'ERR_PROVIDER_NOT_FOUND');

  const PRICE = '/greenfield.sp.MsgUpdateSpStoragePrice';
  for (const sp of s.providers.slice(0, 4)) {
    const u = await s.send(sp, PRICE, { spAddress: sp.address, readPrice: '20', storePrice: '4000', freeReadQuota: '0' });
    t.is(u.result.code, 0, u.result.log);
  }
  t.is((await s.send(s.providers[5]!, PRICE, { spAddress: s.providers[5]!.address, readPrice: '-1', storePrice: '1', freeReadQuota: '0' })).result.errorCode, 'ERR_INVALID_ARGUMENT');
  const price = (await s.app.query('/greenfield.sp.Query/QuerySpStoragePrice', { spAddr: s.providers[2]!.address })).spStoragePrice as { storePrice: string; readPrice: string; spId: number };
  t.deepEqual([price.spId, price.storePrice, price.readPrice], [3, '4000', '20']);
  let global = (await s.app.query('/greenfield.sp.Query/QueryGlobalSpStorePriceByTime', { timestamp: 0 })).globalSpStorePrice as Record<string, string>;
  t.is(global.primaryStorePrice, '1000', 'global prices change once per period');
  // Median of four at 4000 and three at 1000, reached period by period (20% at most each).
  for (let i = 0; i < 8; i++) {
    s.clock.now += 31 * DAY;
    await s.app.tick();
  }
  global = (await s.app.query('/greenfield.sp.Query/QueryGlobalSpStorePriceByTime', { timestamp: 0 })).globalSpStorePrice as Record<string, string>;
  // The secondary price is 12% of the primary's.
  t.is(global.primaryStorePrice, '4000');
  t.is(global.secondaryStorePrice, '480');
  t.is(global.readPrice, '20');
  const spParams = (await s.app.query('/greenfield.sp.Query/Params', {})).params as { depositDenom: string };
  t.is(spParams.depositDenom, 'BNB');
});

test('global virtual groups are created by their primary with distinct existing secondaries', async (t) => {
  const s = await setup(t);
  const sp1 = s.providers[0]!;
  const CREATE = '/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup';
  const create = (secondarySpIds: number[], familyId = 0, by = sp1) =>
    s.send(by, CREATE, { storageProvider: by.address, familyId, secondarySpIds, deposit: { denom: 'BNB', amount: '0' } });
  t.is((await create([2, 3, 4, 5, 6])).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await create([1, 3, 4, 5, 6, 7])).result.errorCode, 'ERR_INVALID_ARGUMENT', 'the primary is not its own secondary');
  t.is((await create([2, 2, 4, 5, 6, 7])).result.errorCode, 'ERR_INVALID_ARGUMENT');
  t.is((await create([2, 3, 4, 5, 6, 70])).result.errorCode, 'ERR_PROVIDER_NOT_FOUND');
  t.is((await create([2, 3, 4, 5, 6, 7], 2)).result.errorCode, 'ERR_INVALID_ARGUMENT', "another provider's family");
  const ok = await create([3, 2, 5, 4, 7, 6], 1);
  t.is(ok.result.code, 0, ok.result.log);
  const g = (await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroup', { globalVirtualGroupId: 8 })).globalVirtualGroup as { familyId: number; secondarySpIds: number[] };
  t.deepEqual([g.familyId, g.secondarySpIds], [1, [3, 2, 5, 4, 7, 6]]);
  const ev = (await s.app.events(0n, 10)).at(-1)!;
  t.deepEqual([ev.type, ev.attributes.gvg_id, ev.attributes.family_id], ['gvg-created', '8', '1']);
  const groups = (await s.app.query('/insitu.virtualgroup.Query/ProviderGroups', { spId: 3 })).groups as { id: number }[];
  t.true(groups.some((x) => x.id === 8));
});
