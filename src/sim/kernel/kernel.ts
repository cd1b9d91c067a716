/**
 * The simulated Windows kernel: pool accounting, PoolHitTag, registry and NtGlobalFlag, images
 * with patchable code bytes, a target clock and a deterministic workload, behind `SimKernel`.
 */
import type {
  PatchedByte,
  PoolKind,
  SimAllocation,
  SimFrame,
  SimKernel,
  SimModule,
  SimStateJson,
  SimStop,
  TagCounters,
} from '../kernel-api.js';
import type { SimProfile } from '../profiles.js';
import { findProfile } from '../profiles.js';
import type { Scenario } from '../scenario.js';
import { siteLeak } from '../scenario.js';
import { createRng } from '../kernel-rng.js';
import { tagString, tagValue } from './code.js';
import { findImage, symbolAt, toSimModule } from './image.js';
import type { ModuleImage } from './image.js';
import { addressLayout } from './layout.js';
import type { AddressLayout } from './layout.js';
import { defaultPoolHitTag, planKernel } from './plan.js';
import type { FrameTemplate, KernelPlan, SourcePlan } from './plan.js';
import { BackgroundSource, CounterBook, SiteSource } from './workload.js';
import type { SourceEvent, StopRules, WorkloadSource } from './workload.js';

/** FLG_POOL_ENABLE_TAGGING: pool tagging at the next boot on 2000/XP. */
export const poolTaggingFlag = 0x400;
/** BAD_POOL_CALLER. */
export const badPoolCaller = 0xc2;
/** Most blocks tracked one by one per source (leaked blocks of a site, population of a tag). */
export const defaultTrackCap = 50_000;

/** Options of createKernel. */
export interface KernelOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Most individually tracked blocks per source (default 50,000). */
  trackCap?: number;
}

interface HitState {
  operation: 'alloc' | 'free';
  sourceIndex: number;
  event: SourceEvent;
  allocation: SimAllocation;
  frames: SimFrame[];
  /** Frames stepped out of with `gu`. */
  depth: number;
  returnValue: bigint;
  released: boolean;
}

/** The in-memory kernel model; create it with createKernel. */
export class SimulatedKernel implements SimKernel {
  readonly profile: SimProfile;
  private readonly scenario: Scenario;
  private readonly seed: number;
  private readonly layout: AddressLayout;
  private readonly plan: KernelPlan;
  private readonly images: ModuleImage[];
  private readonly simModules: SimModule[];
  private readonly sources: (SiteSource | BackgroundSource)[];
  private readonly counters = new CounterBook();
  private registryFlag: number;
  private boots = 0;
  private bootEpoch: number;
  private timeMs = 0;
  private tagging = false;
  private hitTag = defaultPoolHitTag;
  private hit: HitState | undefined;
  private crash: Extract<SimStop, { kind: 'bugcheck' }> | undefined;

