// The ErasureCodec interface: Reed–Solomon over GF(2^8) with klauspost/reedsolomon's default
// (systematic Vandermonde) matrix, so pieces are byte-identical to Greenfield's.

export interface ErasureCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  /** Name of the implementation, for benchmarks and logs ('wasm-simd', 'portable'). */
  readonly name: string;
  /**
   * Splits one segment contiguously into dataShards pieces of ceil(len/dataShards) bytes
   * (zero-padded tail) and computes the parity pieces. Returns dataShards + parityShards pieces.
   * Data pieces that lie wholly inside the segment are views of it (so the segment must not be
   * changed while they are in use); a zero-padded last data piece is a fresh buffer. The parity
   * pieces are views of `into` when given (at least parityShards × piece size bytes), so a caller
   * encoding segment after segment reuses one buffer; otherwise of a fresh one.
   */
  encode(segment: Uint8Array, into?: Uint8Array): Uint8Array[];
  /**
   * Rebuilds the missing pieces of one segment. `pieces` has dataShards + parityShards entries,
   * null where missing; at least dataShards must be present and all the same length.
   * Returns all pieces (present ones as given).
   */
  reconstruct(pieces: (Uint8Array | null)[]): Uint8Array[];
  /** Rebuilds the segment's bytes (its data pieces joined and cut to segmentSize). */
  decode(pieces: (Uint8Array | null)[], segmentSize: number): Uint8Array;
}
