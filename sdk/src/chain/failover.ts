// Several RPC endpoints for one chain (the validators of a replicated network): an `rpcUrl` may
// list them comma-separated. Calls go to the endpoint that answered last and move on to the
// next when it does not answer (connection refused, reset, timed out), so a client, the CLI or
// a storage node keeps working while any validator serves.

import { InsituError } from '@insitu/protocol';

/** The endpoints an `rpcUrl` names: one URL, or several separated by commas. */
export function rpcEndpoints(rpcUrl: string): string[] {
  const urls = rpcUrl.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new InsituError('ERR_CONFIG', 'no chain RPC endpoint given');
  return urls;
}

/** An error that says the endpoint did not answer (as opposed to answering with an error). */
export function unreachable(e: unknown): boolean {
  if (e instanceof InsituError) return e.code === 'ERR_CHAIN_UNAVAILABLE';
  const m = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e);
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|socket hang up|fetch failed|other side closed|UND_ERR/.test(m);
}

/**
 * Which endpoint of a list answered last. Kept per list for the life of the process: every
 * client of the same validators starts where the last one found a live endpoint.
 */
const preferred = new Map<string, number>();

/**
 * Runs `call` against the endpoints in turn, starting with the preferred one, until one answers.
 * With one endpoint, an idempotent call is tried once more after a dropped connection (a
 * keep-alive socket the server closed as it was reused).
 */
export async function withFailover<T>(rpcUrl: string, call: (url: string) => Promise<T>, opts: { idempotent?: boolean } = {}): Promise<T> {
  const urls = rpcEndpoints(rpcUrl);
  if (urls.length === 1) {
    // A busy chain may refuse or drop a connection now and then (a full accept backlog, a reused
    // keep-alive socket it just closed): a query is asked again, a little later each time.
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(urls[0]!);
      } catch (e) {
        if (!opts.idempotent || !unreachable(e) || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, 100 * 3 ** attempt));
      }
    }
  }
  const start = preferred.get(rpcUrl) ?? 0;
  let last: unknown;
  for (let i = 0; i < urls.length; i++) {
    const k = (start + i) % urls.length;
    try {
      const r = await call(urls[k]!);
      if (k !== start) preferred.set(rpcUrl, k);
      return r;
    } catch (e) {
      if (!unreachable(e)) throw e;
      last = e;
    }
  }
  throw last;
}
