/**
 * Pairing of PoolHitTag stacks: allocations paired with frees by block address, counted per call
 * site and per calling path, with when (in hits) each paired allocation was made and freed, for
 * the lifetime-corrected leak rate (./lifetimes.ts). The one bookkeeping of the live hunt
 * (pool.collect-stacks) and of offline analysis (`leakhunt analyze`, `leakhunt report` over a
 * stacks.jsonl). Stacks are added one at a time, so a large stacks.jsonl streams. Pure: no I/O.
 *
 * A site's calling paths, from the classification (./classify.ts):
 * - a wrapper's site (WDF, NDIS, …, or a playbook's pattern): one path per calling driver frame;
 * - a module whose allocation sites (under one tag) are called from two or more other drivers
 *   (not the kernel or a framework calling back) is a shared library detected from the stacks,
 *   and its sites are counted per calling driver frame exactly as a wrapper's are;
 * - otherwise the frames right below the site inside its own module are the paths of one site
 *   (`callerPaths`): compared, never separate culprits.
 *
 * API: `add(record)` one classified stack; `list(clock?)` the sites as pool.collect-stacks outputs
 * them (leak rates when the collection's clock is given); `summary()` the per-path tables and
 * UMDH-style call trees of outstanding allocations the reports show.
 */
import { callsBack, frameParts, pathKey, type NamedFrame } from './classify.js';
import { SeenAllocations, siteLeakRate, type CollectionClock, type SiteLeakRate } from './lifetimes.js';

/** A frame as the aggregation shows it: kd's spelling and, when known, its parts. */
export interface Frame {
  text: string;
  module?: string;
  function?: string;
  offset: number;
}

/** One PoolHitTag stack, classified (./classify.ts), as the book reads it. */
export interface StackRecord {
  kind: 'alloc' | 'free' | 'unknown';
  tag?: string;
  pool?: 'paged' | 'nonpaged';
  /** Frames as kd spells them (`module!function+0x2a`), innermost first. */
  frames: string[];
  /** The first frame outside the allocator (possibly a wrapper's). */
  site?: NamedFrame;
  /** The driver's frame to blame; the site unless the site is a wrapper's. */
  culprit?: NamedFrame;
  /** The frame below the site in its own module (the calling path inside the driver). */
  caller?: NamedFrame;
  /** The calling driver's frame when the site's module is looked through (a shared library). */
  outside?: NamedFrame;
  /** The allocator API the site called. */
  api?: string;
  /** The block's address (lowercase hex, no backtick) when known. */
  address?: string;
  size?: number;
  atMs?: number;
  /** The break's number (1-based, every break of the tag counted): the clock of lifetimes. */
  hit?: number;
}

/** Outstanding allocations under one frame of a call tree, UMDH style: `+ bytes (allocs) frame`. */
export interface CallTreeNode {
  frame: string;
  bytes: number;
  allocs: number;
  children: CallTreeNode[];
}

/** Allocations and frees attributed to one calling path (a site, and its culprit when the site is a wrapper's) of one tag. */
export interface AggregatedSite {
  tag: string;
  site: Frame;
  /** The calling driver's frame, when the site is a wrapper's (WDF, NDIS, …) and the culprit is another frame. */
  culprit?: Frame;
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  /** The site with its callers below it, aggregated over the outstanding allocations. */
  tree: CallTreeNode;
  /** One representative outstanding (else any) stack's callers, innermost first. */
  callers: string[];
}

/** What a whole stream of stacks adds up to. */
export interface StackSummary {
  records: number;
  allocs: number;
  frees: number;
  unknown: number;
  /** Frees of blocks allocated before collection began (or whose allocation was not seen). */
  unmatchedFrees: number;
  /** Frees without an address, so they could not be paired. */
  unpairedFrees: number;
  /** True when allocations carried addresses, so outstanding means "allocated and not freed". */
  paired: boolean;
  firstAtMs?: number;
  lastAtMs?: number;
  /** Largest outstanding bytes first (then outstanding count). */
  sites: AggregatedSite[];
  /** Lines of stacks.jsonl that were not usable, with why. */
  invalid: { line: number; reason: string }[];
}

