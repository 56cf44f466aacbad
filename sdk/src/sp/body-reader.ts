// A node's answer read straight into the caller's buffers, for the verified reads that move the
// bytes (a primary's segments, a secondary's pieces). Over plain HTTP it is one socket whose reads
// land in the segment or piece being filled while a read waits for them (the kernel's copy is the
// only one), and otherwise in one small reused buffer they are copied from: no allocation per
// read, no parser copy, no stream between the socket and the hash. (undici costs
// about twice the CPU per byte received here: its parser copies every read into WebAssembly
// memory, and each 64 KiB chunk passes through a Readable and an async iterator.) Over TLS the
// answer comes through undici behind the same interface.

import { connect, type Socket } from 'node:net';
import { InsituError, toAbortError } from '@insitu/protocol';
import { answerError, lookup } from './http.ts';

/** The body of one answer, read into buffers the caller owns. */
export interface BodyReader {
  /** The body's length in bytes (its Content-Length). */
  readonly length: number;
  /**
   * Fills `into` whole with the body's next bytes; `onData` (when given) is told, as bytes land,
   * how many of `into` are filled so far, so the caller can hash them while the rest arrives.
   * ERR_NODE_UNAVAILABLE when the node sends nothing for the stall deadline while bytes are
   * awaited; ERR_SIZE_MISMATCH when it ends the body short.
   */
  read(into: Uint8Array, onData?: (filled: number) => void): Promise<void>;
  /** Stops reading; the connection is closed. Safe to call more than once. */
  close(): void;
}

/**
 * The buffer the socket reads into when no read waits for its bytes (the answer's head, the first
 * bytes after a read was filled); while one waits, the socket reads into its buffer directly.
 */
const SPARE_BUFFER = 64 * 1024;
/** An answer's status line and headers must fit in this many bytes. */
const MAX_HEAD = 64 * 1024;

export interface OpenBodyOptions {
  headers: Record<string, string>;
  /** Deadline for the first byte of the answer and for every gap while bytes are awaited. */
  stallMs: number;
  signal?: AbortSignal;
  /** What is being read, for errors. */
  what: string;
}

const unavailable = (what: string, host: string, why: string, cause?: unknown): InsituError =>
  new InsituError('ERR_NODE_UNAVAILABLE', `${what}: ${host} ${why}`, cause === undefined ? {} : { cause });

/**
 * GET `url` over a socket of its own (plain HTTP only) and return the body's reader once a 2xx
 * answer's headers are in; a node's error answer becomes its InsituError (with the node's code).
 */
