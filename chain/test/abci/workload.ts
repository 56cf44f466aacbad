// A seeded random workload of signed transactions for the replicated-mode tests: transfers,
// buckets, objects and their seals, policies, groups, payment deposits, jobs (refused ones, and
// jobs bought under data offers), data offers made and withdrawn, dataset runs opened, funded,
// drawn on by their jobs and closed, and months of development-clock time. It reads what it
// needs (sequences, object ids, offers, runs) from a reference app, so every block it proposes is
// valid to build, though some txs fail on purpose.

import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc, sealObjectsSignDoc, checksumsHash } from '@insitu/protocol/chain';
import { computeChecksums } from '@insitu/protocol';
import { evmChainId } from '../../src/genesis.ts';
import type { ChainApp } from '../../src/state/types.ts';
import type { KV } from '../../src/state/store.ts';
import type { TestKey, TestProvider } from '../helpers.ts';
import { seededBytes } from '@insitu/test/random';
import { signTx } from './sign.ts';

type Msg = { typeUrl: string; value: Record<string, unknown> };
/** What the workload reads of the chain's offer and run records (modules/offers.ts, compute/runs.ts). */
type Offer = { id: bigint; owner: string; bucket: string; prefix: string; audience: string; buyers: string[]; removed: boolean };
type Run = { id: bigint; creator: string; bucket: string; offerId: bigint; moduleHash: string; mapFee: bigint; status: string };

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export interface WorkloadDeps {
  /** Reads committed state (sequences, account numbers, objects). */
  reader: ChainApp & { kv(): KV };
  chainId: string;
  accounts: TestKey[];
  providers: TestProvider[];
  /** The account the genesis names for the development clock. */
  clockAuthority: TestKey;
  rand: (n: number) => number;
}