/** One calling path of a site: the frame it came through and what came through it. */
export interface PathTally {
  culprit: { frame: string; module: string; function?: string; offset: number; returnAddress?: string };
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  /** The lifetime-corrected leak rate of this path's allocations. */
  leakRate?: SiteLeakRate;
  /** Requester groups: frees of the group's blocks by free site (by frame), as a site's `freedBy`. */
  freedBy?: Record<string, number>;
}

/** One call site seen at PoolHitTag breaks (pool.collect-stacks' `sites[]`). */
export interface SiteTally {
  /** `abcflt!AbcAllocateContext+0x2a`. */
  frame: string;
  module: string;
  function?: string;
  offset: number;
  kind: 'alloc' | 'free';
  /** The tag, when the stacks said it (a collection of one tag leaves it out). */
  tag?: string;
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
   * A wrapper's site (WDF, NDIS…, or a shared library detected from the stacks): its allocations
   * and frees per calling path, by the frame of the driver that called it.
   */
  paths?: Record<string, PathTally>;
  /** `paths` are a shared library's, detected because its sites are called from two or more other drivers. */
  shared?: boolean;
  /** Any other site: its calling paths inside its own module (the frame right below it), when known. */
  callerPaths?: Record<string, PathTally>;
  /**
   * Allocation sites reached by caller chains that part: their allocations grouped by the frame
   * where the chains part (the first frame below what all of them share), with who freed each
   * group's blocks — the caller that asked for a block may be the one to free it.
   */
  requesters?: Record<string, PathTally>;
  /** Allocation sites: the lifetime-corrected leak rate (./lifetimes.ts). */
  leakRate?: SiteLeakRate;
  /** Modules of the first calling frame outside the site's own module (another driver's: the site allocates on its behalf). */
  callerModules?: string[];
}

/** The collection's clock for leak rates: `lifetimes.ts`'s, and how many allocations each one stands for. */
export interface BookClock extends Omit<CollectionClock, 'allocsInSpan'> {
  /** One stack recorded every `sampleEvery` hits (default 1). */
  sampleEvery?: number;
}

// Counts of one site or path; outstanding is worked out at the end from live blocks.
interface Counter {
  allocs: number;
  frees: number;
  /** Outstanding allocations without an address (cannot be paired), by stack id. */
  unpaired: Map<number, { count: number; bytes: number }>;
  /** Any stack seen, the fallback representative. */
  anyStack: number;
  /** Addressed allocations with their hits, in order (lifetimes). */
  seen: SeenAllocations;
}

interface PathCounter extends Counter {
  culprit: PathTally['culprit'];
}

/** The allocations of one caller chain of a site, and who freed their blocks. */
interface ChainCounter extends Counter {
  /** Frees of its blocks by free site (by frame). */
  freedBy: Record<string, number>;
}

interface SiteCounter extends Counter {
  tag: string;
  kind: 'alloc' | 'free';
  site: NamedFrame;
  api?: string;
  callers: string[];
  addressed: number;
  /** Paths through a wrapper, by culprit frame. */
  wrapperPaths: Map<string, PathCounter>;
  /** Paths inside the site's module, by caller frame. */
  callerPaths: Map<string, PathCounter>;
  /** Paths by the calling driver's frame with the module looked through (used when the module is a shared library). */
  outsidePaths: Map<string, PathCounter>;
  /** Allocations by their whole caller chain (interned stack id), grouped into requesters at the end. */
  chains: Map<number, ChainCounter>;
  callerModules: string[];
  freesOf?: Record<string, number>;
  freedBy?: Record<string, number>;
}

/** A live block: the site and paths that allocated it, with which caller chain and size. */
interface LiveBlock {
  site: SiteCounter;
  /** The site's paths it counts in, its caller chain's counter last. */
  paths: Counter[];
  stack: number;
  size: number;
  /** Its index in the site's and each path's `seen`, in that order (when its hit is known). */
  seen?: number[];
}

