// What the chain's compute and market tests share: a chain on a test clock with three funded
// accounts and seven providers (clients for each), sealing objects as the providers would, the
// sum of every balance, and receipts signed with a provider's real key.

import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createChainClient, type ChainClient } from '@insitu/sdk/chain';
import { computeChecksums } from '@insitu/protocol';
import { sealSignDoc } from '@insitu/protocol/chain';
import { blsAggregate, blsSign } from '@insitu/protocol';
import { signDigest, toHex } from '@insitu/protocol';
import { receiptDigest, type JobReceipt } from '@insitu/protocol';
import type { JobInfo } from '@insitu/protocol/chain';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

/** A chain with accounts 0..2 and providers 1..7; `computePrices` sets the providers' prices in genesis. */
export async function computeChain(t: ExecutionContext, opts: { computePrices?: string[] } = {}) {
  const g = testGenesis({ accounts: 3 });
  for (const [i, p] of g.genesis.providers.entries()) if (opts.computePrices) p.computePrice = opts.computePrices[i]!;
  const clock = { now: Date.now() };
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis, now: () => clock.now });
  await chain.start();
  t.teardown(() => chain.stop());
  const rpc = { rpcUrl: chain.rpcUrl, chainId: chain.chainId };
  const accounts = await Promise.all(g.accounts.map((a) => createChainClient({ ...rpc, privateKey: a.privateKey })));
  const sps = await Promise.all(g.providers.map((p) => createChainClient({ ...rpc, privateKey: p.privateKey })));
  const checksumsOf = new Map<string, string[]>();
  /** Creates `bucket/name` as `who` and seals it as its group would. */
  const seal = async (who: ChainClient, bucket: string, name: string, bytes: Uint8Array = randomBytes(1000)): Promise<void> => {
    const { checksums } = await computeChecksums(bytes);
    checksumsOf.set(name, checksums.map((c) => Buffer.from(c).toString('hex')));
    const { object } = await who.createObject({ bucket, name, payloadSize: BigInt(bytes.length), checksums });
    const gvg = await who.getGlobalVirtualGroup(object.gvgId);
    const doc = sealSignDoc({ chainId: chain.chainId, gvgId: gvg.id, objectId: object.id, checksums });
    await sps[0]!.sealObject({ bucket, name, gvgId: gvg.id, blsSignature: blsAggregate(gvg.secondarySpIds.map((id) => blsSign(doc, g.providers[id - 1]!.blsSecret))) });
  };
  const kv = (chain.app as unknown as { kv(): { list<T>(p: string): Promise<[string, T][]>; get<T>(k: string): Promise<T | undefined> } }).kv();
  /** Every account's balance (module accounts — escrow, deposit pool, fee collector — included). */
  const sum = async (): Promise<bigint> => {
    let total = 0n;
    for (const [, a] of await kv.list<{ balance: bigint }>('acct/')) total += a.balance;
    return total;
  };
  const balance = async (a: string): Promise<bigint> => (await accounts[0]!.getAccount(a as `0x${string}`).catch(() => ({ balance: 0n }))).balance;
  /** A receipt of `job` as provider `spId` would sign it. */
  const receipt = (job: JobInfo, spId: number, over: Partial<JobReceipt> = {}): { receipt: string; receiptSignature: string } => {
    const r: JobReceipt = {
      jobId: job.id.toString(), executorSpId: spId, moduleHash: job.moduleHash, inputObjectId: job.objectId.toString(),
      inputChecksums: checksumsOf.get(job.object)!, args: job.args, state: 'succeeded', code: null, exitCode: 0,
      fuelUsed: '100', outputHash: 'cd'.repeat(32), outputBytes: 10, stderrTail: '', ...over,
    };
    return { receipt: JSON.stringify(r), receiptSignature: toHex(signDigest(receiptDigest(r), g.providers[spId - 1]!.privateKey)) };
  };
  const code = async (p: Promise<unknown>): Promise<string | undefined> => ((await t.throwsAsync(p)) as { code?: string }).code;
  return { g, chain, clock, accounts: accounts as [ChainClient, ChainClient, ChainClient], sps, seal, kv, sum, balance, receipt, code };
}
