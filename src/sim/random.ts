/**
 * The seeded generator the simulator's faults use, shared with the tests and benchmarks that
 * need the same input on every run and machine (mulberry32: 32 bits of state, fast, and good
 * enough for workloads and damage, not for secrets).
 */

/** A generator of numbers in [0, 1) fixed by `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