/** What an allocation's frames say, worked out once per frames array. */
interface FramesFacts {
  /** Interned caller chain below the site. */
  stack: number;
  callerModule?: string;
}

// An allocation whose stack has no call site (nothing below the allocator, or no allocator frame).
const noSite: NamedFrame = { index: -1, frame: '<no call site>', module: '', offset: 0 };

// The path tally's frame of a classified frame.
function pathFrame(named: NamedFrame): PathTally['culprit'] {
  return { frame: named.frame, module: named.module, ...(named.function !== undefined && { function: named.function }), offset: named.offset, ...(named.returnAddress !== undefined && { returnAddress: named.returnAddress }) };
}

// A new counter.
function counter(stack: number): Counter {
  return { allocs: 0, frees: 0, unpaired: new Map(), anyStack: stack, seen: new SeenAllocations() };
}

/**
 * Adds classified stacks one at a time and sums them up on demand. A record's frames array is
 * read once: passing the same array again (as a stacks.jsonl reader does for repeated stacks)
 * reuses what it said, so do not change a frames array after adding it.
 */
export class PairingBook {
  /** Sites by tag, kind and frame, in order of first sight. */
  private readonly sites = new Map<string, SiteCounter>();
  private readonly stackIds = new Map<string, number>();
  private readonly stacks: string[][] = [];
  private readonly facts = new WeakMap<readonly string[], FramesFacts>();
  /** Live blocks by tag, then address. */
  private readonly live = new Map<string, Map<string, LiveBlock>>();
  private readonly counts = { records: 0, allocs: 0, frees: 0, unknown: 0, unmatchedFrees: 0, unpairedFrees: 0 };
  private addressed = false;
  private firstAtMs?: number;
  private lastAtMs?: number;
  readonly invalid: { line: number; reason: string }[] = [];

  /** Frees whose allocation was not seen (made before collection began, or not sampled), or that had no address. */
  get unpairedFrees(): number {
    return this.counts.unmatchedFrees + this.counts.unpairedFrees;
  }

  /** Add one classified stack; a free says whether it was paired with an allocation seen. */
  add(record: StackRecord): 'paired' | 'unpaired' | undefined {
    this.counts.records++;
    if (record.atMs !== undefined) {
      this.firstAtMs = Math.min(this.firstAtMs ?? record.atMs, record.atMs);
      this.lastAtMs = Math.max(this.lastAtMs ?? record.atMs, record.atMs);
    }
    const tag = record.tag ?? '????';
    if (record.kind === 'unknown') {
      this.counts.unknown++;
      return undefined;
    }
    const facts = this.factsOf(record);
    if (record.kind === 'free') return this.free(record, tag, facts);
    this.counts.allocs++;
    const site = this.counter(record, tag, 'alloc', facts);
    if (facts.callerModule && !site.callerModules.includes(facts.callerModule)) site.callerModules.push(facts.callerModule);
    const wrapped = record.culprit && record.site && record.culprit.index !== record.site.index;
    const paths: Counter[] = [];
    if (wrapped) paths.push(pathIn(site.wrapperPaths, record.culprit!, facts.stack));
    else {
      if (record.caller) paths.push(pathIn(site.callerPaths, record.caller, facts.stack));
      if (record.outside) paths.push(pathIn(site.outsidePaths, record.outside, facts.stack));
    }
    let chain = site.chains.get(facts.stack);
    if (!chain) site.chains.set(facts.stack, (chain = { ...counter(facts.stack), freedBy: {} }));
    paths.push(chain);
    const size = record.size ?? 0;
    for (const c of [site, ...paths]) c.allocs++;
    if (record.address === undefined) {
      for (const c of [site, ...paths]) {
        const entry = c.unpaired.get(facts.stack) ?? { count: 0, bytes: 0 };
        entry.count++;
        entry.bytes += size;
        c.unpaired.set(facts.stack, entry);
      }
      return undefined;
    }
    this.addressed = true;
    site.addressed++;
    const hit = record.hit;
    const seen = hit !== undefined ? [site, ...paths].map((c) => c.seen.add(hit, record.size)) : undefined;
    let blocks = this.live.get(tag);
    if (!blocks) this.live.set(tag, (blocks = new Map()));
    // The same address allocated again means its free was missed: the old block is gone.
    const previous = blocks.get(record.address);
    if (previous) for (const c of [previous.site, ...previous.paths]) c.frees++;
    blocks.set(record.address, { site, paths, stack: facts.stack, size, ...(seen && { seen }) });
    return undefined;
  }

