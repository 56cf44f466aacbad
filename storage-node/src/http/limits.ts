// What keeps one client from holding a node's sockets and file descriptors: a cap on connections
// per client address and in total, a deadline for request headers, and a minimum transfer rate
// for request bodies. A total request timeout would cut off honest multi-gigabyte uploads; a
// rate does not, yet a body that trickles in is cut off within one window.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { InsituError } from '@insitu/protocol';
import { sendError } from './respond.ts';

export interface HttpLimits {
  /** Open connections from all clients together (default 2048). */
  maxConnections?: number;
  /** Open connections from one client address (default 512: nodes and a devnet share 127.0.0.1). */
  maxConnectionsPerClient?: number;
  /** Time for a request's headers to arrive (default 20 s). */
  headersTimeoutMs?: number;
  /** A request body must arrive at least this fast, measured over each window (default 4 KiB/s). */
  minBodyBytesPerSecond?: number;
  /** The window the body rate is measured over (default 30 s). */
  bodyRateWindowMs?: number;
  /** Idle keep-alive connections close after this long (default 5 s). */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_HTTP_LIMITS: Required<HttpLimits> = {
  maxConnections: 2048,
  maxConnectionsPerClient: 512,
  headersTimeoutMs: 20_000,
  minBodyBytesPerSecond: 4096,
  bodyRateWindowMs: 30_000,
  keepAliveTimeoutMs: 5000,
};

/** Options for node:http's createServer that enforce the header deadline. */
export function serverOptions(limits: Required<HttpLimits>): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutMs,
    // Bodies are bounded by their rate (guardBody), not by a total time.
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

const overLimit = new WeakMap<Socket, InsituError>();
const guards = new WeakMap<IncomingMessage, () => void>();

/**
 * Lifts the rate floor from a request whose sender is authenticated as a peer that streams at
 * its own client's pace: a primary replicating pieces sends nothing until a whole segment of its
 * upload has arrived, however slow (yet legitimate) that upload is. The primary's own upload
 * keeps its floor, so a trickling client is still cut off there.
 */
export function trustBody(req: IncomingMessage): void {
  guards.get(req)?.();
}

/** Counts connections; one past a cap is answered with ERR_TOO_MANY_REQUESTS and closed. */
export function capConnections(server: Server, limits: Required<HttpLimits>, onRefuse: () => void = () => undefined): void {
  const perClient = new Map<string, number>();
  let total = 0;
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '?';
    const mine = (perClient.get(client) ?? 0) + 1;
    perClient.set(client, mine);
    total++;
    socket.once('close', () => {
      total--;
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client);
      else perClient.set(client, n);
    });
    if (mine > limits.maxConnectionsPerClient || total > limits.maxConnections) onRefuse();
    if (mine > limits.maxConnectionsPerClient) {
      overLimit.set(socket, new InsituError('ERR_TOO_MANY_REQUESTS', `${client} already holds ${mine - 1} connections to this node (the limit is ${limits.maxConnectionsPerClient}); retry later`, { status: 429 }));
    } else if (total > limits.maxConnections) {
      overLimit.set(socket, new InsituError('ERR_TOO_MANY_REQUESTS', `this node already serves ${total - 1} connections (the limit is ${limits.maxConnections}); retry later`, { status: 503 }));
    }
  });
}

/** True when the request came on a connection past a cap; it has then been answered. */
export function refuseOverLimit(req: IncomingMessage, res: ServerResponse): boolean {
  const e = overLimit.get(req.socket);
  if (!e) return false;
  res.setHeader('retry-after', '1');
  answerAndClose(req, res, e);
  return true;
}

/** Sends the error, half-closes the connection once it is out, and drops it shortly after. */
function answerAndClose(req: IncomingMessage, res: ServerResponse, e: InsituError): void {
  const socket = req.socket;
  // A reset right after the answer could discard it at the client before it is read: end first.
  const drop = setTimeout(() => socket.destroy(), 2000);
  drop.unref();
  socket.once('close', () => {
    clearTimeout(drop);
    // node:http forgets a request once its response is finished, so a handler still reading
    // the body would wait forever: end its read with the reason.
    if (!req.complete) req.destroy(e);
  });
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  res.setHeader('connection', 'close');
  res.once('finish', () => socket.end());
  sendError(res, e);
}

/**
 * Cuts a request off when its body arrives slower than the minimum rate over a whole window
 * while the node was waiting for it (nothing buffered and unread: a node that is slow to read,
 * e.g. behind a slow secondary, is not the client's fault). Answers ERR_REQUEST_TIMEOUT if it
 * still can, then closes the connection.
 */
export function guardBody(req: IncomingMessage, res: ServerResponse, limits: Required<HttpLimits>, onCut: (e: InsituError) => void): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.complete || limits.minBodyBytesPerSecond <= 0) return;
  const socket = req.socket;
  const least = (limits.minBodyBytesPerSecond * limits.bodyRateWindowMs) / 1000;
  let last = socket.bytesRead;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const at = performance.now();
    const late = at - lastAt > limits.bodyRateWindowMs * 1.5;
    lastAt = at;
    const now = socket.bytesRead;
    // A tick that comes late means this process was not running (a pause of its own): the
    // window says nothing about the client, so it starts again.
    if (late) {
      last = now;
      return;
    }
    const waiting = req.readableLength === 0;
    if (now - last < least && waiting && !req.complete) {
      stop();
      const e = new InsituError('ERR_REQUEST_TIMEOUT', `the request body arrived at ${Math.round(((now - last) * 1000) / limits.bodyRateWindowMs)} bytes/s, below the ${limits.minBodyBytesPerSecond} bytes/s this node requires`);
      onCut(e);
      answerAndClose(req, res, e);
      return;
    }
    last = now;
  }, limits.bodyRateWindowMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    req.off('end', stop);
    socket.off('close', stop);
    guards.delete(req);
  };
  guards.set(req, stop);
  req.once('end', stop);
  socket.once('close', stop);
}
