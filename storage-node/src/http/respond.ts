// Responses: JSON bodies and Greenfield-style XML errors carrying the project's stable code.

import type { ServerResponse } from 'node:http';
import { InsituError } from '@insitu/protocol';

// Markup characters become references; characters XML 1.0 does not allow at all (controls,
// lone surrogates, U+FFFE/U+FFFF), which a message may quote from a request, become \uXXXX.
const escape = (s: string): string => s
  .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  .replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof InsituError ? e : new InsituError('ERR_INTERNAL', 'internal error', { cause: e });
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escape(err.message)}</Message><RequestId></RequestId></Error>`;
  res.writeHead(err.status, { 'content-type': 'application/xml', 'x-insitu-error-code': err.code, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Writes a chunk and waits for the socket to drain when its buffer is full. */
export async function writeChunk(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed) throw new InsituError('ERR_ABORTED', 'the client went away');
  if (!res.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        res.off('drain', done);
        reject(new InsituError('ERR_ABORTED', 'the client went away'));
      };
      res.once('drain', done);
      res.once('close', closed);
    });
  }
}

/**
 * Writes a chunk and resolves once the socket has taken all of it (its write callback), so the
 * chunk's buffer may be filled again; rejects when the client goes away first.
 */
export function writeOut(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new InsituError('ERR_ABORTED', 'the client went away'));
  return new Promise<void>((resolve, reject) => {
    const closed = (): void => reject(new InsituError('ERR_ABORTED', 'the client went away'));
    res.once('close', closed);
    res.write(chunk, (e) => {
      res.off('close', closed);
      if (e) reject(new InsituError('ERR_ABORTED', 'the client went away', { cause: e }));
      else resolve();
    });
  });
}