  /** Record a line that could not be used. */
  reject(line: number, reason: string): void {
    this.invalid.push({ line, reason });
  }

  /** Is a free site still unmatched while allocations with known addresses are alive? */
  needsPairing(): boolean {
    if (![...this.live.values()].some((blocks) => blocks.size > 0)) return false;
    return [...this.sites.values()].some((s) => s.kind === 'free' && s.freesOf === undefined);
  }

  /** Addressed allocations of each allocation site, with the hits of their frees (for the watch after a collection). */
  allocationsBySite(): SeenAllocations[] {
    return [...this.sites.values()].filter((s) => s.kind === 'alloc').map((s) => s.seen);
  }

  /**
   * Every site, allocation sites first, most outstanding first, as pool.collect-stacks outputs
   * them; with a clock, each allocation site and path gets its lifetime-corrected leak rate.
   */
  list(clock?: BookClock): SiteTally[] {
    const outstanding = this.outstanding();
    const shared = this.sharedModules();
    const every = clock?.sampleEvery ?? 1;
    const rate = (c: Counter): SiteLeakRate | undefined => (clock ? siteLeakRate(c.seen, { endHit: clock.endHit, ...(clock.spanMs !== undefined && { spanMs: clock.spanMs }), ...(clock.hitsInSpan !== undefined && { hitsInSpan: clock.hitsInSpan }), allocsInSpan: c.allocs * every }) : undefined);
    const numbers = (c: Counter) => {
      const o = outstanding.get(c)!;
      return { allocs: c.allocs, frees: c.frees, outstanding: o.count, outstandingBytes: o.bytes };
    };
    const tallies = (paths: Map<string, PathCounter>): Record<string, PathTally> => {
      const out: Record<string, PathTally> = {};
      for (const [frame, p] of paths) {
        const leakRate = rate(p);
        // A frame named like `__proto__` stays an own key, as in a literal.
        Object.defineProperty(out, frame, { value: { culprit: p.culprit, ...numbers(p), ...(leakRate && { leakRate }) }, writable: true, enumerable: true, configurable: true });
      }
      return out;
    };
    // A site's caller chains grouped by the frame where they part: each group's counts, leak rate and freers.
    const requesters = (s: SiteCounter): { requesters: Record<string, PathTally> } | undefined => {
      const groups = this.partedChains(s);
      if (!groups) return undefined;
      const out: Record<string, PathTally> = {};
      for (const [frame, chains] of groups) {
        const merged: Counter = { allocs: 0, frees: 0, unpaired: new Map(), anyStack: chains[0]!.anyStack, seen: SeenAllocations.concat(chains.map((c) => c.seen)) };
        const freedBy: Record<string, number> = {};
        let o = { count: 0, bytes: 0 };
        for (const c of chains) {
          merged.allocs += c.allocs;
          merged.frees += c.frees;
          const n = outstanding.get(c)!;
          o = { count: o.count + n.count, bytes: o.bytes + n.bytes };
          for (const [frame, k] of Object.entries(c.freedBy)) countUp(freedBy, frame, k);
        }
        const leakRate = rate(merged);
        const culprit = { frame, ...frameParts(frame) };
        Object.defineProperty(out, frame, { value: { culprit, allocs: merged.allocs, frees: merged.frees, outstanding: o.count, outstandingBytes: o.bytes, ...(leakRate && { leakRate }), ...(Object.keys(freedBy).length > 0 && { freedBy }) }, writable: true, enumerable: true, configurable: true });
      }
      return { requesters: out };
    };
    const tags = new Set([...this.sites.values()].map((s) => s.tag));
    const list = [...this.sites.values()].map((s): SiteTally => {
      const isShared = s.kind === 'alloc' && s.wrapperPaths.size === 0 && s.outsidePaths.size > 0 && shared.has(moduleKey(s));
      const paths = s.wrapperPaths.size > 0 ? s.wrapperPaths : isShared ? s.outsidePaths : undefined;
      const leakRate = s.kind === 'alloc' ? rate(s) : undefined;
      return {
        frame: s.site.frame,
        module: s.site.module,
        ...(s.site.function !== undefined && { function: s.site.function }),
        offset: s.site.offset,
        kind: s.kind,
        ...(tags.size > 1 || s.tag !== '????' ? { tag: s.tag } : {}),
        ...(s.site.returnAddress !== undefined && { returnAddress: s.site.returnAddress }),
        ...(s.api !== undefined && { api: s.api }),
        ...numbers(s),
        addressed: s.addressed,
        ...(s.freesOf && { freesOf: s.freesOf }),
        ...(s.freedBy && { freedBy: s.freedBy }),
        callers: s.callers,
        ...(paths && { paths: tallies(paths) }),
        ...(isShared && { shared: true }),
        ...(!paths && s.callerPaths.size > 0 && { callerPaths: tallies(s.callerPaths) }),
        ...(!paths && s.kind === 'alloc' && requesters(s)),
        ...(leakRate && { leakRate }),
        ...(s.callerModules.length > 0 && { callerModules: s.callerModules }),
      };
    });
    return list.sort(
      (a, b) => (a.kind === b.kind ? 0 : a.kind === 'alloc' ? -1 : 1) || b.outstandingBytes - a.outstandingBytes || b.outstanding - a.outstanding || b.allocs - a.allocs || b.frees - a.frees,
    );
  }

