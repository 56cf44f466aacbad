// Where requests enter a node: routing for Greenfield's storage-provider API subset (path style
// /{bucket}/{object} and virtual-host {bucket}.{host}/{object}), the node-to-node endpoints and
// the project's extensions. Every failure becomes an XML error with a stable code.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InsituError } from '@insitu/protocol';
import { validateObjectName } from '@insitu/protocol';
import type { NodeContext } from '../context.ts';
import { putObject } from './put-object.ts';
import { getObject } from './get-object.ts';
import { replicatePiece } from './replicate-piece.ts';
import { replicateBatch } from './replicate-batch.ts';
import { piece, pieceHashes, pieceParamsFromHeaders } from './pieces.ts';
import { sendError, sendJson } from './respond.ts';
import { runJobRequest, jobOutput, type JobsContext } from './jobs.ts';
import { routeOf } from '../metrics.ts';
import { holdingsOf } from '../store/holdings.ts';
import { clusterView, dashboardHtml } from '../dashboard.ts';
import { readQuota } from './read-quota.ts';
import { checkSignedHost } from './access.ts';
import { DEFAULT_HTTP_LIMITS, capConnections, guardBody, refuseOverLimit, serverOptions, type HttpLimits } from './limits.ts';

/**
 * Splits a request into bucket and object, by Host ({bucket}.{host}) or by path, and checks the
 * object name. The path is taken as sent: URL parsing would resolve "." and ".." segments and
 * turn '\\' into '/', so a refused name would quietly become another one.
 */
export function resolveTarget(ctx: Pick<NodeContext, 'baseHost'>, req: IncomingMessage, url: URL): { bucket: string; object: string } | null {
  const host = String(req.headers.host ?? '').split(':')[0]!.toLowerCase();
  const raw = req.url ?? url.pathname;
  let path = raw.startsWith('/') ? raw.split('?')[0]! : url.pathname;
  let bucket: string;
  if (ctx.baseHost && host.endsWith(`.${ctx.baseHost}`)) {
    bucket = host.slice(0, -ctx.baseHost.length - 1);
  } else {
    const m = /^\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return null;
    bucket = m[1]!;
    path = m[2] ?? '/';
  }
  let object: string;
  try {
    object = decodeURIComponent(path.slice(1));
  } catch {
    throw new InsituError('ERR_INVALID_NAME', 'the object name in the path is not valid percent-encoding');
  }
  if (object !== '') validateObjectName(object);
  return { bucket, object };
}

/** Ready to serve: the chain answers, the store is open, this provider is in service, and the event feed is followed up to the chain's head. */
async function ready(ctx: NodeContext, res: ServerResponse): Promise<void> {
  const checks: Record<string, string> = {};
  const check = async (name: string, fn: () => Promise<string>): Promise<void> => {
    try {
      checks[name] = await Promise.race([fn(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000).unref())]);
    } catch (e) {
      checks[name] = `fail: ${(e as Error).message ?? String(e)}`;
    }
  };
  await check('chain', async () => `ok (height ${(await ctx.chain.status()).height})`);
  await check('store', async () => `ok (${(await holdingsOf(ctx.store)).entries} entries)`);
  await check('provider', async () => {
    const me = await ctx.chain.getStorageProvider(ctx.spId);
    if (me.status !== 'in-service') throw new Error(me.status);
    return 'ok (in service)';
  });
  await check('disk', async () => {
    const space = await ctx.store.space?.();
    if (!space) return 'ok (not on disk)';
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    if (space.free < space.reserve) throw new Error(`disk full: ${mib(space.free)} free, below the ${mib(space.reserve)} reserve`);
    return `ok (${mib(space.free)} free, reserve ${mib(space.reserve)})`;
  });
  await check('events', async () => {
    const cursor = BigInt((await ctx.store.getState('event-cursor')) ?? '0');
    const behind = await ctx.chain.events(cursor, { limit: 1000, waitMs: 0 });
    if (behind.length > 100) throw new Error(`${behind.length} chain events not yet applied`);
    return `ok (${behind.length} behind)`;
  });
  await check('holdings', async () => (ctx.recovery ? ctx.recovery.readiness() : Promise.reject(new Error('recovery not started yet'))));
  const ok = Object.values(checks).every((c) => c.startsWith('ok'));
  sendJson(res, ok ? 200 : 503, { ready: ok, checks });
}

async function status(ctx: NodeContext, res: ServerResponse): Promise<void> {
  const held = await holdingsOf(ctx.store);
  sendJson(res, 200, {
    spId: ctx.spId,
    address: ctx.address,
    objects: held.objects,
    pieces: held.entries,
    uploadsInProgress: ctx.uploads.size,
    recovery: ctx.recovery?.status() ?? null,
  });
}

