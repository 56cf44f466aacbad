// A bounded async queue between the upload loop and one outgoing replication stream, so a slow
// secondary slows the upload (backpressure) instead of growing memory.

export interface Channel<T> {
  /**
   * Waits for room, then queues the item. A stalled consumer is judged outside the channel
   * (replication-watch.ts), which fails it; a push waiting for room then throws that error.
   */
  push(item: T): Promise<void>;
  close(): void;
  fail(error: unknown): void;
  iterate(): AsyncGenerator<T>;
  /**
   * Resolves once the consumer has come back for more after item `n` (0-based, in push order),
   * or the channel ended or failed: a consumer that hands each item on before it asks for the
   * next (undici writing an iterable body waits for the socket to drain) is then done with it.
   */
  passed(n: number): Promise<void>;
}

export function createChannel<T>(capacity = 2): Channel<T> {
  const items: T[] = [];
  let closed = false;
  let error: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = (w: (() => void) | undefined): void => w?.();
  /** Items the consumer has come back from. */
  let done = 0;
  let ended = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const settle = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (ended || waiters[i]!.n < done) {
        waiters[i]!.resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const end = (): void => {
    ended = true;
    settle();
  };
  return {
    async push(item) {
      while (items.length >= capacity && error === undefined) {
        await new Promise<void>((r) => {
          wakeProducer = r;
        });
      }
      if (error !== undefined) throw error;
      items.push(item);
      wake(wakeConsumer);
    },
    close() {
      closed = true;
      wake(wakeConsumer);
    },
    fail(e) {
      error ??= e;
      wake(wakeConsumer);
      wake(wakeProducer);
      end();
    },
    async *iterate() {
      try {
        for (;;) {
          if (error !== undefined) throw error;
          if (items.length > 0) {
            const item = items.shift()!;
            wake(wakeProducer);
            yield item;
            done++;
            settle();
            continue;
          }
          if (closed) return;
          await new Promise<void>((r) => (wakeConsumer = r));
        }
      } finally {
        end();
      }
    },
    passed(n) {
      if (ended || n < done) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** Cuts a byte stream into units of the given sizes; throws if the stream is longer or shorter. */
export async function* cutStream(source: AsyncIterable<Uint8Array>, sizes: number[]): AsyncGenerator<Uint8Array> {
  let unit = 0;
  let buf: Uint8Array | null = null;
  let fill = 0;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (unit >= sizes.length) throw new RangeError('more bytes than expected');
      const need = sizes[unit]!;
      if (fill === 0 && chunk.length - at >= need) {
        yield chunk.subarray(at, at + need);
        at += need;
        unit++;
        continue;
      }
      buf ??= new Uint8Array(need);
      const n = Math.min(need - fill, chunk.length - at);
      buf.set(chunk.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === need) {
        yield buf;
        buf = null;
        fill = 0;
        unit++;
      }
    }
  }
  if (unit !== sizes.length || fill !== 0) throw new RangeError('fewer bytes than expected');
}