  /** The totals, calling paths and call trees of everything added so far (allocation sites). */
  summary(): StackSummary {
    const outstanding = this.outstanding();
    const shared = this.sharedModules();
    const sites: AggregatedSite[] = [];
    for (const s of this.sites.values()) {
      if (s.kind !== 'alloc') continue;
      const paths = s.wrapperPaths.size > 0 ? s.wrapperPaths : s.outsidePaths.size > 0 && shared.has(moduleKey(s)) ? s.outsidePaths : undefined;
      const entries: [Counter, PathCounter | undefined][] = paths ? [...paths.values()].map((p) => [p, p]) : [[s, undefined]];
      for (const [c, path] of entries) {
        const byStack = outstanding.get(c)!.byStack;
        const tree: CallTreeNode = { frame: s.site.frame, bytes: 0, allocs: 0, children: [] };
        let representative = c.anyStack;
        let representativeCount = 0;
        for (const [stackId, { count, bytes }] of byStack) {
          if (count > representativeCount) [representative, representativeCount] = [stackId, count];
          tree.bytes += bytes;
          tree.allocs += count;
          let node = tree;
          for (const frame of this.stacks[stackId]!) {
            let child = node.children.find((k) => k.frame === frame);
            if (!child) node.children.push((child = { frame, bytes: 0, allocs: 0, children: [] }));
            child.bytes += bytes;
            child.allocs += count;
            node = child;
          }
        }
        sortTree(tree);
        sites.push({
          tag: s.tag,
          site: frameOf(s.site),
          ...(path && { culprit: { text: path.culprit.frame, module: path.culprit.module, ...(path.culprit.function !== undefined && { function: path.culprit.function }), offset: path.culprit.offset } }),
          allocs: c.allocs,
          frees: c.frees,
          outstanding: tree.allocs,
          outstandingBytes: tree.bytes,
          tree,
          callers: this.stacks[representative] ?? [],
        });
      }
    }
    sites.sort((a, b) => b.outstandingBytes - a.outstandingBytes || b.outstanding - a.outstanding || pathKey({ frame: a.site.text }, a.culprit && { frame: a.culprit.text }).localeCompare(pathKey({ frame: b.site.text }, b.culprit && { frame: b.culprit.text })));
    return {
      ...this.counts,
      paired: this.addressed,
      ...(this.firstAtMs !== undefined && { firstAtMs: this.firstAtMs, lastAtMs: this.lastAtMs }),
      sites,
      invalid: this.invalid,
    };
  }

