// The job's whole world: insitu's own WASI 0.2 host for jco-transpiled components. It gives a
// job exactly the job interface — input bytes on stdin, a capped stdout, a bounded stderr tail,
// args and env from the spec, a read-only /inputs directory, fixed clocks and seeded
// randomness — and nothing else: no host filesystem, no network, no process control.
// Plain JavaScript because it runs inside worker threads.

const CHUNK = 64 * 1024;

export class JobExit extends Error {
  constructor(code) {
    super(`job exited with ${code}`);
    this.exitCode = code;
  }
}

export class OutOfFuel extends Error {
  constructor() {
    super('the job used more than its fuel');
  }
}

export class MemoryLimit extends Error {}

export class OutputLimit extends Error {
  constructor(limit) {
    super(`job output exceeded ${limit} bytes`);
    this.limit = limit;
  }
}

/** xorshift64*: deterministic "randomness" so every node computes the same result. */
function prng(seed) {
  let x = BigInt.asUintN(64, seed || 0x9e3779b97f4a7c15n);
  return () => {
    x ^= x >> 12n;
    x ^= BigInt.asUintN(64, x << 25n);
    x ^= x >> 27n;
    return BigInt.asUintN(64, x * 0x2545f4914f6cdd1dn);
  };
}

/** Host-side buffers a guest may ask for in one call (random bytes). */
const MAX_HOST_BUFFER = 64 * 1024;
const RANDOM_FUEL_PER_BYTE = 100n;

/**
 * Collects stdout in one preallocated buffer of CHUNK bytes and hands it on in chunks of about
 * CHUNK bytes: a job that writes one byte at a time costs the node its bytes, not a message and
 * an allocation per write. Nothing past the output limit is ever copied.
 */
function outputBuffer(limit, onChunk) {
  const buf = new Uint8Array(Math.max(1, Math.min(CHUNK, limit)));
  let len = 0;
  let written = 0;
  const flush = () => {
    if (len === 0) return;
    onChunk(buf.slice(0, len));
    len = 0;
  };
  const write = (bytes) => {
    if (written + bytes.length > limit) throw new OutputLimit(limit);
    written += bytes.length;
    if (len > 0 && len + bytes.length > buf.length) flush();
    if (bytes.length >= buf.length) {
      onChunk(bytes.slice());
      return;
    }
    buf.set(bytes, len);
    len += bytes.length;
    if (len === buf.length) flush();
  };
  return {
    write,
    zeroes(n) {
      if (written + n > limit) throw new OutputLimit(limit);
      for (let left = n; left > 0; left -= CHUNK) write(new Uint8Array(Math.min(left, CHUNK)));
    },
    flush,
  };
}

/** Wraps every function and resource method of the host so each call is charged. */
function metered(host, charge) {
  const isClass = (f) => /^class\b/.test(Function.prototype.toString.call(f));
  const wrapped = new WeakSet();
  for (const iface of Object.values(host)) {
    for (const [key, value] of Object.entries(iface)) {
      if (typeof value !== 'function') continue;
      if (isClass(value)) {
        const proto = value.prototype;
        if (wrapped.has(proto)) continue;
        wrapped.add(proto);
        for (const name of Object.getOwnPropertyNames(proto)) {
          const m = proto[name];
          if (name === 'constructor' || typeof m !== 'function') continue;
          proto[name] = function (...a) {
            charge();
            return m.apply(this, a);
          };
        }
      } else {
        iface[key] = (...a) => {
          charge();
          return value(...a);
        };
      }
    }
  }
  return host;
}

/**
 * @param {{ readInput(max: number): Uint8Array, args: string[], env: [string, string][],
 *   inputs: Map<string, Uint8Array>, outputLimit: number, onStdout(b: Uint8Array): void,
 *   onStderr(b: Uint8Array): void, seed?: bigint, charge(): void, chargeFuel(amount: bigint): void,
 *   reserve(bytes: number): void }} spec
 */