  constructor(scenario: Scenario, options: KernelOptions = {}) {
    const profile = findProfile(scenario.profile);
    if (!profile) throw new Error(`Unknown simulator profile "${scenario.profile}"`);
    this.profile = profile;
    this.scenario = scenario;
    this.seed = (options.seed ?? scenario.seed) >>> 0;
    this.registryFlag = scenario.registry.globalFlag >>> 0;
    this.layout = addressLayout(profile);
    this.plan = planKernel(scenario, profile, this.layout);
    this.images = this.plan.images;
    this.simModules = this.images.map(toSimModule);
    this.bootEpoch = firstBootEpoch(profile);
    const trackCap = options.trackCap ?? defaultTrackCap;
    const perPool: Record<PoolKind, number> = { paged: 0, nonpaged: 0 };
    const fixedArrival = scenario.arrival === 'fixed';
    const rng = createRng(this.seed);
    const sites = scenario.modules.flatMap((module) => module.sites);
    this.sources = this.plan.sources.map((plan, index) => {
      const indexInPool = perPool[plan.pool]++;
      const maxSize = plan.kind === 'site' ? sites.find((site) => site.id === plan.id)!.size.max : backgroundOf(scenario, plan).maxSize;
      const stride = Math.max(16, Math.ceil(Math.min(maxSize + this.layout.poolHeaderSize, 0x1000) / 16) * 16);
      const span = this.layout.sourceSpan;
      const placement = {
        regionBase: this.layout.poolBase[plan.pool] + BigInt(indexInPool) * span,
        stride,
        headerSize: this.layout.poolHeaderSize,
        trackCap: Math.max(1, Math.min(trackCap, Number(span / BigInt(stride)) - 1024)),
      };
      if (plan.kind === 'site') {
        const site = sites.find((candidate) => candidate.id === plan.id)!;
        const arrival = site.arrival ?? scenario.arrival;
        return new SiteSource(
          plan.id,
          plan.pool,
          {
            rate: site.rate,
            leak: siteLeak(site, this.profile),
            sizeMin: site.size.min,
            sizeMax: site.size.max,
            lifetimeMin: site.lifetimeMs.min,
            lifetimeMax: site.lifetimeMs.max,
            fixedArrival: arrival === 'fixed',
            ...(typeof arrival === 'object' && {
              burst: { everyMs: arrival.everyMs, batchMin: arrival.batch.min, batchMax: arrival.batch.max, poisson: arrival.timing === 'poisson', spreadMs: arrival.spreadMs },
            }),
          },
          placement,
          this.counters,
          rng.fork(`source:${index}`),
        );
      }
      const entry = backgroundOf(scenario, plan).entry;
      return new BackgroundSource(plan.id, plan.pool, tagValue(entry.tag), { bytes: entry.bytes, allocs: entry.allocs, rate: entry.rate, fixedArrival }, placement, this.counters, rng.fork(`source:${index}`));
    });
    this.boot();
    if (scenario.preloadMs > 0) this.run(scenario.preloadMs);
  }

  now(): number {
    return this.timeMs;
  }

  bootTimeEpochMs(): number {
    return this.bootEpoch;
  }

  bootCount(): number {
    return this.boots;
  }

  taggingEnabled(): boolean {
    return this.tagging;
  }

  registryGlobalFlag(): number {
    return this.registryFlag;
  }

  setRegistryGlobalFlag(value: number): void {
    this.registryFlag = value >>> 0;
  }

  ntGlobalFlag(): number {
    return readUint32(this.readMemory(this.plan.ntGlobalFlagAddress, 4)!);
  }

  modules(): readonly SimModule[] {
    return this.simModules;
  }

  resolveSymbol(expression: string): bigint | undefined {
    const text = expression.trim().toLowerCase();
    const bang = text.indexOf('!');
    if (bang < 0) {
      const image = this.images.find((candidate) => candidate.name.toLowerCase() === text);
      if (image) return image.base;
      for (const candidate of this.images) {
        const symbol = candidate.symbols.find((entry) => entry.name.toLowerCase() === text);
        if (symbol) return candidate.base + BigInt(symbol.offset);
      }
      return undefined;
    }
    const image = this.images.find((candidate) => candidate.name.toLowerCase() === text.slice(0, bang));
    const name = text.slice(bang + 1);
    const symbol = image?.symbols.find((entry) => entry.name.toLowerCase() === name);
    if (image && !symbol && image.name.toLowerCase() === 'nt' && name === 'dbgbreakpointwithstatus') {
      // The function whose int 3 (its RtlpBreakWithStatusInstruction label) a Ctrl+C break-in
      // stops at: one address on x64; on x86 the label follows `mov eax,[esp+4]` (4 bytes).
      const label = this.resolveSymbol('nt!RtlpBreakWithStatusInstruction');
      return label === undefined ? undefined : this.profile.pointerSize === 4 ? label - 4n : label;
    }
    return image && symbol ? image.base + BigInt(symbol.offset) : undefined;
  }

  symbolize(address: bigint): { module: string; function?: string; offset: number } | undefined {
    const image = findImage(this.images, address);
    if (!image) return undefined;
    const offset = Number(address - image.base);
    const symbol = symbolAt(image, offset);
    return symbol ? { module: image.name, function: symbol.name, offset: offset - symbol.offset } : { module: image.name, offset };
  }

