// Messages of one kind from one account go out together: messages requested while an earlier
// transaction of the same batcher waits for its turn in the account's lane join it, as one
// transaction of many (up to MAX_MSGS_PER_TX). A primary's seals and a client's object creations
// are batched so: the chain verifies one account signature per batch instead of one per object,
// the client signs, broadcasts and waits for one transaction, and a busy account does not queue
// its messages one transaction after another. A batch is all or nothing on chain: when one of its
// messages is refused (an object was cancelled or sealed meanwhile, a name is taken), the others
// are sent again one by one, so each caller hears its own outcome.
//
// Nothing waits to fill a batch: a message whose batcher has no transaction waiting goes at the
// lane's next turn, so an idle account sends each message as soon as it is asked for.

import { InsituError } from '@insitu/protocol';
import type { CallOptions } from '@insitu/protocol/chain';
import type { Msg, SentTx, TxSender } from './sender.ts';

export const MAX_MSGS_PER_TX = 32;
export const MAX_SEALS_PER_TX = MAX_MSGS_PER_TX;

interface Waiting {
  msg: Msg;
  resolve(tx: SentTx): void;
  reject(e: unknown): void;
}

/** Failures that say nothing about the messages themselves: the batch is not split over them. */
const NOT_THE_MESSAGES = new Set(['ERR_CHAIN_UNAVAILABLE', 'ERR_TX_TIMEOUT', 'ERR_ABORTED']);

export function createMsgBatcher(sender: TxSender, max = MAX_MSGS_PER_TX, hold = true): (msg: Msg, opts?: CallOptions) => Promise<SentTx> {
  let queue: Waiting[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = true;
    let taken: Waiting[] = [];
    sender.send(() => {
      taken = queue.slice(0, max);
      queue = queue.slice(taken.length);
      scheduled = false;
      if (queue.length > 0) flush();
      return taken.map((w) => w.msg);
    }, hold ? undefined : { hold }).then((tx) => {
      for (const w of taken) w.resolve(tx);
    }, (e: unknown) => {
      if (taken.length === 1 || !(e instanceof InsituError) || NOT_THE_MESSAGES.has(e.code)) {
        for (const w of taken) w.reject(e);
        return;
      }
      for (const w of taken) sender.send([w.msg]).then(w.resolve, w.reject);
    });
  }

  return (msg, opts) => {
    // A message that may be abandoned goes alone: its signal cannot cancel the others' transaction.
    if (opts?.signal) return sender.send([msg], opts);
    return new Promise<SentTx>((resolve, reject) => {
      queue.push({ msg, resolve, reject });
      if (!scheduled) flush();
    });
  };
}

/**
 * A primary's seals, batched: those asked for while the previous seal transaction is signed and
 * broadcast go together, but a batch does not wait for that transaction's block (the sender's
 * hold), as every uploader of its objects waits for the seal's own block.
 */
export const createSealBatcher = (sender: TxSender): ((msg: Msg, opts?: CallOptions) => Promise<SentTx>) => createMsgBatcher(sender, MAX_SEALS_PER_TX, false);
