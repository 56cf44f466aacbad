// The objects of a bucket, in name order, optionally under a prefix; the job modules the SDK
// stored for the owner's jobs (.insitu/modules/) only when asked.

import type { ObjectInfo } from '@insitu/protocol/chain';
import { sig, type CallOptions, type ClientContext } from '../context.ts';
import { isJobModule } from '../jobModules.ts';

export interface ListObjectsOptions extends CallOptions {
  prefix?: string;
  startAfter?: string;
  /** At most this many objects (the chain's page: at most 1000, the default). */
  limit?: number;
  /** Also the job modules stored for jobs (`.insitu/modules/<sha256>.wasm`). */
  includeJobModules?: boolean;
}

/** The chain answers at most this many objects per query. */
const PAGE = 1000;

export async function listObjects(ctx: ClientContext, bucket: string, opts: ListObjectsOptions = {}): Promise<ObjectInfo[]> {
  const page = (startAfter: string | undefined, limit: number | undefined): Promise<ObjectInfo[]> => ctx.chain.listObjects(bucket, {
    ...sig(opts),
    ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
    ...(startAfter !== undefined ? { startAfter } : {}),
    ...(limit !== undefined ? { limit } : {}),
  });
  if (opts.includeJobModules) return page(opts.startAfter, opts.limit);
  // Hidden modules do not shorten the page: read on past them (whole pages, as a run of modules
  // may be long) until `limit` objects are found or the listing ends, so paging by the last name
  // returned still sees every object.
  const limit = Math.min(opts.limit ?? PAGE, PAGE);
  const found: ObjectInfo[] = [];
  let after = opts.startAfter;
  while (found.length < limit) {
    const rows = await page(after, PAGE);
    for (const o of rows) if (!isJobModule(o.objectName) && found.length < limit) found.push(o);
    if (rows.length < PAGE) break;
    after = rows.at(-1)!.objectName;
  }
  return found;
}
