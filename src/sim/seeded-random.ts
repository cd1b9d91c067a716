/**
 * One seeded number sequence for what must be the same on every run and machine but is not the
 * simulated kernel: the console's injected faults, the tests' damaged inputs and the benchmarks'
 * workloads (mulberry32: 32 bits of state, fast, good enough for workloads and damage, not for
 * secrets). The simulated kernel draws from its own forkable streams instead (kernel-rng.ts).
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
