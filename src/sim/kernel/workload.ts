/**
 * The workload generator: each scenario site and background tag is an independent source of
 * allocation and free events in target time, driven by its own seeded random stream. Sources
 * never interact, so the kernel can advance them in bulk (preload, or while PoolHitTag matches
 * nothing) and only steps event by event when a stop is possible.
 */
import type { PoolKind } from '../kernel-api.js';
import type { Rng } from '../kernel-rng.js';
import { BlockTable, FreeHeap, SlotList } from './blocks.js';

/** Per-tag, per-pool counters as `!poolused` reports them. */
export interface PoolCounter {
  allocs: number;
  frees: number;
  bytes: number;
}

/** Counters of every tag seen in this boot. */
export class CounterBook {
  private readonly byTag = new Map<number, Record<PoolKind, PoolCounter>>();

  /** The counter of a tag in one pool (created on first use). */
  get(tag: number, pool: PoolKind): PoolCounter {
    let entry = this.byTag.get(tag);
    if (!entry) {
      entry = { paged: { allocs: 0, frees: 0, bytes: 0 }, nonpaged: { allocs: 0, frees: 0, bytes: 0 } };
      this.byTag.set(tag, entry);
    }
    return entry[pool];
  }

  /** Every tag with its counters. */
  entries(): IterableIterator<[number, Record<PoolKind, PoolCounter>]> {
    return this.byTag.entries();
  }

  /** Forget everything (reboot). */
  clear(): void {
    this.byTag.clear();
  }
}

/** An event a source processed that may stop the kernel. */
export interface SourceEvent {
  operation: 'alloc' | 'free';
  slot: number;
  tag: number;
  size: number;
  allocTime: number;
  time: number;
  /** The block stays allocated until the kernel resumes (classic pool free breaks). */
  deferredRelease: boolean;
  /** A free with this tag did not match the block's tag: BAD_POOL_CALLER. */
  mismatchedFreeTag?: number;
}

/** Where a source puts its blocks in the address space. */
export interface SourcePlacement {
  regionBase: bigint;
  stride: number;
  headerSize: number;
  /** Most blocks tracked one by one; beyond it leaked/population blocks are only counted. */
  trackCap: number;
}

/** What the kernel must decide about stops while a source runs. */
export interface StopRules {
  /** PoolHitTag value when it can fire (tagging on), else -1. */
  hit: number;
  /** Free breaks come after the block is released (segment heap) instead of before (classic). */
  freeBreakAfterRelease: boolean;
}

const noTag = -1;

/**
 * A free whose tag differs from the block's bug-checks (BAD_POOL_CALLER 0xA) when the block is
 * protected pool (tag bit 31, PROTECTED_POOL), as the WRK's ExFreePoolWithTag checks it; other
 * mismatches are recorded, not fatal.
 */
function isProtected(blockTag: number, freeTag: number): boolean {
  return ((blockTag | freeTag) & 0x80000000) !== 0;
}

// The PROTECTED_POOL bit is stripped before the PoolHitTag comparison.
function hitMatches(tag: number, hit: number): boolean {
  return hit >= 0 && (tag & 0x7fffffff) >>> 0 === hit;
}

/** Common surface of sites and background tags. */
export interface WorkloadSource {
  readonly id: string;
  readonly pool: PoolKind;
  readonly table: BlockTable;
  readonly placement: SourcePlacement;
  /** Time of the first event that would stop the kernel under these rules (Infinity: none). */
  nextStopTime(rules: StopRules): number;
  /** Process events before `until` (or at it too, when inclusive); returns at the first stop. */
  advance(until: number, inclusive: boolean, rules: StopRules): SourceEvent | undefined;
  /** Release a block whose free broke before release. */
  releaseDeferred(slot: number): void;
  /** Tracked outstanding blocks. */
  forEachOutstanding(visit: (slot: number) => void): void;
  /** Outstanding blocks counted but not tracked, by tag. */
  untracked(): Map<number, { count: number; bytes: number }>;
}

/** Allocations in batches: `batchMin`..`batchMax` every `everyMs` (exactly, or on average when `poisson`), spread evenly over `spreadMs`. */
export interface BurstSpec {
  everyMs: number;
  batchMin: number;
  batchMax: number;
  poisson: boolean;
  spreadMs: number;
}

