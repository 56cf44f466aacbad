// The node's part in storage challenges. As a challenger the chain named, it fetches the
// challenged piece and its hash list from the challenged node (Greenfield's challenge endpoint,
// which serves it only for this challenge), checks both against the object's checksum on chain
// and attests its verdict. A wrong answer or an error answer fails at once; no answer after a few
// tries is a failed answer too, as on Greenfield. As a
// challenged node that failed, it repairs the piece the chain marked.

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hashOfHashes } from '@insitu/protocol';
import { getChallengePiece } from '@insitu/sdk/sp';
import type { ChallengeInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';

export interface ChallengerOptions {
  /**
   * Time between looks for challenges to check when nothing wakes the challenger earlier (the
   * node's feed follower wakes it at each challenge naming this node); 0 turns the loop off
   * (checkOnce still works).
   */
  pollMs?: number;
  /** Tries before an unanswered challenge is attested as failed. */
  tries?: number;
  /** Wait between tries. */
  retryMs?: number;
}

/**
 * Looking every second cost each node two chain queries and a store write a second, and the chain
 * fourteen queries a second for seven nodes, with nothing to find nearly always: a challenge is
 * seen on the event feed within a round of the follower (FEED_GAP_MS) and the look is made then;
 * the slow look only catches what the feed did not bring (a feed unavailable for a while).
 */
export const DEFAULT_CHALLENGER: Required<ChallengerOptions> = { pollMs: 15_000, tries: 3, retryMs: 1000 };

export interface Challenger {
  /** Checks and attests every open challenge this node must check, repairs what failed here; returns how many it attested. */
  checkOnce(): Promise<number>;
  /** Makes the next look now (a challenge naming this node was issued or decided). */
  wake(): void;
  stop(): Promise<void>;
}

const same = (a: Uint8Array, b: Uint8Array | undefined): boolean => b !== undefined && Buffer.from(a).equals(Buffer.from(b));

export function startChallenger(ctx: NodeContext, options: ChallengerOptions = {}): Challenger {
  const opts = { ...DEFAULT_CHALLENGER, ...options };
  const ac = new AbortController();
  // Every check's request listens on this signal.
  setMaxListeners(0, ac.signal);
  const attested = new Set<number>();

  /** True when the challenged node's answer checks out against the chain. */
  async function verdict(c: ChallengeInfo): Promise<boolean> {
    const obj = await ctx.chain.headObjectById(c.objectId);
    const expected = obj.checksums[c.redundancyIndex + 1];
    let lastError = '';
    for (let attempt = 0; attempt < opts.tries && !ac.signal.aborted; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, opts.retryMs));
      try {
        const endpoint = (await ctx.provider(c.spId)).endpoint;
        const { piece, hashes } = await getChallengePiece({
          endpoint, objectId: c.objectId, index: c.redundancyIndex, segment: c.segment, privateKey: ctx.operatorKey,
          role: { challengeId: c.id }, signal: AbortSignal.any([ac.signal, AbortSignal.timeout(15_000)]),
        });
        // Greenfield's check: the piece hashes to its entry, the list to the chain's checksum.
        const ok = same(createHash('sha256').update(piece).digest(), hashes[c.segment]) && same(hashOfHashes(hashes), expected);
        if (!ok) ctx.logger.warn('challenge answer is wrong', { challengeId: c.id, spId: c.spId });
        return ok;
      } catch (e) {
        lastError = String((e as Error).message ?? e);
        // An answer that is an error (no such piece, a corrupt one) is a failed answer; only a node
        // that does not answer at all (or says it is unavailable) gets another try.
        const status = (e as { status?: number }).status;
        if (status !== undefined && status !== 503 && (e as { code?: string }).code !== 'ERR_NODE_UNAVAILABLE') break;
      }
    }
    ctx.logger.warn('challenged provider did not answer', { challengeId: c.id, spId: c.spId, error: lastError });
    return false;
  }

  async function repairFailed(): Promise<void> {
    const stored = Number((await ctx.store.getState('challenge-cursor')) ?? '0');
    let cursor = stored;
    const mine = await ctx.chain.challenges({ spId: ctx.spId, afterId: cursor });
    for (const c of mine) {
      if (c.status === 'open') break;
      if (c.status === 'failed') ctx.recovery?.request({ objectId: c.objectId, index: c.redundancyIndex }, `storage challenge ${c.id} failed`);
      cursor = c.id;
    }
    if (cursor !== stored) await ctx.store.setState('challenge-cursor', String(cursor));
  }

  async function checkOnce(): Promise<number> {
    let n = 0;
    const open = await ctx.chain.challenges({ challenger: ctx.spId });
    // The chain lists only open challenges: one decided or lapsed never comes back, so forgetting
    // it keeps this set as small as the open list instead of growing with the node's age.
    const listed = new Set(open.map((c) => c.id));
    for (const id of attested) if (!listed.has(id)) attested.delete(id);
    for (const c of open) {
      if (attested.has(c.id) || ac.signal.aborted) continue;
      const passed = await verdict(c);
      try {
        await ctx.chain.attestChallenge({ challengeId: c.id, passed });
        n++;
      } catch (e) {
        // Decided or lapsed meanwhile: nothing more to say.
        ctx.logger.debug('attestation not taken', { challengeId: c.id, error: String((e as Error).message ?? e) });
      }
      attested.add(c.id);
    }
    await repairFailed();
    return n;
  }

  /** Ends the wait for the next look early; set while the loop waits. */
  let wakeUp: (() => void) | undefined;
  /** A wake that came during a look: the next look follows at once. */
  let woken = false;
  const loop = (async () => {
    if (opts.pollMs <= 0) return;
    while (!ac.signal.aborted) {
      await new Promise<void>((r) => {
        const done = (): void => {
          clearTimeout(t);
          wakeUp = undefined;
          ac.signal.removeEventListener('abort', done);
          r();
        };
        const t = setTimeout(done, woken ? 0 : opts.pollMs);
        woken = false;
        wakeUp = done;
        ac.signal.addEventListener('abort', done, { once: true });
      });
      if (ac.signal.aborted) break;
      try {
        await checkOnce();
      } catch (e) {
        if (!ac.signal.aborted) ctx.logger.warn('challenge check failed; will retry', { error: String((e as Error).message ?? e) });
      }
    }
  })();

  return {
    checkOnce,
    wake() {
      if (wakeUp) wakeUp();
      else woken = true;
    },
    async stop() {
      ac.abort();
      await loop;
    },
  };
}
