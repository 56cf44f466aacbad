// A seeded random source for tests that print their seed so a failure can be replayed.

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