export function createHost(spec) {
  class IoError {
    constructor(msg) { this.msg = msg; }
    toDebugString() { return this.msg; }
  }
  class Pollable {
    ready() { return true; }
    block() {}
  }
  class InputStream {
    constructor(read) { this.readFn = read; this.closed = false; }
    read(len) {
      const n = Math.min(Number(len), CHUNK);
      const bytes = this.readFn(n);
      if (bytes.length === 0) throw { tag: 'closed' };
      return bytes;
    }
    blockingRead(len) { return this.read(len); }
    skip(len) { return BigInt(this.read(len).length); }
    blockingSkip(len) { return this.skip(len); }
    subscribe() { return new Pollable(); }
  }
  class OutputStream {
    constructor(sink) { this.sink = sink; }
    checkWrite() { return BigInt(CHUNK); }
    write(bytes) { this.sink.write(bytes); }
    blockingWriteAndFlush(bytes) { this.sink.write(bytes); }
    flush() {}
    blockingFlush() {}
    writeZeroes(n) { this.sink.zeroes(Number(n)); }
    blockingWriteZeroesAndFlush(n) { this.sink.zeroes(Number(n)); }
    splice() { throw { tag: 'closed' }; }
    blockingSplice() { throw { tag: 'closed' }; }
    subscribe() { return new Pollable(); }
  }
  const bytesReader = (bytes) => {
    let at = 0;
    return (n) => {
      const out = bytes.subarray(at, Math.min(bytes.length, at + n));
      at += out.length;
      return out;
    };
  };
  class Descriptor {
    constructor(kind, name, bytes) { this.kind = kind; this.name = name; this.bytes = bytes; }
    getType() { return this.kind; }
    stat() {
      return { type: this.kind, linkCount: 1n, size: BigInt(this.bytes?.length ?? 0), dataAccessTimestamp: undefined, dataModificationTimestamp: undefined, statusChangeTimestamp: undefined };
    }
    getFlags() { return { read: true }; }
    readViaStream(offset) {
      if (this.kind !== 'regular-file') throw 'is-directory';
      return new InputStream(bytesReader(this.bytes.subarray(Number(offset))));
    }
    read(length, offset) {
      if (this.kind !== 'regular-file') throw 'is-directory';
      const start = Number(offset);
      const out = this.bytes.subarray(start, Math.min(this.bytes.length, start + Number(length), start + CHUNK));
      return [out, start + out.length >= this.bytes.length];
    }
    openAt(_pathFlags, path, openFlags, flags) {
      if (this.kind !== 'directory') throw 'not-directory';
      if (openFlags?.create || openFlags?.truncate || flags?.write || flags?.mutateDirectory) throw 'read-only';
      if (path === '.' || path === '') return this;
      const data = spec.inputs.get(path);
      if (!data) throw 'no-entry';
      return new Descriptor('regular-file', path, data);
    }
    readDirectory() {
      const names = this.kind === 'directory' ? [...spec.inputs.keys()].sort() : [];
      let i = 0;
      return { readDirectoryEntry: () => (i < names.length ? { type: 'regular-file', name: names[i++] } : undefined) };
    }
    statAt(_flags, path) {
      return this.openAt({}, path, {}, { read: true }).stat();
    }
    metadataHash() { return { lower: 0n, upper: 0n }; }
    metadataHashAt() { return { lower: 0n, upper: 0n }; }
    isSameObject(other) { return other === this; }
    writeViaStream() { throw 'read-only'; }
    appendViaStream() { throw 'read-only'; }
    write() { throw 'read-only'; }
    setSize() { throw 'read-only'; }
    syncData() {}
    sync() {}
    createDirectoryAt() { throw 'read-only'; }
    removeDirectoryAt() { throw 'read-only'; }
    unlinkFileAt() { throw 'read-only'; }
    renameAt() { throw 'read-only'; }
    linkAt() { throw 'read-only'; }
    symlinkAt() { throw 'read-only'; }
    readlinkAt() { throw 'no-entry'; }
    setTimes() { throw 'read-only'; }
    setTimesAt() { throw 'read-only'; }
    advise() {}
  }

  const out = outputBuffer(spec.outputLimit, spec.onStdout);
  const stdout = new OutputStream(out);
  // stderr keeps only a tail: the worker copies what it keeps into a fixed ring.
  const stderr = new OutputStream({
    write: (bytes) => spec.onStderr(bytes),
    zeroes: (n) => spec.onStderr(new Uint8Array(Math.min(Number(n), 8192))),
  });
  const stdin = new InputStream(spec.readInput);
  const root = new Descriptor('directory', '/inputs', null);
  const rand = prng(spec.seed ?? 0n);
  const randomBytes = (len) => {
    if (len > BigInt(MAX_HOST_BUFFER)) throw new MemoryLimit(`a job may ask for at most ${MAX_HOST_BUFFER} random bytes at once`);
    const n = Number(len);
    spec.reserve(n);
    // Generating costs ~100 ns a byte (BigInt arithmetic, measured): charged by size, not per call.
    spec.chargeFuel(BigInt(n) * RANDOM_FUEL_PER_BYTE);
    const out = new Uint8Array(n);
    const view = new DataView(out.buffer);
    let i = 0;
    for (; i + 8 <= n; i += 8) view.setBigUint64(i, rand(), true);
    if (i < n) {
      const v = rand();
      for (let j = 0; i + j < n; j++) out[i + j] = Number((v >> BigInt(8 * j)) & 0xffn);
    }
    return out;
  };

  const host = metered({
    'wasi:cli/environment': {
      getEnvironment: () => spec.env,
      getArguments: () => ['job', ...spec.args],
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status) => {
        throw new JobExit(status.tag === 'ok' ? 0 : 1);
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput: class {} },
    'wasi:cli/terminal-output': { TerminalOutput: class {} },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:io/poll': { Pollable, poll: (list) => new Uint32Array(list.map((_, i) => i)) },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream: class {}, filesystemErrorCode: () => undefined },
    'wasi:filesystem/preopens': { getDirectories: () => (spec.inputs.size > 0 ? [[root, '/inputs']] : []) },
    'wasi:clocks/wall-clock': { now: () => ({ seconds: 0n, nanoseconds: 0 }), resolution: () => ({ seconds: 0n, nanoseconds: 1 }) },
    'wasi:clocks/monotonic-clock': { now: () => 0n, resolution: () => 1n, subscribeInstant: () => new Pollable(), subscribeDuration: () => new Pollable() },
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: () => rand() },
    'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: () => rand() },
    'wasi:random/insecure-seed': { insecureSeed: () => [0n, 0n] },
  }, spec.charge);
  // Not part of the job's world: the runner hands on what is still buffered when the job ends.
  Object.defineProperty(host, 'flushOutput', { value: out.flush, enumerable: false });
  return host;
}
