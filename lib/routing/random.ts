/**
 * A seeded pseudo-random source (mulberry32): fast, 32-bit state, good enough for load
 * balancing and jitter, and reproducible in tests and benchmarks. Not for cryptography.
 * The state lives in an Int32Array so that advancing it never boxes a number: a plain `let`
 * holding values above 2^31 would allocate a heap number on every call.
 */
export function seededRandom(seed: number): () => number {
  const state = new Int32Array(1);
  state[0] = Number.isFinite(seed) ? Math.trunc(seed) : 0;
  return function next(): number {
    const s = (state[0] + 0x6d2b79f5) | 0;
    state[0] = s;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n) from a source in [0, 1); clamps a misbehaving source. */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= 0 && i < n ? i : i >= n ? n - 1 : 0;
}