  readMemory(address: bigint, length: number): Uint8Array | undefined {
    if (length < 0) return undefined;
    const image = findImage(this.images, address);
    if (image) {
      const offset = Number(address - image.base);
      if (offset + length > image.size) return undefined;
      const out = new Uint8Array(length);
      const available = Math.max(0, Math.min(length, image.current.length - offset));
      out.set(image.current.subarray(offset, offset + available));
      return out;
    }
    return this.readPool(address, length);
  }

  writeMemory(address: bigint, bytes: Uint8Array): boolean {
    const image = findImage(this.images, address);
    if (!image) return false;
    const offset = Number(address - image.base);
    if (offset + bytes.length > image.current.length) return false;
    image.current.set(bytes, offset);
    const end = address + BigInt(bytes.length);
    const overlaps = (start: bigint | undefined): boolean => start !== undefined && start < end && start + 4n > address;
    if (overlaps(this.plan.poolHitTagAddress)) this.hitTag = readUint32(this.readMemory(this.plan.poolHitTagAddress, 4)!);
    this.plan.sources.forEach((plan, index) => {
      if (overlaps(plan.allocTagAddress) || overlaps(plan.freeTagAddress)) this.refreshSiteTags(index);
    });
    return true;
  }

  poolHitTag(): number {
    return this.hitTag;
  }

  tagCounters(): TagCounters[] {
    return this.tagging ? this.allCounters() : [];
  }

  outstanding(tag?: string): Iterable<SimAllocation> {
    const wanted = tag === undefined ? undefined : tagValue(tag.padEnd(4, ' '));
    const out: SimAllocation[] = [];
    this.sources.forEach((source, index) => {
      const table = source.table;
      source.forEachOutstanding((slot) => {
        if (wanted === undefined || table.tag[slot]! >>> 0 === wanted) out.push(this.allocationOf(index, slot));
      });
      const pending = this.hit;
      if (pending && pending.sourceIndex === index && !pending.released && pending.event.deferredRelease) {
        if (wanted === undefined || pending.event.tag === wanted) out.push(pending.allocation);
      }
    });
    return out;
  }

  untrackedOutstanding(tag?: string): { count: number; bytes: number } {
    const wanted = tag === undefined ? undefined : tagValue(tag.padEnd(4, ' '));
    const total = { count: 0, bytes: 0 };
    for (const source of this.sources) {
      for (const [entryTag, entry] of source.untracked()) {
        if (wanted !== undefined && entryTag !== wanted) continue;
        total.count += entry.count;
        total.bytes += entry.bytes;
      }
    }
    return total;
  }

  run(maxMs: number): SimStop {
    if (this.crash) return this.crash;
    this.resume();
    const end = this.timeMs + Math.max(0, maxMs);
    const rules: StopRules = { hit: this.tagging ? this.hitTag : -1, freeBreakAfterRelease: this.profile.allocator === 'segment-heap' };
    for (;;) {
      let stopTime = Infinity;
      let who = -1;
      for (let index = 0; index < this.sources.length; index++) {
        const time = this.sources[index]!.nextStopTime(rules);
        if (time < stopTime) {
          stopTime = time;
          who = index;
        }
      }
      if (stopTime >= end) {
        if (!Number.isFinite(end)) return { kind: 'timeout' };
        for (let index = 0; index < this.sources.length; index++) {
          const stray = this.sources[index]!.advance(end, false, rules);
          if (stray) {
            this.timeMs = Math.max(this.timeMs, stray.time);
            return this.stopOn(index, stray);
          }
        }
        this.timeMs = end;
        return { kind: 'timeout' };
      }
      for (let index = 0; index < this.sources.length; index++) {
        if (index === who) continue;
        // By construction no other source stops before stopTime; should one, it still stops the kernel.
        const stray = this.sources[index]!.advance(stopTime, false, rules);
        if (stray) {
          this.timeMs = Math.max(this.timeMs, stray.time);
          return this.stopOn(index, stray);
        }
      }
      const event = this.sources[who]!.advance(stopTime, true, rules);
      this.timeMs = Math.max(this.timeMs, stopTime);
      if (!event) continue;
      return this.stopOn(who, event);
    }
  }