export function openBody(url: URL, opts: OpenBodyOptions): Promise<BodyReader> {
  if (url.protocol !== 'http:') throw new TypeError(`openBody reads plain HTTP only, not ${url.protocol}`);
  if (opts.signal?.aborted) return Promise.reject(toAbortError(opts.signal.reason));
  return new Promise<BodyReader>((resolveOpen, rejectOpen) => {
    const host = url.host;
    let head: Buffer | undefined = Buffer.alloc(0);
    let status = 0;
    let answerHeaders: Record<string, string> = {};
    /** Body bytes not yet handed to a read (or, for an error answer, collected). */
    let left = 0;
    let length = 0;
    let opened = false;
    let failure: Error | undefined;
    let pending: { into: Uint8Array; at: number; onData: ((filled: number) => void) | undefined; resolve(): void; reject(e: Error): void } | undefined;
    const spare = Buffer.allocUnsafe(SPARE_BUFFER);
    /** The part of the waiting read's buffer handed to the socket for its next read, if any. */
    let target: Uint8Array | undefined;
    // Bytes that arrived while no read was waiting: still in the socket's buffer, which is not
    // refilled while the socket is paused, so they are kept as a view, not copied.
    let stash: Buffer | undefined;
    let errorBody: Buffer[] | undefined;
    let socket: Socket;

    const fail = (e: Error): void => {
      if (failure) return;
      failure = e;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      stash = undefined;
      if (!opened) rejectOpen(e);
      const p = pending;
      pending = undefined;
      p?.reject(e);
    };
    const done = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
    };
    const onAbort = (): void => fail(toAbortError(opts.signal!.reason));
    /** Socket reads so far: a deadline passed while bytes were read since it was armed is no stall. */
    let heard = 0;
    // Runs only while the answer's head or a read's bytes are awaited (see `waiting`). A process
    // kept busy past the deadline (a loaded machine, a long collection) may have bytes waiting in
    // the socket unread: they are read in this turn of the event loop, before setImmediate's
    // callback, and only a node that sent none of them is silent.
    const timer = setTimeout(() => {
      if (!waiting()) return;
      const before = heard;
      setImmediate(() => {
        if (waiting() && heard === before) fail(unavailable(opts.what, host, `sent nothing for ${opts.stallMs} ms`));
      });
    }, opts.stallMs);
    const waiting = (): boolean => !opened || pending !== undefined;

    /** The waiting read took `n` more bytes: it is told, and resolved once full. */
    const filled = (n: number): void => {
      const p = pending!;
      p.at += n;
      if (p.at === p.into.length) pending = undefined;
      p.onData?.(p.at);
      if (!pending) p.resolve();
    };
    /** Moves body bytes from `chunk` to the waiting read; what is left is stashed. */
    const deliver = (chunk: Buffer): void => {
      let at = 0;
      if (pending) {
        const n = Math.min(chunk.length, pending.into.length - pending.at);
        pending.into.set(n === chunk.length ? chunk : chunk.subarray(0, n), pending.at);
        at = n;
        filled(n);
      }
      if (at < chunk.length) stash = chunk.subarray(at);
    };

    const onHead = (): boolean => {
      const end = head!.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head!.length > MAX_HEAD) fail(unavailable(opts.what, host, 'sent an answer head that is too large'));
        return true;
      }
      const lines = head!.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!m) {
        fail(unavailable(opts.what, host, 'did not answer in HTTP/1.1'));
        return false;
      }
      status = Number(m[1]);
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        answerHeaders[name] = answerHeaders[name] === undefined ? value : `${answerHeaders[name]}, ${value}`;
      }
      const cl = answerHeaders['content-length'];
      if (answerHeaders['transfer-encoding'] !== undefined || cl === undefined || !/^\d+$/.test(cl)) {
        fail(unavailable(opts.what, host, 'answered without a Content-Length'));
        return false;
      }
      length = left = Number(cl);
      const rest = head!.subarray(end + 4);
      head = undefined;
      if (status >= 300) {
        if (length > MAX_HEAD) {
          fail(new InsituError(status >= 500 ? 'ERR_NODE_UNAVAILABLE' : 'ERR_BAD_REQUEST', `${opts.what}: HTTP ${status}`, { status }));
          return false;
        }
        errorBody = [];
      } else {
        opened = true;
        resolveOpen(reader);
      }
      return body(rest);
    };

    /** Body bytes from the socket; false pauses it (bytes are stashed until a read takes them). */
    const body = (chunk: Buffer): boolean => {
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      left -= chunk.length;
      if (errorBody) {
        errorBody.push(Buffer.from(chunk));
        if (left === 0) {
          const text = Buffer.concat(errorBody).toString('utf8');
          fail(answerError(status, answerHeaders['x-insitu-error-code'], text, opts.what));
        }
        return true;
      }
      if (chunk.length > 0) deliver(chunk);
      if (left === 0 && !stash) done();
      return !stash;
    };

    socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      lookup: lookup as never,
      onread: {
        // Asked after every read for the buffer of the next one: the rest of the waiting read's
        // buffer (no more than the body has left), or the spare one.
        buffer: (): Uint8Array => {
          target = pending && !head && !failure && left > 0 && !stash ? pending.into.subarray(pending.at, pending.at + Math.min(left, pending.into.length - pending.at)) : undefined;
          return target ?? spare;
        },
        callback: (n: number, buf: Buffer): boolean => {
          if (failure) return false;
          heard++;
          timer.refresh();
          if (buf === target) {
            // Straight into the waiting read's buffer.
            target = undefined;
            left -= n;
            filled(n);
            if (left === 0) done();
            return true;
          }
          if (head) {
            head = Buffer.concat([head, buf.subarray(0, n)]);
            return onHead() && !failure;
          }
          return body(buf.subarray(0, n));
        },
      },
    });
    socket.setNoDelay(true);
    // Before the answer's head a node that fails is unavailable (read around it, or given patience
    // when it still answers its health check); once the answer is under way, one that stops short
    // cut it off (as a node does when the bytes it holds fail their hash): not a silent node.
    const cutOff = (): InsituError => new InsituError('ERR_SIZE_MISMATCH', `${opts.what}: ${host} cut the answer off ${left} bytes short (a node does so when the bytes it holds fail their hash)`);
    socket.on('error', (e) => fail(head ? unavailable(opts.what, host, `did not answer (${e.message})`, e) : cutOff()));
    const ended = (): void => {
      if (!failure && (left > 0 || head)) fail(head ? unavailable(opts.what, host, 'closed the connection without an answer') : cutOff());
    };
    socket.on('end', ended);
    socket.on('close', ended);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${host}`, 'connection: close'];
    for (const [k, v] of Object.entries(opts.headers)) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);

    const reader: BodyReader = {
      get length() {
        return length;
      },
      read(into, onData) {
        if (failure) return Promise.reject(failure);
        if (pending) return Promise.reject(new TypeError('one read at a time'));
        return new Promise<void>((resolve, reject) => {
          pending = { into, at: 0, onData, resolve, reject };
          if (stash) {
            const s = stash;
            stash = undefined;
            deliver(s);
            if (!stash) {
              if (left === 0) done();
              else socket.resume();
            }
          }
          if (pending) {
            if (left === 0 && !stash) {
              fail(new InsituError('ERR_SIZE_MISMATCH', `${opts.what}: the answer is ${into.length - pending.at} bytes shorter than the reads asked of it`));
              return;
            }
            timer.refresh();
          }
        });
      },
      close() {
        if (!failure) fail(new InsituError('ERR_ABORTED', `${opts.what}: closed by the reader`));
      },
    };
  });
}

/** A reader over a body that arrives as chunks (an undici answer, for TLS endpoints). */
export function readerOver(chunks: AsyncIterable<Uint8Array>, length: number, destroy: () => void): BodyReader {
  const it = chunks[Symbol.asyncIterator]();
  let left: Uint8Array | undefined;
  let closed = false;
  return {
    length,
    async read(into, onData) {
      let at = 0;
      while (at < into.length) {
        let c = left;
        left = undefined;
        if (!c) {
          const r = await it.next();
          if (r.done) throw new InsituError('ERR_SIZE_MISMATCH', `the answer ended ${into.length - at} bytes short of a read`);
          c = r.value;
        }
        const n = Math.min(c.length, into.length - at);
        into.set(n === c.length ? c : c.subarray(0, n), at);
        at += n;
        if (n < c.length) left = c.subarray(n);
        onData?.(at);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      destroy();
    },
  };
}