export function createHttpServer(ctx: NodeContext, jobs: JobsContext, httpLimits: HttpLimits = {}): { listen(host: string, port: number): Promise<number>; close(): Promise<void> } {
  const limits: Required<HttpLimits> = { ...DEFAULT_HTTP_LIMITS, ...httpLimits };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://node');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (p === '/healthz') return sendJson(res, 200, { ok: true });
    checkSignedHost(ctx, req);
    if (p === '/readyz') return ready(ctx, res);
    if (p === '/status' && method === 'GET') return status(ctx, res);
    if (p === '/dashboard' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(dashboardHtml('/dashboard/api', `insitu node ${ctx.spId}`));
      return;
    }
    if (p === '/dashboard/api' && method === 'GET') return sendJson(res, 200, await clusterView(ctx.chain, { scope: ctx.spId, publicOnly: true }));
    if (p === '/metrics' && method === 'GET') {
      const text = await ctx.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (p === '/greenfield/receiver/v1/replicate-piece' && method === 'PUT') return replicatePiece(ctx, req, res);
    if (p === '/insitu/v1/replicate-pieces' && method === 'PUT') return replicateBatch(ctx, req, res, url);
    if (p === '/insitu/v1/piece-hashes' && method === 'GET') return pieceHashes(ctx, req, res, url);
    if (p === '/insitu/v1/piece' && method === 'GET') return piece(ctx, req, res, url);
    if ((p === '/greenfield/admin/v1/challenge' || p === '/greenfield/recovery/v1/get-piece') && method === 'GET') {
      return piece(ctx, req, res, pieceParamsFromHeaders(req, url));
    }
    const job = /^\/insitu\/v1\/jobs\/(\d+)(\/output)?$/.exec(p);
    if (job && method === 'POST' && !job[2]) return runJobRequest(ctx, jobs, req, res, BigInt(job[1]!));
    if (job && method === 'GET' && job[2]) return jobOutput(ctx, jobs, req, res, BigInt(job[1]!));
    if (p.startsWith('/greenfield/') || p.startsWith('/insitu/')) throw new InsituError('ERR_NOT_FOUND', `no endpoint ${method} ${p}`);
    const target = resolveTarget(ctx, req, url);
    if (target && target.object === '' && method === 'GET' && url.searchParams.has('read-quota')) return readQuota(ctx, req, res, target.bucket, url);
    if (!target || target.object === '') throw new InsituError('ERR_NOT_FOUND', `no endpoint ${method} ${p} (use /{bucket}/{object})`);
    if (method === 'PUT') return putObject(ctx, req, res, target.bucket, target.object);
    if (method === 'GET') return getObject(ctx, req, res, target.bucket, target.object);
    throw new InsituError('ERR_BAD_REQUEST', `method ${method} is not supported here`);
  };

  const server: Server = createServer(serverOptions(limits), (req, res) => {
    if (refuseOverLimit(req, res)) return;
    guardBody(req, res, limits, (e) => {
      ctx.metrics.refused.inc({ reason: 'slow-body' });
      ctx.logger.warn('slow request body cut off', { method: req.method, url: req.url, error: e.message });
    });
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const label = routeOf(method, new URL(req.url ?? '/', 'http://node').pathname);
    let sent = 0;
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
    const count = (chunk: unknown): void => {
      if (typeof chunk === 'string') sent += Buffer.byteLength(chunk);
      else if (chunk instanceof Uint8Array) sent += chunk.length;
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      count(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') count(chunk);
      return end(chunk, ...rest);
    }) as typeof res.end;
    res.once('close', () => {
      const m = ctx.metrics;
      m.requests.inc({ route: label, method, status: String(res.statusCode) });
      m.latency.observe({ route: label, method }, Number(process.hrtime.bigint() - started) / 1e9);
      m.bytesIn.inc({ route: label }, Number(req.headers['content-length'] ?? 0) || 0);
      m.bytesOut.inc({ route: label }, sent);
    });
    route(req, res).catch((e) => {
      if (!(e instanceof InsituError) || e.status >= 500) ctx.logger.warn('request failed', { method: req.method, url: req.url, error: String(e) });
      // Drain what the client is still sending so it reads the error instead of a reset.
      if (!req.complete) req.resume();
      sendError(res, e);
    });
  });
  capConnections(server, limits, () => ctx.metrics.refused.inc({ reason: 'connections' }));

  return {
    listen: (host, port) => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
