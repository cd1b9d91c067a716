/**
 * Aggregation of classified PoolHitTag stacks: allocations paired with frees by address, and
 * what stays outstanding summed per calling path (site, and the culprit when the site is a
 * wrapper's) into UMDH-style call trees. Stacks are added one at a time, so a large stacks.jsonl
 * streams; reading that file is src/report/stacks-file.ts, classifying a stack src/evidence.
 */
import { pathKey, type NamedFrame } from '../evidence/classify.js';
import type { PoolName } from './model.js';

/** A frame as the aggregation shows it: kd's spelling and, when known, its parts. */
export interface Frame {
  text: string;
  module?: string;
  function?: string;
  offset: number;
}

/** One PoolHitTag stack, classified (src/evidence/classify.ts), as the aggregation reads it. */
export interface StackRecord {
  kind: 'alloc' | 'free' | 'unknown';
  tag?: string;
  pool?: PoolName;
  /** Frames as kd spells them (`module!function+0x2a`), innermost first. */
  frames: string[];
  /** The first frame outside the allocator (possibly a wrapper's). */
  site?: NamedFrame;
  /** The driver's frame to blame; the site unless the site is a wrapper's. */
  culprit?: NamedFrame;
  /** The block's address (lowercase hex, no backtick) when known. */
  address?: string;
  size?: number;
  atMs?: number;
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

// The aggregation's Frame of a classified frame.
function frameOf(named: NamedFrame): Frame {
  return { text: named.frame, module: named.module, ...(named.function !== undefined && { function: named.function }), offset: named.offset };
}

// An allocation whose stack has no call site (nothing below the allocator, or no allocator frame).
const noSite: Frame = { text: '<no call site>', offset: 0 };

interface SiteAccumulator {
  tag: string;
  site: Frame;
  culprit?: Frame;
  allocs: number;
  frees: number;
  /** Outstanding allocations without an address (cannot be paired), by stack id. */
  unpaired: Map<number, { count: number; bytes: number }>;
  /** Any stack seen at this site, as the fallback representative. */
  anyStack: number;
}

/** A live block: the site that allocated it, with which caller chain and size. */
interface LiveBlock {
  site: SiteAccumulator;
  stack: number;
  size: number;
}

/** What an allocation's frames say, worked out once per frames array. */
interface FramesFacts {
  site: Frame;
  culprit?: Frame;
  /** `site` or `site <- culprit`: the calling path's key. */
  path: string;
  /** Interned caller chain below the site. */
  stack: number;
  /** The site's accumulator for each tag seen with these frames. */
  byTag: Map<string, SiteAccumulator>;
}

/**
 * Adds stacks one at a time (so a large stacks.jsonl streams) and sums them up at the end. A
 * record's frames array is read once: passing the same array again (as readStacksFile does for
 * repeated stacks) reuses what it and the record's site and culprit said, so do not change a
 * frames array after adding it, nor add it again with another attribution.
 */
export class StackAggregator {
  /** Accumulators by tag and site text, in order of first sight. */
  private readonly sites = new Map<string, SiteAccumulator>();
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

  /** Add one classified stack. */
  add(record: StackRecord): void {
    this.counts.records++;
    if (record.atMs !== undefined) {
      this.firstAtMs = Math.min(this.firstAtMs ?? record.atMs, record.atMs);
      this.lastAtMs = Math.max(this.lastAtMs ?? record.atMs, record.atMs);
    }
    const tag = record.tag ?? '????';
    if (record.kind === 'unknown') {
      this.counts.unknown++;
      return;
    }
    if (record.kind === 'free') {
      this.counts.frees++;
      if (record.address === undefined) {
        this.counts.unpairedFrees++;
        return;
      }
      const blocks = this.live.get(tag);
      const block = blocks?.get(record.address);
      if (!block) {
        this.counts.unmatchedFrees++;
        return;
      }
      blocks!.delete(record.address);
      block.site.frees++;
      return;
    }
    this.counts.allocs++;
    const facts = this.factsOf(record);
    const stack = facts.stack;
    let accumulator = facts.byTag.get(tag);
    if (!accumulator) {
      const siteKey = `${tag}\u0000${facts.path}`;
      accumulator = this.sites.get(siteKey);
      if (!accumulator) {
        accumulator = { tag, site: facts.site, ...(facts.culprit && { culprit: facts.culprit }), allocs: 0, frees: 0, unpaired: new Map(), anyStack: stack };
        this.sites.set(siteKey, accumulator);
      }
      facts.byTag.set(tag, accumulator);
    }
    accumulator.allocs++;
    const size = record.size ?? 0;
    if (record.address !== undefined) {
      this.addressed = true;
      let blocks = this.live.get(tag);
      if (!blocks) this.live.set(tag, (blocks = new Map()));
      // The same address allocated again means its free was missed: the old block is gone.
      const previous = blocks.get(record.address);
      if (previous) previous.site.frees++;
      blocks.set(record.address, { site: accumulator, stack, size });
    } else {
      const entry = accumulator.unpaired.get(stack) ?? { count: 0, bytes: 0 };
      entry.count++;
      entry.bytes += size;
      accumulator.unpaired.set(stack, entry);
    }
  }

