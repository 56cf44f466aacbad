// The component toolchain's process: wraps a preview1 core module into a WASI command component
// (jco's bundled adapter) and transpiles a component, for prepareModule (component.ts). jco runs
// here, not in the node, because loading it compiles about 50 MiB of WebAssembly and a transpile
// grows its memory by as much again; in a thread of the node's process that memory stayed with
// the process (the allocator keeps what threads freed) for the rest of its life after its first
// job. This process ends when idle, and its memory with it. It is started with the IPC channel
// and no loader (plain JavaScript), and ends with its parent.
import { readFile } from 'node:fs/promises';

/** Started by fork(), so there is always an IPC channel. */
const send = /** @type {(msg: unknown) => boolean} */ (process.send?.bind(process));
process.on('disconnect', () => process.exit(0));

/** @type {Promise<any> | undefined} */
let jco;
/** @type {Promise<Uint8Array> | undefined} */
let adapter;

process.on('message', async (/** @type {{ id: number; bytes: Uint8Array; wrap: boolean; opts: object }} */ msg) => {
  /** @type {'wrap' | 'transpile'} */
  let stage = 'wrap';
  try {
    jco ??= import('@bytecodealliance/jco');
    const j = await jco;
    let component = msg.bytes;
    if (msg.wrap) {
      adapter ??= readFile(j.preview1AdapterCommandPath()).then((b) => new Uint8Array(b));
      component = await j.componentNew(msg.bytes, [['wasi_snapshot_preview1', await adapter]]);
    }
    stage = 'transpile';
    const out = await j.transpile(component, msg.opts);
    send({ id: msg.id, ok: true, files: out.files, imports: out.imports, exports: out.exports });
  } catch (/** @type {any} */ e) {
    send({ id: msg.id, ok: false, stage, message: String(e?.message ?? e) });
  }
});