  currentStop(): Extract<SimStop, { kind: 'pool-hit' }> | undefined {
    const hit = this.hit;
    if (!hit) return undefined;
    return { kind: 'pool-hit', operation: hit.operation, allocation: hit.allocation, stack: hit.frames.slice(hit.depth) };
  }

  bugcheck(): Extract<SimStop, { kind: 'bugcheck' }> | undefined {
    return this.crash;
  }

  registers(): Record<string, bigint> {
    const x86 = this.profile.arch === 'x86';
    const hit = this.hit;
    const frames = this.crash?.stack ?? hit?.frames.slice(hit.depth);
    const top = frames?.[0];
    const pc = top?.address ?? this.plan.breakInAddress;
    const sp = top?.stackPointer ?? this.layout.stackTop - 0x100n;
    const result = hit ? hit.returnValue : 0n;
    if (x86) {
      return {
        eax: result, ebx: 0n, ecx: hit ? BigInt(hit.event.size) : 0n, edx: hit ? BigInt(hit.event.tag) : 0n,
        esi: hit ? hit.allocation.address : 0n, edi: 0n, eip: pc, esp: sp - 0x10n, ebp: sp,
        efl: 0x246n, cs: 0x8n, ss: 0x10n, ds: 0x23n, es: 0x23n, fs: 0x30n, gs: 0n,
      };
    }
    const args = top?.args ?? [];
    return {
      rax: result, rbx: hit ? hit.allocation.address : 0n, rcx: args[0] ?? 0n, rdx: args[1] ?? 0n, rsi: 0n, rdi: 0n,
      rip: pc, rsp: sp, rbp: sp + 0x80n, r8: args[2] ?? 0n, r9: 0n, r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n, r15: 0n,
      efl: 0x246n, cs: 0x10n, ss: 0x18n, ds: 0x2bn, es: 0x2bn, fs: 0x53n, gs: 0x2bn,
    };
  }

  stepOut(): void {
    const hit = this.hit;
    if (!hit || hit.depth >= hit.frames.length - 1) return;
    const leaving = hit.frames[hit.depth]!;
    const leavingAllocator = leaving.module === 'nt' && isAllocatorFunction(leaving.function);
    hit.depth++;
    if (hit.operation === 'alloc' && leavingAllocator) hit.returnValue = hit.allocation.address;
    if (hit.operation === 'free' && leaving.function === 'ExFreePoolWithTag') this.releaseHitBlock(hit);
  }

  reboot(): void {
    this.resume();
    this.bootEpoch += this.timeMs + 90_000;
    this.boots++;
    this.boot();
  }

  patchedBytes(): PatchedByte[] {
    const out: PatchedByte[] = [];
    for (const image of this.images) {
      for (let offset = 0; offset < image.dataStart; offset++) {
        const original = image.original[offset]!;
        const current = image.current[offset]!;
        if (original !== current) out.push({ address: image.base + BigInt(offset), original, current });
      }
    }
    return out;
  }