  /** Record a line that could not be used. */
  reject(line: number, reason: string): void {
    this.invalid.push({ line, reason });
  }

  /** The totals, sites and call trees of everything added so far. */
  summary(): StackSummary {
    // Outstanding per site and stack: paired live blocks plus allocations without an address.
    const outstanding = new Map<SiteAccumulator, Map<number, { count: number; bytes: number }>>();
    for (const accumulator of this.sites.values()) outstanding.set(accumulator, new Map([...accumulator.unpaired].map(([id, v]) => [id, { ...v }])));
    for (const blocks of this.live.values()) {
      for (const block of blocks.values()) {
        const byStack = outstanding.get(block.site)!;
        const entry = byStack.get(block.stack) ?? { count: 0, bytes: 0 };
        entry.count++;
        entry.bytes += block.size;
        byStack.set(block.stack, entry);
      }
    }
    const sites: AggregatedSite[] = [];
    for (const accumulator of this.sites.values()) {
      const byStack = outstanding.get(accumulator)!;
      const tree: CallTreeNode = { frame: accumulator.site.text, bytes: 0, allocs: 0, children: [] };
      let representative = accumulator.anyStack;
      let representativeCount = 0;
      for (const [stackId, { count, bytes }] of byStack) {
        if (count > representativeCount) [representative, representativeCount] = [stackId, count];
        tree.bytes += bytes;
        tree.allocs += count;
        let node = tree;
        for (const frame of this.stacks[stackId]!) {
          let child = node.children.find((c) => c.frame === frame);
          if (!child) node.children.push((child = { frame, bytes: 0, allocs: 0, children: [] }));
          child.bytes += bytes;
          child.allocs += count;
          node = child;
        }
      }
      sortTree(tree);
      sites.push({
        tag: accumulator.tag,
        site: accumulator.site,
        ...(accumulator.culprit && { culprit: accumulator.culprit }),
        allocs: accumulator.allocs,
        frees: accumulator.frees,
        outstanding: tree.allocs,
        outstandingBytes: tree.bytes,
        tree,
        callers: this.stacks[representative] ?? [],
      });
    }
    sites.sort((a, b) => b.outstandingBytes - a.outstandingBytes || b.outstanding - a.outstanding || a.site.text.localeCompare(b.site.text));
    return {
      ...this.counts,
      paired: this.addressed,
      ...(this.firstAtMs !== undefined && { firstAtMs: this.firstAtMs, lastAtMs: this.lastAtMs }),
      sites,
      invalid: this.invalid,
    };
  }

  // The calling path and interned caller chain of an allocation's frames, once per frames array.
  private factsOf(record: StackRecord): FramesFacts {
    let facts = this.facts.get(record.frames);
    if (!facts) {
      const site = record.site ? frameOf(record.site) : noSite;
      const culprit = record.site && record.culprit && record.culprit.index !== record.site.index ? frameOf(record.culprit) : undefined;
      const stack = this.intern(record.site ? record.frames.slice(record.site.index + 1) : []);
      facts = { site, ...(culprit && { culprit }), path: pathKey({ frame: site.text }, culprit && { frame: culprit.text }), stack, byTag: new Map() };
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

// Largest first at every level, so the tree reads like UMDH's output.
function sortTree(node: CallTreeNode): void {
  node.children.sort((a, b) => b.bytes - a.bytes || b.allocs - a.allocs || a.frame.localeCompare(b.frame));
  node.children.forEach(sortTree);
}
