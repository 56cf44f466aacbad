// A real HTTP proxy on 127.0.0.1 for tests that need a hostile or observed hop: in front of a
// storage node (registered as its endpoint) it can rewrite what the node answers; in front of the
// chain's JSON-RPC it can hold a request at the moment it arrives (a seal broadcast, a query) and
// let the test act then. Bodies are buffered whole: tests send small ones.

import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The client's TCP port on 127.0.0.1 (which process asked can be found from it). */
  remotePort: number;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxyHooks {
  /**
   * Sees every request before it is forwarded. Return 'drop' to cut the connection without an
   * answer (as a crashed server would), an UpstreamResponse to answer it yourself, or nothing to
   * forward it.
   */
  request?(req: ProxiedRequest): Promise<'drop' | UpstreamResponse | void> | 'drop' | UpstreamResponse | void;
  /** Sees every upstream answer; may return a different one, or 'drop' to cut the connection. */
  response?(req: ProxiedRequest, res: UpstreamResponse): Promise<'drop' | UpstreamResponse | void> | 'drop' | UpstreamResponse | void;
}

export interface HttpProxy {
  readonly port: number;
  readonly url: string;
  hooks: ProxyHooks;
  /** Where requests go; may change while the proxy runs (e.g. once the upstream's port is known). */
  upstream: string | undefined;
  /** Sends one request to the upstream directly (not through the hooks). */
  forward(req: Omit<ProxiedRequest, 'remotePort'>): Promise<UpstreamResponse>;
  /** Requests the upstream did not answer (the last 50), for a failing test's log. */
  readonly failures: string[];
  stop(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });

// Hop-by-hop headers are the proxy's own business; the length is recomputed for rewritten bodies.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const endToEnd = (h: IncomingHttpHeaders): Record<string, string | string[]> =>
  Object.fromEntries(Object.entries(h).filter(([k, v]) => v !== undefined && !HOP.has(k.toLowerCase()))) as Record<string, string | string[]>;

export async function createHttpProxy(opts: { port?: number; upstream?: string; hooks?: ProxyHooks } = {}): Promise<HttpProxy> {
  const sockets = new Set<Socket>();
  let upstream = opts.upstream;

  const failures: string[] = [];
  const once = (req: Omit<ProxiedRequest, 'remotePort'>): Promise<UpstreamResponse> =>
    new Promise((resolve, reject) => {
      if (!upstream) return reject(new Error('the proxy has no upstream yet'));
      const target = new URL(req.url, upstream);
      // The Host header goes through unchanged: the node behind sees the name it was signed for.
      const out = httpRequest(target, { method: req.method, headers: { ...endToEnd(req.headers), 'content-length': String(req.body.length) }, agent: false }, (res) => {
        readBody(res).then((body) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body }), reject);
      });
      out.on('error', reject);
      out.end(req.body);
    });
  // One retry on a fresh connection: a refused or reset connection to a live upstream is the
  // machine's hiccup, not the test's fault; a dead upstream fails both times.
  const forward = async (req: Omit<ProxiedRequest, 'remotePort'>): Promise<UpstreamResponse> => {
    try {
      return await once(req);
    } catch (first) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        return await once(req);
      } catch (e) {
        failures.push(`${new Date().toISOString()} ${req.method} ${req.url}: ${(first as Error).message}; then ${(e as Error).message}`);
        if (failures.length > 50) failures.shift();
        throw e;
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pr: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: await readBody(req), remotePort: req.socket.remotePort ?? 0 };
    const drop = (): void => {
      req.socket.destroy();
    };
    let answer: 'drop' | UpstreamResponse | void = await proxy.hooks.request?.(pr);
    if (answer === 'drop') return drop();
    if (!answer) {
      try {
        answer = await forward(pr);
      } catch {
        return drop();
      }
      const changed = await proxy.hooks.response?.(pr, answer);
      if (changed === 'drop') return drop();
      if (changed) answer = changed;
    }
    res.writeHead(answer.status, { ...endToEnd(answer.headers), 'content-length': String(answer.body.length) });
    res.end(answer.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const proxy: HttpProxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    hooks: opts.hooks ?? {},
    get upstream() {
      return upstream;
    },
    set upstream(u) {
      upstream = u;
    },
    forward,
    failures,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}
