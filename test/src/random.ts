// A seeded random source for tests that print their seed so a failure can be replayed.

import { randomInt } from 'node:crypto';

/** xorshift32: `rand(n)` is an integer in [0, n). The same seed gives the same sequence. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/**
 * The seed for one test run: `INSITU_TEST_SEED` (or the named variable) replays a run; otherwise a
 * fresh one. Callers print it (t.log) so a failure can be replayed.
 */
export function testSeed(envVar = 'INSITU_TEST_SEED'): number {
  const given = process.env[envVar] ?? process.env.INSITU_TEST_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`${envVar} must be a non-negative integer, not "${given}"`);
    return n;
  }
  return randomInt(1, 2 ** 31);
}

/** `n` bytes drawn from a seeded source (fast enough for tens of MiB). */
export function seededBytes(rand: (n: number) => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(rand(2 ** 32), i);
  for (; i < n; i++) out[i] = rand(256);
  return out;
}

/** A seeded source and a byte generator for one test, with the seed logged for replay. */
export function seeded(log: (line: string) => void, envVar = 'INSITU_TEST_SEED'): { seed: number; rand: (n: number) => number; bytes: (n: number) => Buffer } {
  const seed = testSeed(envVar);
  log(`seed ${seed} (replay with ${envVar}=${seed})`);
  const rand = rng(seed);
  return { seed, rand, bytes: (n) => seededBytes(rand, n) };
}