  // A free: paired with its block's allocation when the address was seen allocated.
  private free(record: StackRecord, tag: string, facts: FramesFacts): 'paired' | 'unpaired' {
    this.counts.frees++;
    const freeSite = record.site ? this.counter(record, tag, 'free', facts) : undefined;
    if (freeSite) freeSite.frees++;
    if (record.address === undefined) {
      this.counts.unpairedFrees++;
      return 'unpaired';
    }
    const blocks = this.live.get(tag);
    const block = blocks?.get(record.address);
    if (!block) {
      this.counts.unmatchedFrees++;
      return 'unpaired';
    }
    blocks!.delete(record.address);
    const counters = [block.site, ...block.paths];
    if (block.seen && record.hit !== undefined) for (const [k, c] of counters.entries()) c.seen.free(block.seen[k]!, record.hit);
    for (const c of counters) c.frees++;
    if (freeSite) {
      countUp((block.paths[block.paths.length - 1] as ChainCounter).freedBy, freeSite.site.frame);
      countUp((block.site.freedBy ??= {}), freeSite.site.frame);
      countUp((freeSite.freesOf ??= {}), block.site.site.frame);
    }
    return 'paired';
  }

  // The counter of a site, created on first sight.
  private counter(record: StackRecord, tag: string, kind: 'alloc' | 'free', facts: FramesFacts): SiteCounter {
    const site = record.site ?? noSite;
    const key = `${tag}\u0000${kind}\u0000${site.frame}`;
    let c = this.sites.get(key);
    if (!c) {
      c = {
        ...counter(facts.stack),
        tag,
        kind,
        site,
        ...(record.api !== undefined && { api: record.api }),
        callers: this.stacks[facts.stack]!.slice(0, 8),
        addressed: 0,
        wrapperPaths: new Map(),
        callerPaths: new Map(),
        outsidePaths: new Map(),
        chains: new Map(),
        callerModules: [],
      };
      this.sites.set(key, c);
    }
    return c;
  }

  // Outstanding per counter and stack: paired live blocks plus allocations without an address.
  private outstanding(): Map<Counter, { count: number; bytes: number; byStack: Map<number, { count: number; bytes: number }> }> {
    const result = new Map<Counter, { count: number; bytes: number; byStack: Map<number, { count: number; bytes: number }> }>();
    const add = (c: Counter, stack: number, count: number, bytes: number) => {
      let entry = result.get(c);
      if (!entry) result.set(c, (entry = { count: 0, bytes: 0, byStack: new Map() }));
      entry.count += count;
      entry.bytes += bytes;
      const s = entry.byStack.get(stack) ?? { count: 0, bytes: 0 };
      s.count += count;
      s.bytes += bytes;
      entry.byStack.set(stack, s);
    };
    for (const s of this.sites.values()) {
      for (const c of [s, ...s.wrapperPaths.values(), ...s.callerPaths.values(), ...s.outsidePaths.values(), ...s.chains.values()]) {
        if (!result.has(c)) result.set(c, { count: 0, bytes: 0, byStack: new Map() });
        for (const [stack, { count, bytes }] of c.unpaired) add(c, stack, count, bytes);
      }
    }
    for (const blocks of this.live.values()) for (const block of blocks.values()) for (const c of [block.site, ...block.paths]) add(c, block.stack, 1, block.size);
    return result;
  }

