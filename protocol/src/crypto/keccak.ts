// keccak256 (Ethereum's, not SHA3-256): every EIP-712 transaction digest (some forty hashes of
// its fields and structs), every address, every signed request. @noble/hashes' JavaScript keccak
// costs about 7 µs for a short input; hash-wasm's WebAssembly one about 1 µs, and it gives the
// same bytes. WebAssembly is only compiled asynchronously, so the module starts loading it when
// first imported and hashes with noble until it is ready (a process's first few hashes); the
// answer is the same either way. `keccakReady` resolves once the fast one is in use (or failed
// to load, in which case noble stays in use).

import { keccak_256 } from '@noble/hashes/sha3.js';
import { createKeccak, type IHasher } from 'hash-wasm';

let wasm: IHasher | undefined;

export const keccakReady: Promise<void> = createKeccak(256).then((h) => {
  wasm = h;
}, () => undefined);

export function keccak256(data: Uint8Array): Uint8Array {
  const h = wasm;
  if (h === undefined) return keccak_256(data);
  // init, update and digest run back to back with nothing in between: one hasher serves all.
  h.init();
  h.update(data);
  return h.digest('binary');
}
