/**
 * A call site's leak rate, corrected for lifetimes: an allocation counts as leaked only when it
 * has outlived what the site's own frees show is normal for it. Allocations still younger than
 * that are in flight: neither leaked nor freed, they are left out.
 *
 * Time is counted in PoolHitTag hits of the tag (every allocation and free of the tag stops the
 * target once, in order), which is the clock a live collection has at every break; the
 * collection's target-time span turns hits into minutes. Pure functions: no I/O.
 */
import { quantile, wilson } from './stats.js';

/** One allocation seen at a PoolHitTag break, with its block address known (pairable). */
export interface SeenAllocation {
  /** Hit number of the allocation (1-based, counting every break of the tag). */
  hit: number;
  size?: number;
  /** Hit number of its free, when seen. */
  freedAt?: number;
}

/**
 * The allocations of one site or path seen with a known address, in columns that grow by
 * doubling: a collection or a log of millions of allocations keeps 16 bytes for each, not an
 * object. Sizes are kept only as their sum, all the rule reads of them.
 */
export class SeenAllocations {
  private hits: Float64Array = new Float64Array(0);
  /** Hit of each one's free; NaN while it is alive. */
  private frees: Float64Array = new Float64Array(0);
  /** How many were seen. */
  length = 0;
  /** How many were freed. */
  freed = 0;
  private sizeSum = 0;
  private sized = 0;

  /** The allocations of a list (tests, and callers that hold objects). */
  static of(list: readonly SeenAllocation[]): SeenAllocations {
    const seen = new SeenAllocations();
    for (const a of list) {
      const index = seen.add(a.hit, a.size);
      if (a.freedAt !== undefined) seen.free(index, a.freedAt);
    }
    return seen;
  }

  /** The allocations of several lists in one (a group of paths). */
  static concat(parts: readonly SeenAllocations[]): SeenAllocations {
    const all = new SeenAllocations();
    for (const part of parts) {
      for (let i = 0; i < part.length; i++) {
        const index = all.add(part.hits[i]!);
        if (!part.alive(i)) all.free(index, part.frees[i]!);
      }
      all.sizeSum += part.sizeSum;
      all.sized += part.sized;
    }
    return all;
  }

  /** Add one allocation made at `hit`; returns its index (for `free`). */
  add(hit: number, size?: number): number {
    if (this.length === this.hits.length) {
      this.hits = grown(this.hits);
      this.frees = grown(this.frees);
    }
    this.hits[this.length] = hit;
    this.frees[this.length] = NaN;
    if (size !== undefined) {
      this.sizeSum += size;
      this.sized++;
    }
    return this.length++;
  }

  /** The allocation at `index` was freed at `hit`. */
  free(index: number, hit: number): void {
    if (Number.isNaN(this.frees[index]!)) this.freed++;
    this.frees[index] = hit;
  }

  /** Hit of the allocation at `index`. */
  hit(index: number): number {
    return this.hits[index]!;
  }

  /** Is the allocation at `index` still alive (no free seen)? */
  alive(index: number): boolean {
    return Number.isNaN(this.frees[index]!);
  }

  /** Lifetimes (in hits) of the freed ones, in the order they were allocated. */
  lifetimes(): number[] {
    const lifetimes: number[] = [];
    for (let i = 0; i < this.length; i++) if (!Number.isNaN(this.frees[i]!)) lifetimes.push(this.frees[i]! - this.hits[i]!);
    return lifetimes;
  }

  /** Mean size of those whose size is known. */
  get meanSize(): number | undefined {
    return this.sized > 0 ? this.sizeSum / this.sized : undefined;
  }
}

// A column twice as long, with the same values first.
function grown(column: Float64Array): Float64Array {
  const next = new Float64Array(Math.max(16, column.length * 2));
  next.set(column);
  return next;
}

/** The thresholds of the lifetime rule. */
export interface LifetimeRule {
  /** An allocation is leaked when older than this many times the longest normal lifetime seen (default 2). */
  margin?: number;
  /** Frees a site needs before its normal lifetime is known (default 5). */
  minFreed?: number;
  /** Quantile of freed lifetimes taken as "normal" before the margin (default 1: the longest). */
  quantile?: number;
}

/** The defaults, for reports and docs. */
export const LIFETIME_DEFAULTS: Required<LifetimeRule> = { margin: 2, minFreed: 5, quantile: 1 };

/** A rate with its 95% interval. */
export interface RateRange {
  estimate: number;
  low: number;
  high: number;
}

/** One site's lifetime-corrected leak rate. */
export interface SiteLeakRate {
  /**
   * `measured`: a leak fraction with an interval; `no-frees`: none of its allocations was seen
   * freed (all leak, or they live longer than the watch: unknown); `too-few`: fewer frees than
   * `minFreed`, or the allocations were not watched long enough (twice the bound) to trust it.
   */
  status: 'measured' | 'no-frees' | 'too-few';
  /** Allocations seen with a known address. */
  seen: number;
  freed: number;
  /** Still alive and older than the normal lifetime. */
  leaked: number;
  /** Still alive and younger than the normal lifetime: not judged. */
  inFlight: number;
  /** The normal-lifetime bound, in hits and (when the span is known) in target ms. */
  normalLifetimeHits?: number;
  normalLifetimeMs?: number;
  /** Share of judged allocations that leaked, with its 95% Wilson interval. */
  fraction?: RateRange;
  /** Allocations per minute of target time the site makes (all of them, not only the addressed). */
  allocsPerMinute?: number;
  /** Leaked allocations and bytes per minute of target time. */
  leakAllocsPerMinute?: RateRange;
  leakBytesPerMinute?: RateRange;
  meanSize?: number;
}

