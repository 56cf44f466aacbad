// Seals of one primary go out together: seals requested while an earlier seal transaction of the
// same account waits for its turn join it, as one transaction of many MsgSealObject (up to
// MAX_SEALS_PER_TX). The chain verifies one account signature per batch instead of one per
// object, and a busy primary does not queue its seals one transaction after another. A batch is
// all or nothing on chain: when one of its seals is refused (the object was cancelled or sealed
// meanwhile), the others are sent again one by one, so each caller hears its own outcome.

import { InsituError } from '@insitu/protocol';
import type { CallOptions } from '@insitu/protocol/chain';
import type { Msg, SentTx, TxSender } from './sender.ts';

export const MAX_SEALS_PER_TX = 32;

interface Waiting {
  msg: Msg;
  resolve(tx: SentTx): void;
  reject(e: unknown): void;
}

/** Failures that say nothing about the seals themselves: the batch is not split over them. */
const NOT_THE_SEALS = new Set(['ERR_CHAIN_UNAVAILABLE', 'ERR_TX_TIMEOUT', 'ERR_ABORTED']);

export function createSealBatcher(sender: TxSender): (msg: Msg, opts?: CallOptions) => Promise<SentTx> {
  let queue: Waiting[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = true;
    let taken: Waiting[] = [];
    sender.send(() => {
      taken = queue.slice(0, MAX_SEALS_PER_TX);
      queue = queue.slice(taken.length);
      scheduled = false;
      if (queue.length > 0) flush();
      return taken.map((w) => w.msg);
    }).then((tx) => {
      for (const w of taken) w.resolve(tx);
    }, (e: unknown) => {
      if (taken.length === 1 || !(e instanceof InsituError) || NOT_THE_SEALS.has(e.code)) {
        for (const w of taken) w.reject(e);
        return;
      }
      for (const w of taken) sender.send([w.msg]).then(w.resolve, w.reject);
    });
  }

  return (msg, opts) => {
    // A seal that may be abandoned goes alone: its signal cannot cancel the others' transaction.
    if (opts?.signal) return sender.send([msg], opts);
    return new Promise<SentTx>((resolve, reject) => {
      queue.push({ msg, resolve, reject });
      if (!scheduled) flush();
    });
  };
}
