// Fixtures for the state machine's tests: an app on a temp LevelDB with a real devnet genesis,
// a sender that tracks nonces, and helpers for buckets, objects and seals with real BLS keys.

import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { computeChecksums } from '@insitu/protocol';
import type { Hex } from '@insitu/protocol';
import { createChainApp } from '../../src/state/index.ts';
import type { TxRecord } from '../../src/state/types.ts';
import type { AccountabilityParams } from '../../src/genesis.ts';
import { testGenesis, tempDir, tx, type TestKey, type TestProvider } from '../helpers.ts';

export type App = ReturnType<typeof createChainApp>;
type Teardown = { teardown(fn: () => Promise<void> | void): void };

export interface Setup {
  dir: string;
  app: App;
  genesis: ReturnType<typeof testGenesis>['genesis'];
  providers: TestProvider[];
  accounts: TestKey[];
  send(signer: { address: Hex }, typeUrl: string, value: Record<string, unknown>, fee?: Partial<{ amount: bigint; gas: bigint; denom: string }>): Promise<TxRecord>;
  sendMany(signer: { address: Hex }, msgs: { typeUrl: string; value: Record<string, unknown> }[]): Promise<TxRecord>;
  /** The app's clock (ms); tests move it forward to expire things. */
  clock: { now: number };
}

export async function setup(t: Teardown, opts: { providers?: number; accounts?: number; params?: Partial<Setup['genesis']['params']>; accountability?: Partial<AccountabilityParams> } = {}): Promise<Setup> {
  const dir = await tempDir(t);
  const g = testGenesis(opts);
  g.genesis.params = { ...g.genesis.params, ...opts.params };
  // Chain time starts at genesis, as a real chain's does.
  const clock = { now: g.genesis.genesisTime };
  const app = createChainApp({ dataDir: dir, genesis: g.genesis, now: () => (clock.now += 1000) });
  await app.init();
  let closed = false;
  const close = app.close.bind(app);
  app.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  t.teardown(() => app.close());
  const seq = new Map<string, bigint>();
  const sendMany: Setup['sendMany'] = async (signer, msgs) => {
    const s = seq.get(signer.address) ?? 0n;
    const rec = await app.deliverTx(tx(signer.address, s, msgs));
    if (rec.index >= 0) seq.set(signer.address, s + 1n);
    return rec;
  };
  const send: Setup['send'] = async (signer, typeUrl, value, fee = {}) => {
    const s = seq.get(signer.address) ?? 0n;
    const rec = await app.deliverTx(tx(signer.address, s, [{ typeUrl, value }], fee));
    if (rec.index >= 0) seq.set(signer.address, s + 1n);
    return rec;
  };
  return { dir, app, ...g, send, sendMany, clock };
}

/** Everything the chain holds: bank balances and stream records (settled to now, buffers, locks). */
export const sumBalances = async (app: App): Promise<bigint> =>
  (await app.query('/insitu.audit.Query/Holdings', {})).total as bigint;

export const balanceOf = async (app: App, address: string): Promise<bigint> =>
  BigInt(((await app.query('/cosmos.bank.v1beta1.Query/Balance', { address, denom: 'BNB' })).balance as { amount: string }).amount);

export async function createBucket(s: Setup, owner: { address: Hex }, name: string, opts: { visibility?: number; primary?: number } = {}): Promise<TxRecord> {
  return s.send(owner, '/greenfield.storage.MsgCreateBucket', {
    creator: owner.address, bucketName: name, visibility: opts.visibility ?? 2, paymentAddress: '',
    primarySpAddress: s.providers[(opts.primary ?? 1) - 1]!.address, chargedReadQuota: '0',
  });
}

export async function createObject(s: Setup, creator: { address: Hex }, bucket: string, name: string, data: Uint8Array, extra: Record<string, unknown> = {}): Promise<TxRecord> {
  const { checksums } = await computeChecksums(data);
  return s.send(creator, '/greenfield.storage.MsgCreateObject', {
    creator: creator.address, bucketName: bucket, objectName: name, payloadSize: String(data.length), visibility: 0,
    contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0, ...extra,
  });
}

export interface HeadObject {
  objectInfo: { id: string; objectStatus: number; checksums: Uint8Array[]; localVirtualGroupId: number; visibility: number; payloadSize: { toString(): string } };
  globalVirtualGroup?: { id: number; familyId: number; primarySpId: number; secondarySpIds: number[] };
}

export const headObject = async (s: Setup, bucket: string, name: string): Promise<HeadObject> =>
  (await s.app.query('/greenfield.storage.Query/HeadObject', { bucketName: bucket, objectName: name })) as unknown as HeadObject;

/** The secondaries' aggregated BLS approval, signed with the genesis providers' real keys. */
export function sealSignature(s: Setup, spIds: number[], doc: { gvgId: number; objectId: bigint; checksums: Uint8Array[]; chainId?: string }): Uint8Array {
  const bytes = sealSignDoc({ chainId: doc.chainId ?? s.genesis.chainId, gvgId: doc.gvgId, objectId: doc.objectId, checksums: doc.checksums });
  return blsAggregate(spIds.map((id) => blsSign(bytes, s.providers[id - 1]!.blsSecret)));
}

/** Seals an object as its primary would, with the group HeadObject names. */
export async function seal(s: Setup, bucket: string, name: string, opts: { sealer?: { address: Hex }; gvgId?: number } = {}): Promise<TxRecord> {
  const head = await headObject(s, bucket, name);
  const gvg = opts.gvgId ?? head.globalVirtualGroup!.id;
  const group = (await s.app.query('/greenfield.virtualgroup.Query/GlobalVirtualGroup', { globalVirtualGroupId: gvg })).globalVirtualGroup as { secondarySpIds: number[]; primarySpId: number };
  const sig = sealSignature(s, group.secondarySpIds, { gvgId: gvg, objectId: BigInt(head.objectInfo.id), checksums: head.objectInfo.checksums });
  const sealer = opts.sealer ?? s.providers[group.primarySpId - 1]!;
  return s.send(sealer, '/greenfield.storage.MsgSealObject', {
    operator: sealer.address, bucketName: bucket, objectName: name, globalVirtualGroupId: gvg, secondarySpBlsAggSignatures: sig,
  });
}
