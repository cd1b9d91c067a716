/**
 * Deterministic pseudo-random streams for the simulated kernel: xoshiro128** seeded through
 * splitmix32, so the same scenario, seed and commands always give the same target. Streams fork
 * by label (one per driver, site, workload), so one part's draws never shift another's. Faults,
 * tests and benchmarks use seeded-random.ts instead.
 */

/** A seeded random stream; `fork` derives an independent stream by label. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Exponentially distributed with the given rate (events per unit); Infinity for rate 0. */
  exponential(rate: number): number;
  /** A new stream whose sequence depends only on this stream's seed and the label. */
  fork(label: string): Rng;
}

// splitmix32 step: spreads a 32-bit seed over the generator state.
function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

// FNV-1a over a label, mixed with the parent seed, so forks are stable across runs.
function hashLabel(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < label.length; index++) {
    hash ^= label.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Create a deterministic random stream from a 32-bit seed. */
export function createRng(seed: number): Rng {
  const origin = seed >>> 0;
  const mixer = { value: origin };
  let s0 = splitmix32(mixer);
  let s1 = splitmix32(mixer);
  let s2 = splitmix32(mixer);
  let s3 = splitmix32(mixer);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  const next = (): number => nextUint32() / 4294967296;
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    exponential: (rate) => (rate <= 0 ? Infinity : -Math.log(1 - next()) / rate),
    fork: (label) => createRng(hashLabel(origin, label)),
  };
}

// 32-bit rotate left.
function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