  state(halted: boolean): SimStateJson {
    const outstandingBySite: Record<string, { count: number; bytes: number }> = {};
    this.sources.forEach((source, index) => {
      const entry = { count: 0, bytes: 0 };
      source.forEachOutstanding((slot) => {
        entry.count++;
        entry.bytes += source.table.size[slot]!;
      });
      for (const untracked of source.untracked().values()) {
        entry.count += untracked.count;
        entry.bytes += untracked.bytes;
      }
      outstandingBySite[this.plan.sources[index]!.id] = entry;
    });
    const state: SimStateJson = {
      profile: this.profile.id,
      timeMs: this.timeMs,
      bootCount: this.boots,
      poolHitTag: this.hitTag,
      patchedBytes: this.patchedBytes().map((patch) => ({ address: '0x' + patch.address.toString(16), original: patch.original, current: patch.current })),
      halted: halted || this.crash !== undefined,
      taggingEnabled: this.tagging,
      registryGlobalFlag: this.registryFlag,
      ntGlobalFlag: this.ntGlobalFlag(),
      tags: this.allCounters(),
      outstandingBySite,
    };
    let mismatchCount = 0;
    this.sources.forEach((source, index) => {
      if (!(source instanceof SiteSource) || source.mismatches.count === 0) return;
      mismatchCount += source.mismatches.count;
      const first = source.mismatches.first!;
      if (!state.freeTagMismatches) {
        state.freeTagMismatches = {
          count: 0,
          first: {
            site: this.plan.sources[index]!.id,
            address: '0x' + this.blockAddress(source, first.slotAddressIndex).toString(16),
            blockTag: tagString(first.blockTag),
            freeTag: tagString(first.freeTag),
            timeMs: first.timeMs,
          },
        };
      }
    });
    if (state.freeTagMismatches) state.freeTagMismatches.count = mismatchCount;
    if (this.crash) state.bugcheck = { code: this.crash.code, parameters: this.crash.parameters.map((value) => '0x' + value.toString(16)) };
    return state;
  }

  // A fresh boot: memory from the image, registry read, workload from time 0.
  private boot(): void {
    for (const image of this.images) image.current.set(image.original);
    this.tagging = this.profile.taggingAlwaysOn || (this.registryFlag & poolTaggingFlag) !== 0;
    this.writeMemory(this.plan.ntGlobalFlagAddress, uint32Bytes(this.registryFlag));
    this.hitTag = defaultPoolHitTag;
    this.counters.clear();
    this.timeMs = 0;
    this.hit = undefined;
    this.crash = undefined;
    const root = createRng(this.seed);
    this.sources.forEach((source, index) => {
      const rng = root.fork(`boot:${this.boots}:source:${index}`);
      if (source instanceof SiteSource) {
        this.refreshSiteTags(index);
        source.boot(rng);
      } else source.boot(rng, this.counters);
    });
  }

  // Read the site's alloc and free tag immediates from the (possibly patched) code bytes.
  private refreshSiteTags(index: number): void {
    const source = this.sources[index];
    const plan = this.plan.sources[index]!;
    if (!(source instanceof SiteSource)) return;
    // A tag no code byte holds (a caller loads it from a structure) is the scenario's.
    let allocTag = plan.allocTagAddress === undefined ? tagValue(plan.tag) : readUint32(this.readMemory(plan.allocTagAddress, 4)!);
    // The segment heap maps tag 0 to 'Bad0' (windows-versions.md §3.2).
    if (allocTag === 0 && this.profile.allocator === 'segment-heap') allocTag = tagValue('Bad0');
    source.allocTag = allocTag;
    if (plan.freeTagAddress !== undefined) {
      const freeTag = readUint32(this.readMemory(plan.freeTagAddress, 4)!);
      source.freeTag = freeTag === 0 ? -1 : freeTag;
    }
  }

  // Leave a break: a block whose free broke before release is released now.
  private resume(): void {
    if (this.hit) this.releaseHitBlock(this.hit);
    this.hit = undefined;
  }

  // Release the block of a classic free break once (at `gu` out of the free or at `g`).
  private releaseHitBlock(hit: HitState): void {
    if (hit.released) return;
    hit.released = true;
    if (hit.event.deferredRelease && hit.event.slot >= 0) this.sources[hit.sourceIndex]!.releaseDeferred(hit.event.slot);
  }

