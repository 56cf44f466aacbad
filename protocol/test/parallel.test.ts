import test from 'ava';
import { pieceRanges, splitRange, encodeFrames, decodeFrames, stitch, type MapFrame } from '@insitu/protocol/parallel';

// A deterministic generator, so a failure names the case that reproduces it.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function text(r: () => number, size: number, maxLine: number, trailingNewline: boolean): Buffer {
  const b = Buffer.alloc(size, 'x');
  let at = Math.floor(r() * maxLine);
  while (at < size) {
    b[at] = 0x0a;
    at += 1 + Math.floor(r() * maxLine);
  }
  if (size > 0) b[size - 1] = trailingNewline ? 0x0a : 0x79;
  return b;
}

test('piece ranges tile each segment as the codec splits it', (t) => {
  for (const [size, seg, k] of [[100, 40, 4], [1, 16, 4], [16, 16, 4], [17, 16, 4], [1000, 64, 3], [7, 100, 4]] as const) {
    const all = Array.from({ length: k }, (_, i) => pieceRanges(size, seg, k, i)).flat().sort((a, b) => a.start - b.start);
    let at = 0;
    for (const r of all) {
      t.is(r.start, at, `${size}/${seg}/${k}`);
      t.true(r.end > r.start);
      at = r.end;
    }
    t.is(at, size);
  }
  // Segment 0 of 100 bytes in 4 pieces: 25 bytes each; segment 1 (of 100) likewise; 40 bytes → 10 each.
  t.deepEqual(pieceRanges(240, 100, 4, 1), [{ segment: 0, start: 25, end: 50 }, { segment: 1, start: 125, end: 150 }, { segment: 2, start: 210, end: 220 }]);
  t.throws(() => pieceRanges(10, 16, 4, 4), { message: /not a data piece/ });
});

test('maps over pieces plus the stitched boundary lines see exactly the lines of the object, in order', (t) => {
  const r = rng(7);
  for (let round = 0; round < 300; round++) {
    const size = 1 + Math.floor(r() * 3000);
    const seg = 8 + Math.floor(r() * 400);
    const k = 1 + Math.floor(r() * 5);
    const maxLine = 1 + Math.floor(r() * (round % 3 === 0 ? 900 : 40));
    const data = text(r, size, maxLine, r() < 0.5);
    const frames: MapFrame[] = [];
    const seen: string[] = [];
    for (let i = 0; i < k; i++) {
      for (const range of pieceRanges(size, seg, k, i)) {
        const piece = data.subarray(range.start, range.end);
        const s = splitRange(piece, range.start, size);
        // The "job" tags each line it sees with its offset: order and coverage become checkable.
        const out = s.body.length ? Buffer.from(`[${s.bodyOffset}:${Buffer.from(s.body).toString()}]`) : new Uint8Array(0);
        frames.push({ offset: range.start, length: piece.length, whole: s.whole, head: s.head, tail: s.tail, bodyOffset: s.bodyOffset, output: out });
      }
    }
    const parts = stitch(decodeFrames(encodeFrames(frames.reverse())), size);
    for (const p of parts) seen.push('output' in p ? Buffer.from(p.output).toString() : `[${p.offset}:${Buffer.from(p.line).toString()}]`);
    const joined = seen.join('');
    // Remove the tags: the remaining bytes are the object, and each tag is where its text starts.
    let rebuilt = '';
    for (const m of joined.matchAll(/\[(\d+):([^\]]*)\]/g)) {
      t.is(Number(m[1]), rebuilt.length, `round ${round}: a part starts where the previous ended`);
      rebuilt += m[2];
    }
    t.is(rebuilt, data.toString(), `round ${round}: size ${size}, segment ${seg}, ${k} pieces`);
    // Every part handed to the job is whole lines: it ends with a newline or at the object's end.
    for (const m of joined.matchAll(/\[(\d+):([^\]]*)\]/g)) {
      t.true(m[2]!.endsWith('\n') || Number(m[1]) + m[2]!.length === size, `round ${round}: part at ${m[1]} ends a line`);
    }
  }
});

test('stitching refuses map outputs that leave a gap or overlap', (t) => {
  const f = (offset: number, length: number): MapFrame => ({ offset, length, whole: false, head: new Uint8Array(), tail: new Uint8Array(), bodyOffset: offset, output: new Uint8Array() });
  t.throws(() => stitch([f(0, 10), f(11, 5)], 16), { message: /expected a range at 10/ });
  t.throws(() => stitch([f(0, 10), f(5, 11)], 16), { message: /expected a range at 10/ });
  t.throws(() => stitch([f(0, 10)], 16), { message: /cover 10 of the object's 16/ });
  t.throws(() => decodeFrames(Buffer.from('nope')), { message: /malformed map output/ });
  t.throws(() => decodeFrames(encodeFrames([f(0, 1)]).subarray(0, 20)), { message: /truncated/ });
});