/** A scenario allocation site: allocations at a rate, a leak fraction, lifetimes, a free site. */
export class SiteSource implements WorkloadSource {
  readonly table = new BlockTable();
  private readonly pending: FreeHeap;
  private readonly leaked = new SlotList();
  private readonly untrackedByTag = new Map<number, { count: number; bytes: number }>();
  private nextAlloc = Infinity;
  /** Tag read from the call site's code bytes (kept current by the kernel). */
  allocTag = 0;
  /** Tag of the free call site, or -1 when the site frees with ExFreePool (no tag check). */
  freeTag = noTag;
  /** The current batch of a burst arrival: its start, size and the index of the next allocation in it. */
  private batchStart = 0;
  private batchSize = 0;
  private batchIndex = 0;
  private readonly pendingTags: number[] = [];
  private readonly pendingCounts: number[] = [];
  private allocCounter: PoolCounter;
  private allocCounterTag = -1;
  /** Frees whose tag differed from an unprotected block's tag (no bugcheck; recorded). */
  readonly mismatches: { count: number; first?: { slotAddressIndex: number; blockTag: number; freeTag: number; timeMs: number } } = { count: 0 };

  constructor(
    readonly id: string,
    readonly pool: PoolKind,
    private readonly spec: { rate: number; leak: number; sizeMin: number; sizeMax: number; lifetimeMin: number; lifetimeMax: number; fixedArrival: boolean; burst?: BurstSpec },
    readonly placement: SourcePlacement,
    private readonly counters: CounterBook,
    private rng: Rng,
  ) {
    this.pending = new FreeHeap(this.table);
    this.allocCounter = counters.get(0, pool);
  }

  /** Start this source's workload at boot time 0 with a fresh random stream. */
  boot(rng: Rng): void {
    this.rng = rng;
    this.table.clear();
    this.pending.clear();
    this.leaked.clear();
    this.untrackedByTag.clear();
    this.pendingTags.length = 0;
    this.pendingCounts.length = 0;
    this.allocCounterTag = -1;
    this.mismatches.count = 0;
    delete this.mismatches.first;
    const burst = this.spec.burst;
    if (burst) {
      // The first batch: a timer's phase is uniform in its period; random batches wait an exponential time.
      this.batchStart = burst.poisson ? rng.exponential(1000 / burst.everyMs) * 1000 : burst.everyMs * rng.next();
      this.startBatch(burst);
      this.nextAlloc = this.batchStart;
    } else this.nextAlloc = this.interval() * (this.spec.fixedArrival ? rng.next() : 1);
  }

  // A new batch at batchStart: its size drawn now.
  private startBatch(burst: BurstSpec): void {
    this.batchSize = burst.batchMin === burst.batchMax ? burst.batchMin : this.rng.int(burst.batchMin, burst.batchMax);
    this.batchIndex = 0;
  }

  // Time of the allocation after one at `previous`: the next in its batch, or the next batch's first.
  // Batches never overlap: one that would start before the last one ended starts when it ends.
  private nextArrival(previous: number): number {
    const burst = this.spec.burst;
    if (!burst) return previous + this.interval();
    this.batchIndex++;
    if (this.batchIndex < this.batchSize) return this.batchStart + (this.batchIndex * burst.spreadMs) / this.batchSize;
    const gap = burst.poisson ? this.rng.exponential(1000 / burst.everyMs) * 1000 : burst.everyMs;
    this.batchStart = Math.max(this.batchStart + gap, previous);
    this.startBatch(burst);
    return this.batchStart;
  }

  // Time to the next allocation in ms.
  private interval(): number {
    const rate = this.spec.rate;
    if (rate <= 0) return Infinity;
    return this.spec.fixedArrival ? 1000 / rate : this.rng.exponential(rate) * 1000;
  }

  nextStopTime(rules: StopRules): number {
    // A new block that will not match its free site's tag (protected) must be watched from its allocation on.
    const fatalTag = this.freeTag !== noTag && this.allocTag !== this.freeTag && isProtected(this.allocTag, this.freeTag);
    let time = hitMatches(this.allocTag, rules.hit) || fatalTag ? this.nextAlloc : Infinity;
    if (this.pending.length === 0) return time;
    let liveTags = 0;
    let onlyTag = 0;
    for (let index = 0; index < this.pendingTags.length; index++) {
      if (this.pendingCounts[index]! > 0) {
        liveTags++;
        onlyTag = this.pendingTags[index]!;
      }
    }
    const stops = (tag: number): boolean => hitMatches(tag, rules.hit) || (this.freeTag !== noTag && tag !== this.freeTag && isProtected(tag, this.freeTag));
    if (liveTags === 1) return stops(onlyTag) ? Math.min(time, this.pending.peekTime()) : time;
    const items = this.pending.items;
    for (let index = 0; index < this.pending.length; index++) {
      const slot = items[index]!;
      if (stops(this.table.tag[slot]! >>> 0)) time = Math.min(time, this.table.freeTime[slot]!);
    }
    return time;
  }