  // Turn a source event into a pool-hit or bugcheck stop with its stack.
  private stopOn(sourceIndex: number, event: SourceEvent): SimStop {
    const plan = this.plan.sources[sourceIndex]!;
    const allocation = event.slot >= 0 ? this.allocationOf(sourceIndex, event.slot, event) : this.syntheticAllocation(sourceIndex, event);
    if (event.mismatchedFreeTag !== undefined && plan.bugcheckStack) {
      const parameters: [bigint, bigint, bigint, bigint] = [0xan, allocation.address, BigInt(event.tag), BigInt(event.mismatchedFreeTag)];
      this.crash = { kind: 'bugcheck', code: badPoolCaller, parameters, stack: this.framesOf(sourceIndex, plan.bugcheckStack, event, allocation.address) };
      return this.crash;
    }
    const templates = event.operation === 'alloc' ? plan.allocStack : plan.freeStack;
    const frames = this.framesOf(sourceIndex, templates, event, allocation.address);
    const segmentHeapAlloc = event.operation === 'alloc' && this.profile.allocator === 'segment-heap';
    this.hit = {
      operation: event.operation,
      sourceIndex,
      event,
      allocation,
      frames,
      depth: 0,
      returnValue: segmentHeapAlloc ? allocation.address : 0n,
      released: !event.deferredRelease,
    };
    return { kind: 'pool-hit', operation: event.operation, allocation, stack: frames };
  }

  // Frames of a stack template for one event: addresses fixed, stack pointers and args per event.
  private framesOf(sourceIndex: number, templates: readonly FrameTemplate[], event: SourceEvent, address: bigint): SimFrame[] {
    const x86 = this.profile.arch === 'x86';
    const stackTop = this.layout.stackTop - BigInt(sourceIndex) * 0x6000n;
    const total = templates.reduce((sum, frame) => sum + frame.frameSize, 0);
    let stackPointer = stackTop - BigInt(total);
    const poolArgument = BigInt(this.plan.poolArgument[this.plan.sources[sourceIndex]!.pool]);
    const tag = BigInt(event.tag);
    const size = BigInt(event.size);
    return templates.map((frame) => {
      let args: bigint[];
      switch (frame.args) {
        case 'alloc-entry':
          args = [poolArgument, size, tag, 0n];
          break;
        case 'alloc-tracker':
        case 'free-tracker':
          args = [tag, size, poolArgument, 0n];
          break;
        case 'free-entry':
          args = [address, tag, 0n, 0n];
          break;
        case 'bugcheck':
          args = [BigInt(badPoolCaller), 0xan, address, tag];
          break;
        default:
          args = [0, 1, 2, 3].map((index) => this.syntheticArgument(frame, sourceIndex, index));
      }
      const result: SimFrame = {
        module: frame.module,
        function: frame.function,
        offset: frame.offset,
        address: frame.address,
        stackPointer,
        args: x86 ? args.slice(0, 3) : args,
      };
      stackPointer += BigInt(frame.frameSize);
      return result;
    });
  }

  // A stable pointer-like or small value for a frame's argument column.
  private syntheticArgument(frame: FrameTemplate, sourceIndex: number, index: number): bigint {
    const seed = (Number(frame.address & 0xffffffn) * 31 + sourceIndex * 7 + index * 0x9e37) >>> 0;
    if (index === 2) return BigInt(seed % 3);
    const base = this.layout.poolBase.nonpaged;
    return base + BigInt((seed * 0x10) & 0x0fffff0);
  }

  // The SimAllocation of a tracked block.
  private allocationOf(sourceIndex: number, slot: number, event?: SourceEvent): SimAllocation {
    const source = this.sources[sourceIndex]!;
    const plan = this.plan.sources[sourceIndex]!;
    const table = source.table;
    const tag = event ? event.tag : table.tag[slot]! >>> 0;
    const allocation: SimAllocation = {
      address: this.blockAddress(source, slot),
      size: event ? event.size : table.size[slot]!,
      tag: tagString(tag),
      pool: plan.pool,
      timeMs: event ? event.allocTime : table.allocTime[slot]!,
    };
    if (plan.kind === 'site') allocation.site = plan.id;
    return allocation;
  }

  // A block counted but not tracked (a population beyond the cap) still needs an address at a break.
  private syntheticAllocation(sourceIndex: number, event: SourceEvent): SimAllocation {
    const source = this.sources[sourceIndex]!;
    const plan = this.plan.sources[sourceIndex]!;
    const slot = source.placement.trackCap + (Math.floor(event.time) % 1024);
    const allocation: SimAllocation = { address: this.blockAddress(source, slot), size: event.size, tag: tagString(event.tag), pool: plan.pool, timeMs: event.allocTime };
    if (plan.kind === 'site') allocation.site = plan.id;
    return allocation;
  }

