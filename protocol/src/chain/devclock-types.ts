// Protobuf codec of the development clock's message (/insitu.devclock.MsgAdvanceTime): a devnet
// moves its chain time forward with an ordinary signed transaction, which only the accounts a
// devnet genesis names may send.

import { createRequire } from 'node:module';
import type { Codec } from './gnfd-types.ts';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const $ = require('protobufjs/minimal') as any;
const Long = require('long') as any;

export const ADVANCE_TIME = '/insitu.devclock.MsgAdvanceTime';

export interface MsgAdvanceTime {
  authority: string;
  /** Seconds to move chain time forward. */
  seconds: any;
}

const u64 = (v: unknown): any => Long.fromValue(typeof v === 'bigint' ? v.toString() : (v ?? 0), true);

const advanceTime: Codec<MsgAdvanceTime> = {
  fromPartial: (o) => ({ authority: String(o.authority ?? ''), seconds: u64(o.seconds) }),
  encode(m) {
    const w = $.Writer.create();
    if (m.authority) w.uint32(10).string(m.authority);
    if (m.seconds && !Long.fromValue(m.seconds).isZero()) w.uint32(16).uint64(m.seconds);
    return w;
  },
  decode(input) {
    const r = $.Reader.create(input);
    const m: MsgAdvanceTime = { authority: '', seconds: Long.UZERO };
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) m.authority = r.string();
      else if (tag >>> 3 === 2) m.seconds = r.uint64();
      else r.skipType(tag & 7);
    }
    return m;
  },
  toSDK: (m) => ({ authority: m.authority, seconds: String(m.seconds ?? '0') }),
};

const advanceTimeResponse: Codec<{ time: any }> = {
  fromPartial: (o) => ({ time: u64(o.time) }),
  encode(m) {
    const w = $.Writer.create();
    if (m.time && !Long.fromValue(m.time).isZero()) w.uint32(8).uint64(m.time);
    return w;
  },
  decode(input) {
    const r = $.Reader.create(input);
    const m = { time: Long.UZERO };
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) m.time = r.uint64();
      else r.skipType(tag & 7);
    }
    return m;
  },
  toSDK: (m) => ({ time: String(m.time ?? '0') }),
};

export const DEVCLOCK_CODECS: Record<string, Codec> = {
  [ADVANCE_TIME]: advanceTime as unknown as Codec,
  [`${ADVANCE_TIME}Response`]: advanceTimeResponse as unknown as Codec,
};