  advance(until: number, inclusive: boolean, rules: StopRules): SourceEvent | undefined {
    const table = this.table;
    const pending = this.pending;
    const spec = this.spec;
    const rng = this.rng;
    for (;;) {
      const freeAt = pending.length === 0 ? Infinity : table.freeTime[pending.peek()]!;
      const allocAt = this.nextAlloc;
      const time = freeAt <= allocAt ? freeAt : allocAt;
      if (time === Infinity || time > until || (!inclusive && time === until)) return undefined;
      if (freeAt <= allocAt) {
        const slot = pending.pop();
        const tag = table.tag[slot]! >>> 0;
        const size = table.size[slot]!;
        if (this.freeTag !== noTag && tag !== this.freeTag) {
          if (isProtected(tag, this.freeTag)) {
            // The kernel bug-checks inside the free: the block stays where it was.
            pending.push(slot);
            return { operation: 'free', slot, tag, size, allocTime: table.allocTime[slot]!, time, deferredRelease: false, mismatchedFreeTag: this.freeTag };
          }
          this.mismatches.count++;
          this.mismatches.first ??= { slotAddressIndex: slot, blockTag: tag, freeTag: this.freeTag, timeMs: time };
        }
        this.countPending(tag, -1);
        const counter = tag === this.allocCounterTag ? this.allocCounter : this.counters.get(tag, this.pool);
        counter.frees++;
        counter.bytes -= size;
        if (hitMatches(tag, rules.hit)) {
          const deferredRelease = !rules.freeBreakAfterRelease;
          if (!deferredRelease) table.release(slot);
          return { operation: 'free', slot, tag, size, allocTime: table.allocTime[slot]!, time, deferredRelease };
        }
        table.release(slot);
        continue;
      }
      // An allocation: size, leak or lifetime, then the next arrival (fixed draw order).
      const tag = this.allocTag;
      if (tag !== this.allocCounterTag) {
        this.allocCounter = this.counters.get(tag, this.pool);
        this.allocCounterTag = tag;
      }
      const size = spec.sizeMin === spec.sizeMax ? spec.sizeMin : rng.int(spec.sizeMin, spec.sizeMax);
      const leaks = spec.leak >= 1 || (spec.leak > 0 && rng.next() < spec.leak);
      const lifetime = leaks ? 0 : spec.lifetimeMin === spec.lifetimeMax ? spec.lifetimeMin : spec.lifetimeMin + rng.next() * (spec.lifetimeMax - spec.lifetimeMin);
      this.nextAlloc = this.nextArrival(allocAt);
      const counter = this.allocCounter;
      counter.allocs++;
      counter.bytes += size;
      const hit = hitMatches(tag, rules.hit);
      if (leaks && !hit && this.leaked.length >= this.placement.trackCap) {
        let entry = this.untrackedByTag.get(tag);
        if (!entry) this.untrackedByTag.set(tag, (entry = { count: 0, bytes: 0 }));
        entry.count++;
        entry.bytes += size;
        continue;
      }
      const slot = table.take();
      table.size[slot] = size;
      table.tag[slot] = tag;
      table.allocTime[slot] = allocAt;
      if (leaks) {
        table.freeTime[slot] = Infinity;
        this.leaked.push(slot);
      } else {
        table.freeTime[slot] = allocAt + lifetime;
        pending.push(slot);
        this.countPending(tag, 1);
      }
      if (hit) return { operation: 'alloc', slot, tag, size, allocTime: allocAt, time: allocAt, deferredRelease: false };
    }
  }

  // Keep a tally of pending blocks per tag (a site rarely has more than two).
  private countPending(tag: number, delta: number): void {
    const index = this.pendingTags.indexOf(tag);
    if (index >= 0) this.pendingCounts[index]! += delta;
    else {
      this.pendingTags.push(tag);
      this.pendingCounts.push(delta);
    }
  }

  releaseDeferred(slot: number): void {
    this.table.release(slot);
  }

  forEachOutstanding(visit: (slot: number) => void): void {
    for (let index = 0; index < this.pending.length; index++) visit(this.pending.items[index]!);
    for (let index = 0; index < this.leaked.length; index++) visit(this.leaked.items[index]!);
  }

  untracked(): Map<number, { count: number; bytes: number }> {
    return this.untrackedByTag;
  }
}

