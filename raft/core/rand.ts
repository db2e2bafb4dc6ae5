/**
 * Chance as an input: the core never calls Math.random. A `Rand` is passed in the config; tests
 * and the simulator seed it so a run can be replayed exactly.
 */
export interface Rand {
  /** A uniformly chosen integer in [0, n). */
  intn(n: number): number;
}

/** mulberry32: small, fast, and good enough for timeouts and fault schedules. */
export function seededRand(seed: number): Rand & { float(): number } {
  let a = seed >>> 0;
  const float = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { float, intn: (n: number) => Math.floor(float() * n) };
}
