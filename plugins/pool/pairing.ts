/**
 * Per-call-site bookkeeping of PoolHitTag hits: allocations by site, frees paired with the
 * allocation they release (by address), outstanding count and bytes, and when (in hits) each
 * paired allocation was made and freed, for the lifetime-corrected leak rate
 * (src/evidence/lifetimes.ts).
 */
import type { SeenAllocation, SiteLeakRate } from '../../src/evidence/lifetimes.js';

/** One call site seen at PoolHitTag breaks. */
export interface SiteTally {
  /** `abcflt!AbcAllocateContext+0x2a`. */
  frame: string;
  module: string;
  function?: string;
  offset: number;
  kind: 'alloc' | 'free';
  /** Return address into the site (where the tag immediate precedes the call), lowercase hex. */
  returnAddress?: string;
  /** The allocator API the site calls. */
  api?: string;
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  /** Allocations whose address is known (pairable). */
  addressed: number;
  /** Free sites: frees paired with allocations of each allocation site (by frame). */
  freesOf?: Record<string, number>;
  /** Allocation sites: frees of its allocations by free site (by frame). */
  freedBy?: Record<string, number>;
  callers: string[];
  /**
   * When the site is a wrapper's (WDF, NDIS…): its allocations and frees per calling path, by the
   * culprit frame of the driver that called it (src/evidence/classify.ts attributes each stack).
   */
  paths?: Record<string, PathTally>;
  /** Allocation sites: the lifetime-corrected leak rate (src/evidence/lifetimes.ts). */
  leakRate?: SiteLeakRate;
  /** Modules of the first calling frame outside the site's own module, per stack (another driver's: the site allocates on its behalf). */
  callerModules?: string[];
}

/** One calling path of a wrapper site: the calling driver's frame and what came through it. */
export interface PathTally {
  culprit: { frame: string; module: string; function?: string; offset: number; returnAddress?: string };
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  /** The lifetime-corrected leak rate of this path's allocations. */
  leakRate?: SiteLeakRate;
}

/** Site identity as the collector sees it. */
export interface SiteKey {
  frame: string;
  module: string;
  function?: string;
  offset: number;
  returnAddress?: string;
  api?: string;
  callers: string[];
  /** The culprit when it is not the site (the site is a wrapper's): its calling path. */
  culprit?: PathTally['culprit'];
}

/** Accumulates hits into site tallies. */
export class SiteBook {
  private readonly sites = new Map<string, SiteTally>();
  private readonly live = new Map<string, { site: string; size: number; path?: PathTally; seen: SeenAllocation }>();
  /** Addressed allocations by allocation site (`alloc <frame>`) and by calling path, in hit order. */
  private readonly seen = new Map<string, SeenAllocation[]>();
  private readonly seenByPath = new Map<PathTally, SeenAllocation[]>();
  /** Frees whose allocation was not seen (made before collection began, or not sampled). */
  unpairedFrees = 0;

  // The tally of a site, created on first sight.
  private tally(key: SiteKey, kind: 'alloc' | 'free'): SiteTally {
    const id = `${kind} ${key.frame}`;
    let site = this.sites.get(id);
    if (!site) {
      site = {
        frame: key.frame,
        module: key.module,
        ...(key.function !== undefined && { function: key.function }),
        offset: key.offset,
        kind,
        ...(key.returnAddress !== undefined && { returnAddress: key.returnAddress }),
        ...(key.api !== undefined && { api: key.api }),
        allocs: 0,
        frees: 0,
        outstanding: 0,
        outstandingBytes: 0,
        addressed: 0,
        callers: key.callers,
      };
      this.sites.set(id, site);
    }
    return site;
  }

