// The global virtual groups a node reads on every upload (the primary to find its secondaries,
// each secondary to check that the primary asking is its group's primary and that it holds the
// index asked for), kept instead of asked of the chain each time. A group changes only when a
// swap-in completes: the follower forgets every remembered group on that event, and a check that
// refuses on a remembered group asks the chain again before the refusal stands, so a stale group
// can cost at most an upload that fails at its seal (the chain checks the approvals against the
// group as it is), never an acceptance the chain would not make.

import type { ChainClient, GlobalVirtualGroup } from '@insitu/protocol/chain';

export interface GroupCache {
  /** The group, remembered or asked of the chain; `fresh` always asks (and remembers the answer). */
  get(id: number, fresh?: boolean): Promise<GlobalVirtualGroup>;
  /** Forgets every remembered group (a swap-in completed, or a seal made on one failed). */
  forget(): void;
}

/** Groups remembered at most; past it the oldest are forgotten. */
const MAX_GROUPS = 4096;

export function createGroupCache(chain: Pick<ChainClient, 'getGlobalVirtualGroup'>): GroupCache {
  let groups = new Map<number, Promise<GlobalVirtualGroup>>();
  return {
    get(id, fresh = false) {
      const known = fresh ? undefined : groups.get(id);
      if (known) return known;
      const asked = chain.getGlobalVirtualGroup(id);
      const map = groups;
      map.set(id, asked);
      // A failed lookup is not remembered.
      asked.catch(() => {
        if (map.get(id) === asked) map.delete(id);
      });
      if (map.size > MAX_GROUPS) map.delete(map.keys().next().value!);
      return asked;
    },
    forget() {
      groups = new Map();
    },
  };
}