/** What the collection says about time. */
export interface CollectionClock {
  /** The last hit watched (ages are counted up to it). */
  endHit: number;
  /** Allocations of this site seen in `spanMs` (for its allocation rate), and the hits in that span. */
  allocsInSpan?: number;
  spanMs?: number;
  hitsInSpan?: number;
}

/** The lifetime-corrected leak rate of one site. */
export function siteLeakRate(allocations: SeenAllocations, clock: CollectionClock, rule: LifetimeRule = {}): SiteLeakRate {
  const r = { ...LIFETIME_DEFAULTS, ...rule };
  const lifetimes = allocations.lifetimes();
  const meanSize = allocations.meanSize;
  const msPerHit = clock.spanMs !== undefined && clock.hitsInSpan ? clock.spanMs / clock.hitsInSpan : undefined;
  const allocsPerMinute = clock.spanMs && clock.allocsInSpan !== undefined ? (clock.allocsInSpan * 60_000) / clock.spanMs : undefined;
  const base = {
    seen: allocations.length,
    freed: lifetimes.length,
    ...(allocsPerMinute !== undefined && { allocsPerMinute }),
    ...(meanSize !== undefined && { meanSize }),
  };
  if (lifetimes.length === 0) {
    return { status: allocations.length === 0 ? 'too-few' : 'no-frees', ...base, leaked: 0, inFlight: allocations.length };
  }
  if (lifetimes.length < r.minFreed) {
    return { status: 'too-few', ...base, leaked: 0, inFlight: allocations.length - lifetimes.length };
  }
  const bound = Math.max(1, quantile(lifetimes, r.quantile) * r.margin);
  const alive = lifetimes.length < allocations.length;
  if (alive && censored(allocations, clock.endHit, bound)) {
    return { status: 'too-few', ...base, leaked: 0, inFlight: allocations.length - lifetimes.length, normalLifetimeHits: bound };
  }
  let leaked = 0;
  let inFlight = 0;
  for (let i = 0; i < allocations.length; i++) {
    if (!allocations.alive(i)) continue;
    if (clock.endHit - allocations.hit(i) > bound) leaked++;
    else inFlight++;
  }
  const judged = lifetimes.length + leaked;
  const interval = wilson(leaked, judged);
  const fraction = { estimate: leaked / judged, low: interval.low, high: interval.high };
  const scale = (rate: number | undefined, by: number) => (rate === undefined ? undefined : { estimate: fraction.estimate * rate * by, low: fraction.low * rate * by, high: fraction.high * rate * by });
  const leakAllocsPerMinute = scale(allocsPerMinute, 1);
  const leakBytesPerMinute = meanSize === undefined ? undefined : scale(allocsPerMinute, meanSize);
  return {
    status: 'measured',
    ...base,
    leaked,
    inFlight,
    normalLifetimeHits: bound,
    ...(msPerHit !== undefined && { normalLifetimeMs: bound * msPerHit }),
    fraction,
    ...(leakAllocsPerMinute && { leakAllocsPerMinute }),
    ...(leakBytesPerMinute && { leakBytesPerMinute }),
  };
}

/**
 * Does the watch need to go on for this site? Yes while its normal lifetime is unknown (too few
 * frees) or some of its allocations are still younger than it.
 */
export function stillInFlight(allocations: SeenAllocations, endHit: number, rule: LifetimeRule = {}): boolean {
  const r = { ...LIFETIME_DEFAULTS, ...rule };
  if (allocations.freed === allocations.length) return false;
  const lifetimes = allocations.lifetimes();
  if (lifetimes.length < r.minFreed) return true;
  const bound = Math.max(1, quantile(lifetimes, r.quantile) * r.margin);
  if (censored(allocations, endHit, bound)) return true;
  for (let i = 0; i < allocations.length; i++) if (allocations.alive(i) && endHit - allocations.hit(i) <= bound) return true;
  return false;
}

/**
 * Were the allocations watched too briefly to trust the normal lifetime? The longest lifetime
 * seen is cut by how long allocations were watched: a site whose blocks live minutes shows only
 * its short ones in a watch of seconds. The bound is trusted only when the typical allocation
 * was watched at least twice as long as the bound.
 */
function censored(allocations: SeenAllocations, endHit: number, bound: number): boolean {
  const ages = new Float64Array(allocations.length);
  for (let i = 0; i < ages.length; i++) ages[i] = endHit - allocations.hit(i);
  ages.sort();
  const typical = ages[Math.floor(ages.length / 2)] ?? 0;
  return typical < 2 * bound;
}
