// Erasure coding for insitu: Reed–Solomon compatible with Greenfield's pieces.
export type { ErasureCodec } from './types.ts';
export { createErasureCodec, type ErasureCodecOptions } from './reed-solomon.ts';
export { simdSupported } from './kernel.ts';
