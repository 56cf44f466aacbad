// greenfield-js-sdk reaches nodes as {bucket}.node-<n>.localhost:<port>, which this machine's
// resolver may not know: a test process that drives it resolves localhost and *.localhost to
// 127.0.0.1 itself (test environment only; insitu's own clients resolve *.localhost themselves).

import dns from 'node:dns';

let installed = false;

export function resolveLocalhostNames(): void {
  if (installed) return;
  installed = true;
  const originalLookup = dns.lookup;
  (dns as { lookup: unknown }).lookup = (host: string, opts: unknown, cb?: unknown) => {
    const callback = (typeof opts === 'function' ? opts : cb) as (e: Error | null, a: unknown, f?: number) => void;
    const options = (typeof opts === 'object' && opts !== null ? opts : {}) as { all?: boolean };
    if (host === 'localhost' || host.endsWith('.localhost')) {
      return options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);
    }
    return (originalLookup as (...a: unknown[]) => void)(host, opts, cb);
  };
}
