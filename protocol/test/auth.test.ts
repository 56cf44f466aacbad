import test from 'ava';
import { createRequire } from 'node:module';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { signRequest, verifyRequest, canonicalRequest, encodePath } from '@insitu/protocol/auth';

const require = createRequire(import.meta.url);
const gf = require('@bnb-chain/greenfield-js-sdk') as { encodePath(p: string): string };

const key = generatePrivateKey();
const me = privateKeyToAddress(key);

function asReceived(url: URL, headers: Record<string, string>) {
  return { target: url.pathname + url.search, headers: { ...headers, host: url.host } };
}

test('a signed request verifies to its signer, with or without the port in Host', (t) => {
  const url = new URL('http://localhost:9033/photos/a%20b.jpg?x=1');
  const headers = signRequest({ method: 'GET', url, privateKey: key, headers: { range: 'bytes=0-9' } });
  t.is(verifyRequest({ method: 'GET', ...asReceived(url, headers) }), me);
  t.is(verifyRequest({ method: 'GET', target: url.pathname + url.search, headers: { ...headers, host: 'localhost' } }), me);
});

test('re-targeted, tampered, expired and unsigned requests are refused with stable codes', (t) => {
  const url = new URL('http://localhost:9033/photos/cat.jpg');
  const headers = signRequest({ method: 'GET', url, privateKey: key });
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  // Another path, method, host or header value recovers someone else: never the signer.
  t.not(verifyRequest({ method: 'GET', target: '/photos/dog.jpg', headers: { ...headers, host: 'localhost:9033' } }), me);
  t.not(verifyRequest({ method: 'PUT', ...asReceived(url, headers) }), me);
  t.not(verifyRequest({ method: 'GET', target: url.pathname, headers: { ...headers, host: 'evil.example:9033' } }), me);
  t.not(verifyRequest({ method: 'GET', target: url.pathname, headers: { ...headers, range: 'bytes=0-1', host: 'localhost' } }), me);
  t.is(code(() => verifyRequest({ method: 'GET', target: url.pathname, headers: { host: 'localhost' } })), 'ERR_UNAUTHENTICATED');
  t.is(code(() => verifyRequest({ method: 'GET', target: url.pathname, headers: { ...headers, authorization: 'GNFD1-ECDSA, Signature=zz', host: 'localhost' } })), 'ERR_SIGNATURE_INVALID');
  const old = signRequest({ method: 'GET', url, privateKey: key, now: Date.now() - 3 * 3600_000 });
  t.is(code(() => verifyRequest({ method: 'GET', ...asReceived(url, old) })), 'ERR_SIGNATURE_EXPIRED');
  const far = { ...headers, 'x-gnfd-expiry-timestamp': new Date(Date.now() + 30 * 86400_000).toISOString() };
  t.is(code(() => verifyRequest({ method: 'GET', ...asReceived(url, far) })), 'ERR_SIGNATURE_INVALID');
});

test('path encoding matches greenfield-js-sdk', (t) => {
  for (const p of ['/a/b.txt', '/ü/ß space', '/100%/x?y', '/日本/語']) t.is(encodePath(p), gf.encodePath(p));
});

test('the canonical request has Greenfield\'s shape', (t) => {
  const c = canonicalRequest({ method: 'put', path: '/o', query: '', headers: { 'x-gnfd-date': 'D', 'content-type': 'T', 'x-other': 'no' }, host: 'b.localhost' });
  t.is(c, 'PUT\n/o\n\ncontent-type:T\nx-gnfd-date:D\nb.localhost\n\ncontent-type;x-gnfd-date');
});
