// The objects of a bucket, in name order, optionally under a prefix.

import type { ObjectInfo } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';

export interface ListObjectsOptions extends CallOptions {
  prefix?: string;
  startAfter?: string;
  limit?: number;
}

export function listObjects(ctx: ClientContext, bucket: string, opts: ListObjectsOptions = {}): Promise<ObjectInfo[]> {
  return ctx.chain.listObjects(bucket, {
    ...sig(opts),
    ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
    ...(opts.startAfter !== undefined ? { startAfter: opts.startAfter } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
  });
}