  /**
   * A site's caller chains grouped by the frame where they part: the first frame below the ones
   * all of them share (a chain that ends there is grouped as `<end>`). Undefined when the site
   * has one chain, or all its chains part only where the stacks were cut.
   */
  private partedChains(s: SiteCounter): Map<string, ChainCounter[]> | undefined {
    if (s.chains.size < 2) return undefined;
    const chains = [...s.chains].map(([id, c]) => ({ frames: this.stacks[id]!, c }));
    let shared = 0;
    while (chains.every(({ frames }) => frames.length > shared && frames[shared] === chains[0]!.frames[shared])) shared++;
    const groups = new Map<string, ChainCounter[]>();
    for (const { frames, c } of chains) {
      const frame = frames[shared] ?? '<end>';
      let group = groups.get(frame);
      if (!group) groups.set(frame, (group = []));
      group.push(c);
    }
    return groups.size >= 2 && !groups.has('<end>') ? groups : undefined;
  }

  /**
   * Modules (per tag) whose allocation sites, not a wrapper's, are called from two or more other
   * drivers (the kernel and frameworks calling back do not count): shared libraries.
   */
  private sharedModules(): Set<string> {
    const callers = new Map<string, Set<string>>();
    for (const s of this.sites.values()) {
      if (s.kind !== 'alloc' || s.wrapperPaths.size > 0) continue;
      let set = callers.get(moduleKey(s));
      if (!set) callers.set(moduleKey(s), (set = new Set()));
      for (const p of s.outsidePaths.values()) if (!callsBack(p.culprit.module)) set.add(p.culprit.module.toLowerCase());
    }
    return new Set([...callers].filter(([, set]) => set.size >= 2).map(([key]) => key));
  }

  // The calling path and interned caller chain of an allocation's frames, once per frames array.
  private factsOf(record: StackRecord): FramesFacts {
    let facts = this.facts.get(record.frames);
    if (!facts) {
      const below = record.site ? record.frames.slice(record.site.index + 1) : [];
      const own = record.site?.module.toLowerCase();
      const callerModule = below.map((frame) => frame.split('!')[0]!.split('+')[0]!).find((module) => module !== '' && !module.startsWith('0x') && module.toLowerCase() !== own);
      facts = { stack: this.intern(below), ...(callerModule && { callerModule }) };
      this.facts.set(record.frames, facts);
    }
    return facts;
  }

  // Store each distinct caller chain once; outstanding blocks refer to it by number.
  private intern(frames: string[]): number {
    const key = frames.join('\n');
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(frames);
      this.stackIds.set(key, id);
    }
    return id;
  }
}

// The key of a site's module under its tag.
function moduleKey(s: SiteCounter): string {
  return `${s.tag}\u0000${s.site.module.toLowerCase()}`;
}

// The path counter of a frame, created on first sight.
function pathIn(paths: Map<string, PathCounter>, frame: NamedFrame, stack: number): PathCounter {
  let p = paths.get(frame.frame);
  if (!p) paths.set(frame.frame, (p = { ...counter(stack), culprit: pathFrame(frame) }));
  return p;
}

// The aggregation's Frame of a classified frame.
function frameOf(named: NamedFrame): Frame {
  return { text: named.frame, ...(named.module !== '' && { module: named.module }), ...(named.function !== undefined && { function: named.function }), offset: named.offset };
}

// Largest first at every level, so the tree reads like UMDH's output.
function sortTree(node: CallTreeNode): void {
  node.children.sort((a, b) => b.bytes - a.bytes || b.allocs - a.allocs || a.frame.localeCompare(b.frame));
  node.children.forEach(sortTree);
}

// Add to a frame's count in place, one by default (a frame named like `__proto__` stays an own key, as in a literal).
function countUp(counts: Record<string, number>, frame: string, n = 1): void {
  if (Object.hasOwn(counts, frame)) counts[frame]! += n;
  else Object.defineProperty(counts, frame, { value: n, writable: true, enumerable: true, configurable: true });
}
