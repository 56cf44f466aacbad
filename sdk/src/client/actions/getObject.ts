// Reads an object (or an inclusive byte range of it) as a stream of verified bytes: from the
// bucket's primary, or transparently from the secondaries when the primary fails (read.ts).

import { throwIfAborted } from '@insitu/protocol';
import { readObject, type ReadContext } from '../read.ts';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface GetOptions extends CallOptions {
  /** Inclusive byte range. */
  range?: { start: number; end: number };
  /** Called once if the read falls back to the secondaries. */
  onDegraded?: (reason: string) => void;
  /**
   * Each chunk is yours only until you ask for the next one; its memory is then read into again
   * (ReadOptions.reuseBuffers in read.ts). For writing each chunk out, waiting for the write,
   * before the next: a download then allocates a few segments' memory instead of its whole size.
   */
  reuseBuffers?: boolean;
}

export async function* getObject(ctx: ClientContext, bucket: string, name: string, opts: GetOptions = {}): AsyncGenerator<Uint8Array> {
  throwIfAborted(opts.signal);
  const obj = await ctx.chain.headObject(bucket, name, sig(opts));
  const info = await ctx.chain.headBucket(bucket, sig(opts));
  const read: ReadContext = {
    chain: ctx.chain,
    codec: ctx.codec,
    params: await ctx.params(),
    privateKey: ctx.privateKey,
    ...(ctx.stallMs !== undefined ? { stallMs: ctx.stallMs } : {}),
    endpointOf: async (id) => (await ctx.provider(id)).endpoint,
    ...(opts.onDegraded ? { onDegraded: opts.onDegraded } : {}),
  };
  let primary: string | null = null;
  try {
    primary = (await ctx.provider(info.primarySpId)).endpoint;
  } catch {
    // An unknown primary is one more failure the secondaries cover.
    primary = null;
  }
  yield* readObject(read, obj, primary, { ...(opts.range ? { range: opts.range } : {}), ...(opts.reuseBuffers ? { reuseBuffers: true } : {}), ...sig(opts) });
}