  // Address of a slot: its source's region, the slot's stride, after the pool header.
  private blockAddress(source: WorkloadSource, slot: number): bigint {
    const { regionBase, stride, headerSize } = source.placement;
    return regionBase + BigInt(slot) * BigInt(stride) + BigInt(headerSize);
  }

  // Pool memory: a live block's header (tag at +4) and zeroed body; anything else is unmapped.
  private readPool(address: bigint, length: number): Uint8Array | undefined {
    const out = new Uint8Array(length);
    for (let index = 0; index < length; index++) {
      const byte = this.poolByte(address + BigInt(index));
      if (byte === undefined) return undefined;
      out[index] = byte;
    }
    return out;
  }

  // One byte of pool memory, or undefined where no live block is.
  private poolByte(address: bigint): number | undefined {
    for (const source of this.sources) {
      const { regionBase, stride, headerSize } = source.placement;
      if (address < regionBase) continue;
      const offset = address - regionBase;
      const slot = Number(offset / BigInt(stride));
      if (slot >= source.table.highWater) continue;
      const hit = this.hit;
      const heldByBreak = hit !== undefined && !hit.released && this.sources[hit.sourceIndex] === source && hit.event.slot === slot;
      if (!source.table.alive[slot] && !heldByBreak) continue;
      const within = Number(offset - BigInt(slot) * BigInt(stride));
      const size = source.table.size[slot]!;
      if (within >= headerSize + size) continue;
      if (within >= headerSize) return 0;
      const blockUnits = Math.ceil((size + headerSize) / (headerSize === 8 ? 8 : 16));
      const tag = source.table.tag[slot]! >>> 0;
      const header = headerSize === 8
        ? [0, 0, blockUnits & 0xff, source.pool === 'paged' ? 1 : 0, ...uint32Bytes(tag)]
        : [0, 0, blockUnits & 0xff, source.pool === 'paged' ? 1 : 0, ...uint32Bytes(tag), 0, 0, 0, 0, 0, 0, 0, 0];
      return header[within];
    }
    return undefined;
  }

  // Every tag's counters, tags sorted.
  private allCounters(): TagCounters[] {
    const out: TagCounters[] = [];
    for (const [tag, entry] of this.counters.entries()) {
      if (entry.paged.allocs === 0 && entry.nonpaged.allocs === 0) continue;
      out.push({ tag: tagString(tag), paged: { ...entry.paged }, nonpaged: { ...entry.nonpaged } });
    }
    return out.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  }
}

// Allocator-level functions whose return hands the block address back.
function isAllocatorFunction(name: string | undefined): boolean {
  return name === 'ExAllocatePoolWithTag' || name === 'ExAllocatePool2' || name === 'ExAllocateHeapPool';
}

// The background entry of a plan and the largest block size it holds.
function backgroundOf(scenario: Scenario, plan: SourcePlan): { entry: Scenario['background'][number]; maxSize: number } {
  const index = Number(plan.id.split(':')[1]);
  const entry = scenario.background[index]!;
  return { entry, maxSize: entry.allocs > 0 ? Math.ceil(entry.bytes / entry.allocs) : 16 };
}

// A plausible first boot: 200 days after the build lab date (yymmdd-hhmm), at 09:30 UTC.
function firstBootEpoch(profile: SimProfile): number {
  const match = /(\d{2})(\d{2})(\d{2})-\d{4}$/.exec(profile.buildLab);
  const built = match ? Date.UTC(2000 + Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Date.UTC(2020, 0, 1);
  return built + 200 * 86_400_000 + 9.5 * 3_600_000;
}

// Little-endian 32-bit value of 4 bytes.
function readUint32(bytes: Uint8Array): number {
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

// Little-endian bytes of a 32-bit value.
function uint32Bytes(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}
