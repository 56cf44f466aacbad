// Changes who may read a bucket or an object after creation: private, public-read, or (objects
// only) inherit, which follows the bucket's visibility.

import { InsituError } from '@insitu/protocol';
import type { TxResult, Visibility } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface UpdateOptions extends CallOptions {
  visibility: Visibility;
}

const check = (v: Visibility, allowInherit: boolean): void => {
  const ok: Visibility[] = allowInherit ? ['private', 'public-read', 'inherit'] : ['private', 'public-read'];
  if (!ok.includes(v)) throw new InsituError('ERR_INVALID_ARGUMENT', `visibility must be one of ${ok.join(', ')}, not "${String(v)}"`);
};

export async function updateBucket(ctx: ClientContext, name: string, opts: UpdateOptions): Promise<TxResult> {
  check(opts.visibility, false);
  return ctx.chain.updateBucket(name, { visibility: opts.visibility }, sig(opts));
}

export async function updateObject(ctx: ClientContext, bucket: string, name: string, opts: UpdateOptions): Promise<TxResult> {
  check(opts.visibility, true);
  return ctx.chain.updateObject(bucket, name, { visibility: opts.visibility }, sig(opts));
}
