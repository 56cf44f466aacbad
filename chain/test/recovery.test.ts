// Replacing providers: a majority of the providers sharing its groups puts an unreachable provider
// in forced exit; successors reserve its places, and completing the swap records them in the
// group, or as the family's primary (with its groups and buckets).

import test from 'ava';
import { createChainClient } from '@insitu/sdk/chain';
import { createChain } from '../src/index.ts';
import { testGenesis, tempDir } from './helpers.ts';

test('forced exit by majority report, swap-in of a secondary and of a primary', async (t) => {
  const g = testGenesis({ providers: 8, accounts: 1 });
  const chain = createChain({ dataDir: await tempDir(t), genesis: g.genesis });
  await chain.start();
  t.teardown(() => chain.stop());
  const opts = { rpcUrl: chain.rpcUrl, chainId: chain.chainId };
  const sps = await Promise.all(g.providers.map((p) => createChainClient({ ...opts, privateKey: p.privateKey })));
  const alice = await createChainClient({ ...opts, privateKey: g.accounts[0]!.privateKey });
  const code = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as { code?: string }).code;
  const target = 3;
  await alice.createBucket({ name: 'on-three', primarySp: g.providers[target - 1]!.address });

  // Nobody swaps out a provider in service.
  const groups = await sps[0]!.listGlobalVirtualGroups(target);
  const asSecondary = groups.find((x) => x.secondarySpIds.includes(target))!;
  const outsider = [1, 2, 4, 5, 6, 7, 8].find((id) => id !== asSecondary.primarySpId && !asSecondary.secondarySpIds.includes(id))!;
  t.is(await code(sps[outsider - 1]!.reserveSwapIn({ targetSpId: target, gvgId: asSecondary.id })), 'ERR_INVALID_ARGUMENT');
  t.is(await code(sps[target - 1]!.reportProviderDown(target)), 'ERR_INVALID_ARGUMENT', 'not oneself');

  // Seven peers: four reports make a majority.
  for (const reporter of [1, 2, 4]) await sps[reporter - 1]!.reportProviderDown(target);
  t.is((await sps[0]!.getStorageProvider(target)).status, 'in-service', 'three reports are not enough');
  await sps[4]!.reportProviderDown(target);
  t.is((await sps[0]!.getStorageProvider(target)).status, 'force-exiting', 'four are');

  // A secondary's place: only someone outside the group may take it, and only the reserver completes.
  t.is(await code(sps[asSecondary.primarySpId - 1]!.reserveSwapIn({ targetSpId: target, gvgId: asSecondary.id })), 'ERR_INVALID_ARGUMENT');
  await sps[outsider - 1]!.reserveSwapIn({ targetSpId: target, gvgId: asSecondary.id });
  t.deepEqual((await alice.swapIns()).map((s) => [s.successorSpId, s.targetSpId, s.gvgId]), [[outsider, target, asSecondary.id]]);
  const other = [1, 2, 4, 5, 6, 7, 8].find((id) => id !== outsider)!;
  t.is(await code(sps[other - 1]!.completeSwapIn({ gvgId: asSecondary.id })), 'ERR_INVALID_ARGUMENT');
  await sps[outsider - 1]!.completeSwapIn({ gvgId: asSecondary.id });
  const after = await alice.getGlobalVirtualGroup(asSecondary.id);
  t.deepEqual(after.secondarySpIds, asSecondary.secondarySpIds.map((id) => (id === target ? outsider : id)), 'same slot, new provider');
  t.true((await alice.listGlobalVirtualGroups(outsider)).some((x) => x.id === asSecondary.id));
  t.false((await alice.listGlobalVirtualGroups(target)).some((x) => x.id === asSecondary.id));

  // The primary's place: the family, its groups and its buckets move to the successor.
  const own = groups.find((x) => x.primarySpId === target)!;
  const successor = [1, 2, 4, 5, 6, 7, 8].find((id) => !own.secondarySpIds.includes(id))!;
  await sps[successor - 1]!.reserveSwapIn({ targetSpId: target, familyId: own.familyId });
  await sps[successor - 1]!.completeSwapIn({ familyId: own.familyId });
  t.is((await alice.getGlobalVirtualGroup(own.id)).primarySpId, successor);
  t.is((await alice.headBucket('on-three')).primarySpId, successor);
  t.deepEqual(await alice.swapIns(), []);

  // Leaving on purpose: a graceful exit opens the provider's places to successors at once.
  const leaver = 6;
  t.is(await code(sps[leaver - 1]!.completeSwapIn({ gvgId: 1 })), 'ERR_INVALID_ARGUMENT');
  await sps[leaver - 1]!.storageProviderExit();
  t.is((await alice.getStorageProvider(leaver)).status, 'graceful-exiting');
  t.is(await code(sps[leaver - 1]!.storageProviderExit()), 'ERR_INVALID_ARGUMENT', 'once');
  const live = [1, 2, 4, 5, 7, 8];
  const outside = (g: { primarySpId: number; secondarySpIds: number[] }) => live.find((id) => id !== g.primarySpId && !g.secondarySpIds.includes(id));
  const g6 = (await alice.listGlobalVirtualGroups(leaver)).find((x) => x.secondarySpIds.includes(leaver) && outside(x) !== undefined)!;
  const taker = outside(g6)!;
  await sps[taker - 1]!.reserveSwapIn({ targetSpId: leaver, gvgId: g6.id });
  await sps[taker - 1]!.completeSwapIn({ gvgId: g6.id });
  t.true((await alice.getGlobalVirtualGroup(g6.id)).secondarySpIds.includes(taker));
});
