// CometBFT's socket framing: each message is an unsigned varint length followed by that many
// bytes of protobuf (libs/protoio, PutUvarint). Reads what arrives in chunks, yields whole frames.

export const MAX_FRAME = 64 * 1024 * 1024;

export function encodeFrame(body: Uint8Array): Uint8Array {
  const head: number[] = [];
  let n = body.length;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  head.push(n);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Accumulates bytes and returns the complete frames; throws on a frame larger than MAX_FRAME. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Uint8Array[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    const frames: Uint8Array[] = [];
    let pos = 0;
    for (;;) {
      let len = 0;
      let shift = 1;
      let i = pos;
      let done = false;
      while (i < this.#buf.length && i - pos < 10) {
        const b = this.#buf[i++]!;
        len += (b & 0x7f) * shift;
        shift *= 128;
        if (b < 0x80) {
          done = true;
          break;
        }
      }
      if (!done) {
        if (i - pos >= 10) throw new Error('malformed frame length');
        break;
      }
      if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes exceeds ${MAX_FRAME}`);
      if (this.#buf.length - i < len) break;
      frames.push(new Uint8Array(this.#buf.subarray(i, i + len)));
      pos = i + len;
    }
    this.#buf = this.#buf.subarray(pos);
    return frames;
  }
}
