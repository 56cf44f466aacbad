// Where requests enter a node: routing for Greenfield's storage-provider API subset (path style
// /{bucket}/{object} and virtual-host {bucket}.{host}/{object}), the node-to-node endpoints and
// the project's extensions. Every failure becomes an XML error with a stable code.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InsituError } from '@insitu/sdk/errors.ts';
import type { NodeContext } from '../context.ts';
import { putObject } from './put-object.ts';
import { getObject } from './get-object.ts';
import { replicatePiece } from './replicate-piece.ts';
import { piece, pieceHashes, pieceParamsFromHeaders } from './pieces.ts';
import { sendError, sendJson } from './respond.ts';
import { runJobRequest, jobOutput, type JobsContext } from './jobs.ts';

/** Splits a request into bucket and object, by Host ({bucket}.{host}) or by path. */
export function resolveTarget(ctx: Pick<NodeContext, 'baseHost'>, req: IncomingMessage, url: URL): { bucket: string; object: string } | null {
  const host = String(req.headers.host ?? '').split(':')[0]!.toLowerCase();
  let path = url.pathname;
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
  return { bucket, object };
}

async function status(ctx: NodeContext, res: ServerResponse): Promise<void> {
  const held = await ctx.store.list();
  sendJson(res, 200, {
    spId: ctx.spId,
    address: ctx.address,
    objects: new Set(held.map((k) => k.objectId.toString())).size,
    pieces: held.length,
    uploadsInProgress: ctx.uploads.size,
  });
}

export function createHttpServer(ctx: NodeContext, jobs: JobsContext): { listen(host: string, port: number): Promise<number>; close(): Promise<void> } {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://node');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (p === '/healthz') return sendJson(res, 200, { ok: true });
    if (p === '/status' && method === 'GET') return status(ctx, res);
    if (p === '/greenfield/receiver/v1/replicate-piece' && method === 'PUT') return replicatePiece(ctx, req, res);
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
    if (!target || target.object === '') throw new InsituError('ERR_NOT_FOUND', `no endpoint ${method} ${p} (use /{bucket}/{object})`);
    if (method === 'PUT') return putObject(ctx, req, res, target.bucket, target.object);
    if (method === 'GET') return getObject(ctx, req, res, target.bucket, target.object);
    throw new InsituError('ERR_BAD_REQUEST', `method ${method} is not supported here`);
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e) => {
      if (!(e instanceof InsituError) || e.status >= 500) ctx.logger.warn('request failed', { method: req.method, url: req.url, error: String(e) });
      // Drain what the client is still sending so it reads the error instead of a reset.
      if (!req.complete) req.resume();
      sendError(res, e);
    });
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5000;

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
