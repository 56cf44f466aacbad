// A seeded random workload of signed transactions for the replicated-mode tests: transfers,
// buckets, objects and their seals, policies, groups, payment deposits, refused jobs and months
// of development-clock time. It reads what it needs (sequences, object ids, groups) from a
// reference app, so every block it proposes is valid to build, though some txs fail on purpose.

import { blsSign, blsAggregate } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { computeChecksums } from '@insitu/protocol';
import { evmChainId } from '../../src/genesis.ts';
import type { ChainApp } from '../../src/state/types.ts';
import type { KV } from '../../src/state/store.ts';
import type { TestKey, TestProvider } from '../helpers.ts';
import { seededBytes } from '@insitu/test/random';
import { signTx } from './sign.ts';

type Msg = { typeUrl: string; value: Record<string, unknown> };

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
    return { signer: sealer, msg: { typeUrl: '/greenfield.storage.MsgSealObject', value: { operator: sealer.address, bucketName: o.bucket, objectName: o.name, globalVirtualGroupId: gvg.id, secondarySpBlsAggSignatures: sig } } };
  }

  async function randomTx(from: TestKey): Promise<Msg | undefined> {
    const others = d.accounts.filter((a) => a !== from);
    const mine = buckets.filter((b) => b.owner === from);
    switch (rand(9)) {
      case 0:
        return { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: from.address, toAddress: pick(others).address, amount: [{ denom: 'BNB', amount: String(1 + rand(10 ** 9)) }] } };
      case 1: {
        const name = `bucket-${++counter}`;
        buckets.push({ name, owner: from });
        return { typeUrl: '/greenfield.storage.MsgCreateBucket', value: { creator: from.address, bucketName: name, visibility: 2, paymentAddress: '', primarySpAddress: pick(d.providers).address, chargedReadQuota: String(rand(3) * 1024 * 1024) } };
      }
      case 2:
      case 3: {
        if (!mine.length) return undefined;
        const bucket = pick(mine).name;
        const name = `object-${++counter}`;
        const { checksums } = await computeChecksums(seededBytes(rand, 1 + rand(4000)));
        unsealed.push({ bucket, name });
        return { typeUrl: '/greenfield.storage.MsgCreateObject', value: { creator: from.address, bucketName: bucket, objectName: name, payloadSize: '0', visibility: 0, contentType: 'application/octet-stream', expectChecksums: checksums, redundancyType: 0 } };
      }
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
        // A job over an object that does not exist: refused, deterministically, fee kept.
        return { typeUrl: '/insitu.compute.MsgSubmitJob', value: { creator: from.address, bucketName: 'nowhere', objectName: 'nothing', moduleBucket: 'nowhere', moduleObject: 'm', moduleHash: '00', args: [], maxFee: '1000', fuelLimit: '1000', executorSpId: 1, sideInputs: [], env: [], mode: '', pieceIndex: 0, mapJobs: [] } };
    }
  }

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
      const n = rand(maxTxs + 1);
      for (let i = 0; i < n; i++) {
        const from = pick(d.accounts.filter((a) => a !== d.clockAuthority && !used.has(a.address)));
        if (!from) break;
        const msg = await randomTx(from);
        if (msg) await add(from, msg);
      }
      // Now and then a month or so of time passes.
      if (rand(4) === 0) await add(d.clockAuthority, { typeUrl: '/insitu.devclock.MsgAdvanceTime', value: { authority: d.clockAuthority.address, seconds: String(3600 + rand(40 * 86_400)) } });
      return out;
    },
  };
}