/** A background tag: a population present from boot, churned (one freed, one allocated) at a rate. */
export class BackgroundSource implements WorkloadSource {
  readonly table = new BlockTable();
  private readonly population = new SlotList();
  private untrackedCount = 0;
  private untrackedBytes = 0;
  private nextChurn = Infinity;
  /** Size of the replacement still to allocate after a free that stopped the kernel, else -1. */
  private replacementSize = -1;
  private counter: PoolCounter;

  constructor(
    readonly id: string,
    readonly pool: PoolKind,
    readonly tag: number,
    private readonly spec: { bytes: number; allocs: number; rate: number; fixedArrival: boolean },
    readonly placement: SourcePlacement,
    counters: CounterBook,
    private rng: Rng,
  ) {
    this.counter = counters.get(tag, pool);
  }

  /** Allocate the steady population at boot time 0 and schedule churn. */
  boot(rng: Rng, counters: CounterBook): void {
    this.rng = rng;
    this.table.clear();
    this.population.clear();
    this.untrackedCount = 0;
    this.untrackedBytes = 0;
    this.replacementSize = -1;
    const counter = counters.get(this.tag, this.pool);
    this.counter = counter;
    const { allocs, bytes } = this.spec;
    const base = allocs > 0 ? Math.floor(bytes / allocs) : 0;
    const remainder = allocs > 0 ? bytes - base * allocs : 0;
    for (let index = 0; index < allocs; index++) {
      const size = base + (index < remainder ? 1 : 0);
      counter.allocs++;
      counter.bytes += size;
      if (index < this.placement.trackCap) {
        const slot = this.table.take();
        this.table.size[slot] = size;
        this.table.tag[slot] = this.tag;
        this.table.allocTime[slot] = 0;
        this.table.freeTime[slot] = Infinity;
        this.population.push(slot);
      } else {
        this.untrackedCount++;
        this.untrackedBytes += size;
      }
    }
    this.nextChurn = allocs > 0 ? this.interval() * (this.spec.fixedArrival ? rng.next() : 1) : Infinity;
  }

  // Time to the next churn in ms.
  private interval(): number {
    const rate = this.spec.rate;
    if (rate <= 0) return Infinity;
    return this.spec.fixedArrival ? 1000 / rate : this.rng.exponential(rate) * 1000;
  }

  nextStopTime(rules: StopRules): number {
    return hitMatches(this.tag, rules.hit) ? this.nextChurn : Infinity;
  }

  advance(until: number, inclusive: boolean, rules: StopRules): SourceEvent | undefined {
    const table = this.table;
    const counter = this.counter;
    const hit = hitMatches(this.tag, rules.hit);
    for (;;) {
      const time = this.nextChurn;
      if (time === Infinity || time > until || (!inclusive && time === until)) return undefined;
      if (this.replacementSize < 0) {
        const total = this.population.length + this.untrackedCount;
        const victim = this.rng.int(0, total - 1);
        let size: number;
        let slot = -1;
        let allocTime = 0;
        if (victim < this.population.length) {
          slot = this.population.removeAt(victim);
          size = table.size[slot]!;
          allocTime = table.allocTime[slot]!;
        } else {
          size = Math.round(this.untrackedBytes / this.untrackedCount);
          this.untrackedCount--;
          this.untrackedBytes -= size;
        }
        counter.frees++;
        counter.bytes -= size;
        this.replacementSize = size;
        if (hit) {
          const deferredRelease = slot >= 0 && !rules.freeBreakAfterRelease;
          if (slot >= 0 && !deferredRelease) table.release(slot);
          return { operation: 'free', slot, tag: this.tag, size, allocTime, time, deferredRelease };
        }
        if (slot >= 0) table.release(slot);
      }
      const size = this.replacementSize;
      this.replacementSize = -1;
      this.nextChurn = time + this.interval();
      counter.allocs++;
      counter.bytes += size;
      const slot = table.take();
      table.size[slot] = size;
      table.tag[slot] = this.tag;
      table.allocTime[slot] = time;
      table.freeTime[slot] = Infinity;
      this.population.push(slot);
      if (hit) return { operation: 'alloc', slot, tag: this.tag, size, allocTime: time, time, deferredRelease: false };
    }
  }

  releaseDeferred(slot: number): void {
    this.table.release(slot);
  }

  forEachOutstanding(visit: (slot: number) => void): void {
    for (let index = 0; index < this.population.length; index++) visit(this.population.items[index]!);
  }

  untracked(): Map<number, { count: number; bytes: number }> {
    return this.untrackedCount > 0 ? new Map([[this.tag, { count: this.untrackedCount, bytes: this.untrackedBytes }]]) : new Map();
  }
}