  /** Record an allocation at hit `hit`; `address` and `size` when the version lets us read them. */
  allocation(key: SiteKey, address?: string, size?: number, hit?: number): void {
    const site = this.tally(key, 'alloc');
    // The first calling frame outside the site's own module says on whose behalf it allocates.
    const caller = key.callers.map((frame) => frame.split('!')[0]!).find((module) => module.toLowerCase() !== key.module.toLowerCase());
    if (caller && !(site.callerModules ??= []).includes(caller)) site.callerModules!.push(caller);
    site.allocs++;
    site.outstanding++;
    site.outstandingBytes += size ?? 0;
    const path = key.culprit ? pathOf(site, key.culprit) : undefined;
    if (path) {
      path.allocs++;
      path.outstanding++;
      path.outstandingBytes += size ?? 0;
    }
    if (address) {
      site.addressed++;
      const id = `alloc ${key.frame}`;
      const seen: SeenAllocation = { hit: hit ?? 0, ...(size !== undefined && { size }) };
      if (hit !== undefined) {
        push(this.seen, id, seen);
        if (path) push(this.seenByPath, path, seen);
      }
      this.live.set(address, { site: id, size: size ?? 0, ...(path && { path }), seen });
    }
  }

  /** Addressed allocations of each allocation site by frame, with the hits of their frees. */
  allocationsBySite(): Map<string, SeenAllocation[]> {
    return new Map([...this.seen].map(([id, list]) => [id.slice('alloc '.length), list]));
  }

  /** Addressed allocations of one calling path of a wrapper site. */
  allocationsOfPath(path: PathTally): SeenAllocation[] {
    return this.seenByPath.get(path) ?? [];
  }

  /** Record a free of `address` at a free site, at hit `hit`; pairs it with its allocation when seen. */
  free(key: SiteKey, address?: string, hit?: number): 'paired' | 'unpaired' {
    const freeSite = this.tally(key, 'free');
    freeSite.frees++;
    const allocation = address ? this.live.get(address) : undefined;
    if (!allocation) {
      this.unpairedFrees++;
      return 'unpaired';
    }
    this.live.delete(address!);
    if (hit !== undefined) allocation.seen.freedAt = hit;
    const allocSite = this.sites.get(allocation.site)!;
    allocSite.frees++;
    allocSite.outstanding--;
    allocSite.outstandingBytes -= allocation.size;
    if (allocation.path) {
      allocation.path.frees++;
      allocation.path.outstanding--;
      allocation.path.outstandingBytes -= allocation.size;
    }
    countUp((allocSite.freedBy ??= {}), freeSite.frame);
    countUp((freeSite.freesOf ??= {}), allocSite.frame);
    return 'paired';
  }

  /** Is a free site still unmatched while allocations with known addresses are alive? */
  needsPairing(): boolean {
    if (this.live.size === 0) return false;
    return [...this.sites.values()].some((s) => s.kind === 'free' && s.freesOf === undefined);
  }

  /** Every site, allocation sites first, most outstanding first. */
  list(): SiteTally[] {
    return [...this.sites.values()].sort(
      (a, b) => (a.kind === b.kind ? 0 : a.kind === 'alloc' ? -1 : 1) || b.outstandingBytes - a.outstandingBytes || b.outstanding - a.outstanding || b.allocs - a.allocs || b.frees - a.frees,
    );
  }
}

// The tally of one calling path of a wrapper site, created on first sight.
function pathOf(site: SiteTally, culprit: PathTally['culprit']): PathTally {
  const paths = (site.paths ??= {});
  if (!Object.hasOwn(paths, culprit.frame)) {
    Object.defineProperty(paths, culprit.frame, { value: { culprit, allocs: 0, frees: 0, outstanding: 0, outstandingBytes: 0 }, writable: true, enumerable: true, configurable: true });
  }
  return paths[culprit.frame]!;
}

// Append to a list in a map, creating it on first use.
function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

// Add one to a frame's count in place (a frame named like `__proto__` stays an own key, as in a literal).
function countUp(counts: Record<string, number>, frame: string): void {
  if (Object.hasOwn(counts, frame)) counts[frame]!++;
  else Object.defineProperty(counts, frame, { value: 1, writable: true, enumerable: true, configurable: true });
}