export function createWorkload(d: WorkloadDeps): { nextBlock(maxTxs: number): Promise<Uint8Array[]> } {
  const evm = String(evmChainId(d.chainId));
  const { rand } = d;
  const pick = <T>(xs: T[]): T => xs[rand(xs.length)]!;
  const buckets: { name: string; owner: TestKey }[] = [];
  const unsealed: { bucket: string; name: string }[] = [];
  const objects: { bucket: string; name: string; owner: TestKey }[] = [];
  let counter = 0;

  async function account(k: TestKey): Promise<{ number: bigint; sequence: bigint }> {
    return (await d.reader.kv().get<{ number: bigint; sequence: bigint }>(`acct/${k.address.toLowerCase()}`))!;
  }

  async function sealMsg(): Promise<{ signer: TestKey; msg: Msg } | undefined> {
    const o = unsealed.shift();
    if (!o) return undefined;
    const head = await d.reader.query('/greenfield.storage.Query/HeadObject', { bucketName: o.bucket, objectName: o.name }).catch(() => undefined) as
      { objectInfo: { id: string; checksums: Uint8Array[] }; globalVirtualGroup: { id: number; primarySpId: number; secondarySpIds: number[] } } | undefined;
    if (!head?.globalVirtualGroup) return undefined;
    const gvg = head.globalVirtualGroup;
    const doc = sealSignDoc({ chainId: d.chainId, gvgId: gvg.id, objectId: BigInt(head.objectInfo.id), checksums: head.objectInfo.checksums });
    const sig = blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, d.providers[id - 1]!.blsSecret)));
    const sealer = d.providers[gvg.primarySpId - 1]!;
    objects.push({ ...o, owner: buckets.find((b) => b.name === o.bucket)!.owner });
    if (rand(2)) {
      // insitu's round seal, here a round of one.
      const objects = [{ objectId: BigInt(head.objectInfo.id), checksumsHash: checksumsHash(head.objectInfo.checksums) }];
      const roundDoc = sealObjectsSignDoc({ chainId: d.chainId, gvgId: gvg.id, objects });
      return { signer: sealer, msg: { typeUrl: '/insitu.storage.MsgSealObjects', value: {
        operator: sealer.address, globalVirtualGroupId: gvg.id, objectIds: [head.objectInfo.id], checksumsHashes: [Buffer.from(objects[0]!.checksumsHash).toString('hex')],
        secondarySpBlsAggSignatures: blsAggregate(gvg.secondarySpIds.map((id) => blsSign(roundDoc, d.providers[id - 1]!.blsSecret))),
      } } };
    }
    return { signer: sealer, msg: { typeUrl: '/greenfield.storage.MsgSealObject', value: { operator: sealer.address, bucketName: o.bucket, objectName: o.name, globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig } } };
  }

  const liveOffers = async (): Promise<Offer[]> => (await d.reader.kv().list<Offer>('offer/')).map(([, o]) => o).filter((o) => !o.removed);
  const openRuns = async (k: TestKey): Promise<Run[]> =>
    (await d.reader.kv().list<Run>('job-run/')).map(([, r]) => r).filter((r) => r.status === 'open' && same(r.creator, k.address));
  const moduleHash = (): string => seededBytes(rand, 32).toString('hex');
  /** A job message of `from` over bucket/object, with one of its own sealed objects as the module. */
  const jobMsg = (from: TestKey, bucket: string, object: string, extra: Record<string, unknown>): Msg | undefined => {
    const module = objects.filter((o) => o.owner === from);
    if (!module.length) return undefined;
    const m = pick(module);
    return { typeUrl: '/insitu.compute.MsgSubmitJob', value: {
      creator: from.address, bucketName: bucket, objectName: object, moduleBucket: m.bucket, moduleObject: m.name, moduleHash: moduleHash(),
      args: [], maxFee: String(1 + rand(10 ** 9)), fuelLimit: String(1000 + rand(10 ** 6)), executorSpId: 0, sideInputs: [], env: [], mode: '',
      pieceIndex: 0, mapJobs: [], ...(rand(2) ? { executorChoice: 'cheapest' } : {}), ...extra,
    } };
  };

  /**
   * Offers and dataset runs: made, withdrawn, bought under, opened, funded, drawn from, closed.
   * One of the steps this account can take now is picked, so the market moves on within a short
   * workload; some are refused on purpose (not a listed buyer, an offer not its own or not there).
   */
  async function marketTx(from: TestKey): Promise<Msg | undefined> {
    const withData = withDataOf(from);
    const offers = await liveOffers();
    const runs = await openRuns(from);
    const steps: (() => Promise<Msg | undefined>)[] = [];
    if (withData.length) steps.push(async () => createOffer(from, withData));
    const own = offers.filter((o) => same(o.owner, from.address));
    if (own.length) {
      steps.push(async () => {
        const id = rand(4) ? pick(own).id : BigInt(1 + rand(20));
        return { typeUrl: '/insitu.compute.MsgRemoveOffer', value: { owner: from.address, offerId: id.toString() } };
      });
    }
    const dataOffers = offers.filter((o) => objects.some((x) => x.bucket === o.bucket));
    if (dataOffers.length) {
      // A job bought under an offer.
      steps.push(async () => {
        const offer = pick(dataOffers);
        return jobMsg(from, offer.bucket, pick(objects.filter((o) => o.bucket === offer.bucket)).name, { offerId: offer.id.toString() });
      });
      // A run over an offer's data.
      steps.push(async () => openRun(from, pick(dataOffers)));
    }
    if (withData.length) steps.push(async () => openRun(from, undefined, pick(withData).name));
    // An account with an open run mostly works on it.
    if (runs.length && rand(2)) steps.length = 0;
    if (runs.length) {
      // A job of one of the account's open runs, drawing on its escrow (twice as likely).
      const runJob = async (): Promise<Msg | undefined> => {
        const run = pick(runs);
        const names = (await d.reader.kv().get<{ objects: string[] }>(`job-run-objects/${run.id.toString().padStart(20, '0')}`))?.objects ?? [];
        if (!names.length) return undefined;
        return jobMsg(from, run.bucket, pick(names), { runId: run.id.toString(), offerId: run.offerId.toString(), moduleHash: run.moduleHash, maxFee: run.mapFee.toString(), executorChoice: '' });
      };
      steps.push(runJob, runJob);
      steps.push(async () => ({ typeUrl: '/insitu.compute.MsgFundRun', value: { creator: from.address, runId: pick(runs).id.toString(), amount: String(1 + rand(10 ** 9)) } }));
      if (rand(2)) steps.push(async () => ({ typeUrl: '/insitu.compute.MsgCloseRun', value: { creator: from.address, runId: pick(runs).id.toString() } }));
    }
    return steps.length ? pick(steps)() : undefined;
  }

  function createOffer(from: TestKey, withData: { name: string }[]): Msg {
    const toListed = rand(3) === 0;
    return { typeUrl: '/insitu.compute.MsgCreateOffer', value: {
      owner: from.address, bucketName: pick(withData).name, prefix: rand(2) ? '' : 'object-', audience: toListed ? 'accounts' : 'anyone',
      buyers: toListed ? [pick(d.accounts.filter((a) => a !== from)).address] : [], groupId: '0', modules: [], pricePerJob: String(rand(10 ** 6)),
      pricePerGib: String(rand(10 ** 9)), maxOutputBytes: String(1 + rand(10 ** 6)), expiresAt: '0',
    } };
  }

  /** Buckets of `k` with data in them. */
  const withDataOf = (k: TestKey): { name: string }[] => buckets.filter((b) => b.owner === k && objects.some((o) => o.bucket === b.name));

  /**
   * The market does not stay empty for long: with no offer in force an owner of data makes one,
   * with no run open it opens one over its own data.
   */
  async function marketNeed(free: TestKey[]): Promise<{ from: TestKey; msg: Msg } | undefined> {
    const owner = free.find((a) => withDataOf(a).length);
    if (!owner) return undefined;
    if (!(await liveOffers()).length) return { from: owner, msg: createOffer(owner, withDataOf(owner)) };
    if (!(await d.reader.kv().list<Run>('job-run/')).some(([, r]) => r.status === 'open')) return { from: owner, msg: openRun(owner, undefined, pick(withDataOf(owner)).name) };
    return undefined;
  }

  /** A run over an offer's data (refused if this account is not among its buyers), or over a bucket of its own. */
  function openRun(from: TestKey, offer: Offer | undefined, ownBucket?: string): Msg {
    return { typeUrl: '/insitu.compute.MsgOpenRun', value: {
      creator: from.address, bucketName: offer?.bucket ?? ownBucket, prefix: offer?.prefix ?? '', moduleHash: moduleHash(), reduceModuleHash: '',
      mapFee: String(1 + rand(10 ** 8)), reduceFee: '0', spareMaps: rand(3), offerId: (offer?.id ?? 0n).toString(),
    } };
  }

  function newBucket(from: TestKey): Msg {
    const name = `bucket-${++counter}`;
    buckets.push({ name, owner: from });
    return { typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: from.address, bucketName: name, visibility: 2, paymentAddress: '', primarySpAddress: pick(d.providers).address, chargedReadQuota: String(rand(3) * 1024 * 1024) } };
  }

  async function newObject(from: TestKey, mine: { name: string }[]): Promise<Msg | undefined> {
    if (!mine.length) return undefined;
    const bucket = pick(mine).name;
    const name = `object-${++counter}`;
    const data = seededBytes(rand, 1 + rand(4000));
    const { checksums } = await computeChecksums(data);
    unsealed.push({ bucket, name });
    return { typeUrl: '/greenfield.storage.MsgCreateObject', value: { creator: from.address, bucketName: bucket, objectName: name, payloadSize: String(data.length), visibility: 0, contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0 } };
  }

  async function randomTx(from: TestKey): Promise<Msg | undefined> {
    const others = d.accounts.filter((a) => a !== from);
    const mine = buckets.filter((b) => b.owner === from);
    // Each account soon has a bucket and data in it, so offers and runs have something to sell.
    if (!mine.length && rand(2)) return newBucket(from);
    if (!objects.some((o) => o.owner === from) && !unsealed.some((o) => mine.some((b) => b.name === o.bucket)) && rand(2)) return newObject(from, mine);
    switch (rand(13)) {
      case 9:
      case 10:
      case 11:
      case 12:
        return marketTx(from);
      case 0:
        return { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: from.address, toAddress: pick(others).address, amount: [{ denom: 'BNB', amount: String(1 + rand(10 ** 9)) }] } };
      case 1:
        return newBucket(from);
      case 2:
      case 3:
        return newObject(from, mine);
      case 4:
        if (!mine.length) return undefined;
        return { typeUrl: '/greenfield.storage.MsgPutPolicy', value: { operator: from.address, principal: { type: 1, value: pick(others).address }, resource: `grn:b::${pick(mine).name}`, statements: [{ effect: 1 + rand(2), actions: [6], resources: [] }] } };
      case 5:
        return { typeUrl: '/greenfield.storage.MsgCreateGroup', value: { creator: from.address, groupName: `group-${++counter}`, extra: '' } };
      case 6:
        return { typeUrl: '/greenfield.payment.MsgDeposit', value: { creator: from.address, to: pick(others).address, amount: String(10n ** 15n + BigInt(rand(10 ** 9))) } };
      case 7: {
        const o = objects.filter((x) => x.owner === from);
        if (!o.length) return undefined;
        const gone = o[rand(o.length)]!;
        objects.splice(objects.indexOf(gone), 1);
        return { typeUrl: '/greenfield.storage.MsgDeleteObject', value: { operator: from.address, bucketName: gone.bucket, objectName: gone.name } };
      }
      default:
        return refusedJob(from);
    }
  }

  /** A job over an object that does not exist: refused, deterministically, fee kept. */
  const refusedJob = (from: TestKey): Msg => ({ typeUrl: '/insitu.compute.MsgSubmitJob', value: { creator: from.address, bucketName: 'nowhere', objectName: 'nothing', moduleBucket: 'nowhere', moduleObject: 'm', moduleHash: '00', args: [], maxFee: '1000', fuelLimit: '1000', executorSpId: 1, sideInputs: [], env: [], mode: '', pieceIndex: 0, mapJobs: [] } });
  let blocks = 0;

  return {
    async nextBlock(maxTxs) {
      const out: Uint8Array[] = [];
      const used = new Set<string>();
      const add = async (k: TestKey, msg: Msg): Promise<void> => {
        used.add(k.address);
        const a = await account(k);
        out.push(signTx(k, [msg], { accountNumber: a.number, sequence: a.sequence, evmChainId: evm }));
      };
      const seal = await sealMsg();
      if (seal) await add(seal.signer, seal.msg);
      const need = rand(2) ? await marketNeed(d.accounts.filter((a) => a !== d.clockAuthority)) : undefined;
      if (need) await add(need.from, need.msg);
      const n = rand(maxTxs + 1);
      for (let i = 0; i < n; i++) {
        const from = pick(d.accounts.filter((a) => a !== d.clockAuthority && !used.has(a.address)));
        if (!from) break;
        const msg = await randomTx(from);
        if (msg) await add(from, msg);
      }
      // Every fifth block carries at least one refusal, so every run has some.
      const idle = d.accounts.find((a) => a !== d.clockAuthority && !used.has(a.address));
      if (++blocks % 5 === 0 && idle) await add(idle, refusedJob(idle));
      // Now and then a month or so of time passes.
      if (rand(4) === 0) await add(d.clockAuthority, { typeUrl: '/insitu.devclock.MsgAdvanceTime', value: { authority: d.clockAuthority.address, seconds: String(3600 + rand(40 * 86_400)) } });
      return out;
    },
  };
}
