// What every request to a storage node shares: name resolution for the devnet's names and the
// reading of a node's error answer (Greenfield-style XML carrying the project's stable code).

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { XMLParser } from 'fast-xml-parser';
import { InsituError, errorCodeOf } from '@insitu/protocol';

/** localhost and *.localhost always mean 127.0.0.1 (nodes listen there; virtual-host names too). */
export function lookup(hostname: string, options: object, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    if ((options as { all?: boolean }).all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options as never, cb as never);
}

const xml = new XMLParser();

/** The error a node's answer of `status` means: its code header or XML code, else one from the status. */
export function answerError(status: number, codeHeader: string | string[] | undefined, text: string, what: string): InsituError {
  let code = typeof codeHeader === 'string' ? codeHeader : '';
  let message = text.slice(0, 300);
  try {
    const doc = xml.parse(text) as { Error?: { Code?: unknown; Message?: unknown } };
    if (doc.Error) {
      if (!code && typeof doc.Error.Code === 'string' && doc.Error.Code.startsWith('ERR_')) code = doc.Error.Code;
      message = String(doc.Error.Message ?? message);
    }
  } catch {
    // not XML: keep the text
  }
  return new InsituError(errorCodeOf(code, status === 404 ? 'ERR_NOT_FOUND' : status >= 500 ? 'ERR_NODE_UNAVAILABLE' : 'ERR_BAD_REQUEST'),
    `${what}: ${message} (HTTP ${status})`, { status });
}
