/**
 * Stacks captured at PoolHitTag breaks (stacks.jsonl, or the breaks of a saved kd log):
 * frames parsed, each stack classified as an allocation or a free by its allocator frames,
 * allocations paired with frees by address, and what stays outstanding aggregated by call
 * site into UMDH-style call trees. Reading is tolerant: stacks.jsonl is written by another
 * part of the program and may grow fields; a line that cannot be used is counted, not fatal.
 */
import { existsSync } from 'node:fs';
import { normalizeAddress, padTag } from '../kd/common.js';
import { forEachLine } from './lines.js';
import type { PoolName } from './model.js';

/** One stack frame, `module!function+0xoffset` split into its parts. */
export interface Frame {
  /** The frame as shown, without kd's `(FPO: …)`, `(CONV: …)` and `[file @ line]` suffixes. */
  text: string;
  module?: string;
  function?: string;
  offset: number;
}

/** One PoolHitTag break as the renderers use it. */
export interface StackRecord {
  kind: 'alloc' | 'free' | 'unknown';
  tag?: string;
  pool?: PoolName;
  /** Innermost first. */
  frames: Frame[];
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

/** Allocations and frees attributed to one call site of one tag. */
export interface AggregatedSite {
  tag: string;
  site: Frame;
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

const kernelModule = /^(?:nt|ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp|hal)$/i;
// Pool allocator entry points and their internals, classic and segment heap, verifier wrappers included.
const allocatorFunction = /(?:Allocate|Alloc|Free)\w*(?:Pool|Heap)|^Rtlp?Hp|^ExpHp|^ExpPool|^Exp?(?:Allocate|Free)Pool\d?$/;

/** Parse `Sample!DriverEntry+0x27 (FPO: [Non-Fpo]) [J:\x.cpp @ 16]`, `AsusPTPFilter+0x11efb` or `0xd`. */
export function parseFrame(raw: string): Frame {
  const text = raw
    .trim()
    .replace(/\s+\[[^\]]*@\s*\d+\]\s*$/, '')
    .replace(/(?:\s+\((?:FPO|CONV|Inline|Trap|TrapFrame)[^)]*\))+\s*$/i, '')
    .trim();
  const symbol = /^([^!\s]+)!(.+?)(?:\+0x([0-9a-f]+))?$/i.exec(text);
  if (symbol) return { text, module: symbol[1], function: symbol[2], offset: symbol[3] ? parseInt(symbol[3], 16) : 0 };
  const moduleOnly = /^([A-Za-z_][\w.-]*)\+0x([0-9a-f]+)$/i.exec(text);
  if (moduleOnly && !/^0x/i.test(text)) return { text, module: moduleOnly[1], offset: parseInt(moduleOnly[2]!, 16) };
  return { text, offset: 0 };
}

// Frames kd may show above the allocator at a break: break stubs and the pool tracker.
const breakHelper = /^(?:DbgBreakPoint\w*|RtlpBreakWithStatusInstruction|Exp(?:Insert|Remove)PoolTracker\w*)$/;

// Is this a break stub or tracker frame that sits above the allocator?
function isHelperFrame(frame: Frame): boolean {
  return Boolean(frame.module && frame.function && kernelModule.test(frame.module) && breakHelper.test(frame.function));
}

/** Is this frame inside the kernel's pool allocator (ExAllocatePoolWithTag, ExFreeHeapPool, verifier wrappers…)? */
export function isAllocatorFrame(frame: Frame): boolean {
  return Boolean(frame.module && frame.function && kernelModule.test(frame.module) && allocatorFunction.test(frame.function));
}

/** Alloc or free from the innermost allocator frame; `unknown` when no frame is the allocator's. */
export function classifyStack(frames: readonly Frame[]): 'alloc' | 'free' | 'unknown' {
  const allocator = frames.find((frame) => isAllocatorFrame(frame) && !isHelperFrame(frame));
  if (!allocator) return 'unknown';
  return /Free/.test(allocator.function!) ? 'free' : 'alloc';
}

/** The call site: the first frame outside the allocator, after break stubs and allocator frames at the top. */
export function callSiteIndex(frames: readonly Frame[]): number {
  let index = 0;
  while (index < frames.length && (isAllocatorFrame(frames[index]!) || isHelperFrame(frames[index]!))) index++;
  return index < frames.length ? index : -1;
}

// A frame from whatever stacks.jsonl holds: a string, or an object naming the call site.
function frameFromRaw(raw: unknown): Frame | undefined {
  if (typeof raw === 'string') return raw.trim() ? parseFrame(raw) : undefined;
  if (!raw || typeof raw !== 'object') return undefined;
  const value = raw as Record<string, unknown>;
  for (const key of ['frame', 'text', 'callSite', 'symbol', 'call', 'name']) {
    if (typeof value[key] === 'string' && (value[key] as string).trim()) return parseFrame(value[key] as string);
  }
  if (typeof value.module === 'string') {
    const offset = typeof value.offset === 'number' ? value.offset : typeof value.offset === 'string' ? parseInt(value.offset.replace(/^0x/i, ''), 16) || 0 : 0;
    const text = `${value.module}${typeof value.function === 'string' ? `!${value.function}` : ''}${offset ? `+0x${offset.toString(16)}` : ''}`;
    return parseFrame(text);
  }
  return undefined;
}

// A number from a JSON number or a hex/decimal string (`0x70`, `70` as hex only when prefixed).
function numberFromRaw(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string' && raw.trim()) {
    const text = raw.trim().replace(/`/g, '');
    const value = /^0x/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

/**
 * Turn one stacks.jsonl value into a StackRecord, accepting the field names a collector is
 * likely to use (`frames`/`stack`, `kind`/`op`, `address`/`block`, `size`/`bytes`, …).
 * Returns a reason string when the value holds no stack.
 */
export function normalizeStackRecord(raw: unknown): StackRecord | string {
  return normalizeWith(raw, frameFromRaw);
}

// normalizeStackRecord with a chosen way of turning each raw frame into a Frame (the reader memoises).
function normalizeWith(raw: unknown, frameOf: (raw: unknown) => Frame | undefined): StackRecord | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const value = raw as Record<string, unknown>;
  // Each field below takes the first of its names that is present (neither undefined nor null).
  let rawFrames = value.frames ?? value.stack ?? value.callStack ?? value.backtrace;
  if (rawFrames && typeof rawFrames === 'object' && !Array.isArray(rawFrames)) rawFrames = (rawFrames as Record<string, unknown>).frames;
  if (!Array.isArray(rawFrames)) return 'no frames';
  return recordFrom(value, framesFrom(rawFrames, frameOf), classifyStack);
}

// The usable frames of a raw frames array.
function framesFrom(rawFrames: readonly unknown[], frameOf: (raw: unknown) => Frame | undefined): Frame[] {
  const frames: Frame[] = [];
  for (const raw of rawFrames) {
    const frame = frameOf(raw);
    if (frame !== undefined) frames.push(frame);
  }
  return frames;
}

// Everything of a record but its frames, read from the value's other fields.
function recordFrom(value: Record<string, unknown>, frames: Frame[], classify: (frames: Frame[]) => StackRecord['kind']): StackRecord | string {
  if (frames.length === 0) return 'no frames';
  const rawKind = String(value.kind ?? value.type ?? value.op ?? value.operation ?? value.event ?? '').toLowerCase();
  const kind = rawKind.startsWith('alloc') ? 'alloc' : rawKind.startsWith('free') ? 'free' : rawKind && rawKind !== 'unknown' ? 'unknown' : classify(frames);

  const record: StackRecord = { kind, frames };
  const tag = value.tag ?? value.poolTag;
  if (typeof tag === 'string' && tag.length > 0) record.tag = padTag(tag);
  const pool = value.pool ?? value.poolType;
  if (pool === 'paged' || pool === 'nonpaged') record.pool = pool;
  const address = value.address ?? value.block ?? value.pointer ?? value.va;
  if (typeof address === 'string') {
    const normal = addressFrom(address);
    if (normal !== undefined) record.address = normal;
  } else if (typeof address === 'number') record.address = address.toString(16);
  const size = numberFromRaw(value.size ?? value.bytes ?? value.numberOfBytes ?? value.length);
  if (size !== undefined && size >= 0) record.size = size;
  const at = value.atMs ?? value.elapsedMs ?? value.timeMs ?? value.t;
  if (typeof at === 'number') record.atMs = at;
  else {
    const timestamp = value.timestamp ?? value.time ?? value.at;
    if (typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp))) record.atMs = Date.parse(timestamp);
  }
  return record;
}

// A block address as lowercase hex without `0x`, backticks or leading zeros; undefined when the text is not one.
function addressFrom(text: string): string | undefined {
  // Collectors write plain lowercase hex without leading zeros: that is already the answer.
  if (text.length > 0 && text.charCodeAt(0) !== 0x30 && isLowerHex(text)) return text;
  if (!/^(?:0x)?[0-9a-f`]+$/i.test(text.trim())) return undefined;
  return normalizeAddress(text).replace(/^0+(?=.)/, '');
}

// Only 0-9 and a-f?
function isLowerHex(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}

interface SiteAccumulator {
  tag: string;
  site: Frame;
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
  /** Interned caller chain below the site. */
  stack: number;
  /** The site's accumulator for each tag seen with these frames. */
  byTag: Map<string, SiteAccumulator>;
}

/**
 * Adds stacks one at a time (so a large stacks.jsonl streams) and sums them up at the end. A
 * record's frames array is read once: passing the same array again (as readStacksFile does for
 * repeated stacks) reuses what it said, so do not change a frames array after adding it.
 */
export class StackAggregator {
  /** Accumulators by tag and site text, in order of first sight. */
  private readonly sites = new Map<string, SiteAccumulator>();
  private readonly stackIds = new Map<string, number>();
  private readonly stacks: string[][] = [];
  private readonly facts = new WeakMap<readonly Frame[], FramesFacts>();
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
    const facts = this.factsOf(record.frames);
    const stack = facts.stack;
    let accumulator = facts.byTag.get(tag);
    if (!accumulator) {
      const siteKey = `${tag}\u0000${facts.site.text}`;
      accumulator = this.sites.get(siteKey);
      if (!accumulator) {
        accumulator = { tag, site: facts.site, allocs: 0, frees: 0, unpaired: new Map(), anyStack: stack };
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

  // The call site and interned caller chain of an allocation's frames, once per frames array.
  private factsOf(frames: readonly Frame[]): FramesFacts {
    let facts = this.facts.get(frames);
    if (!facts) {
      const siteIndex = callSiteIndex(frames);
      const site = siteIndex >= 0 ? frames[siteIndex]! : { text: '<allocator only>', offset: 0 };
      const stack = this.intern(siteIndex >= 0 ? frames.slice(siteIndex + 1).map((frame) => frame.text) : []);
      facts = { site, stack, byTag: new Map() };
      this.facts.set(frames, facts);
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

/** Stream stacks.jsonl line by line into an aggregator; undefined when the file does not exist. */
export async function readStacksFile(path: string): Promise<StackSummary | undefined> {
  if (!existsSync(path)) return undefined;
  const aggregator = new StackAggregator();
  const reader = new StackLineReader();
  let line = 0;
  await forEachLine(path, (text) => {
    line++;
    if (!text.trim()) return;
    const record = reader.read(text);
    if (typeof record === 'string') aggregator.reject(line, record);
    else aggregator.add(record);
  });
  return aggregator.summary();
}

// Caches are emptied when they reach these sizes, so a file of all-different stacks stays bounded.
const maxCachedArrays = 10_000;
const maxCachedFrames = 50_000;

/** The frames made of one frames array, with the array's strings to check a later line against. */
interface CachedFrames {
  raw: string[];
  frames: Frame[];
}

/**
 * Reads stacks.jsonl lines as `JSON.parse` and normalizeStackRecord would, faster for repeated
 * stacks: the Frame[] made of a `frames` array of strings is cached and reused for any later line
 * with the same strings (so StackAggregator, which gets the same Frame[] object, also works its
 * site out once), and frame strings are parsed once each.
 */
export class StackLineReader {
  /** Cached frames arrays by a cheap hash of their strings (equal hashes are told apart by the strings). */
  private readonly arrays = new Map<number, CachedFrames[]>();
  private cachedArrays = 0;
  private readonly frames = new Map<string, Frame | undefined>();
  private readonly kinds = new WeakMap<Frame[], StackRecord['kind']>();
  private readonly frameOf = (raw: unknown): Frame | undefined => this.frameFromRaw(raw);
  private readonly classify = (frames: Frame[]): StackRecord['kind'] => this.classifyOnce(frames);

  /** One line's record, or why it is not usable (`not JSON (…)`, `no frames`, …). */
  read(text: string): StackRecord | string {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `not JSON (${(error as Error).message})`;
    }
    if (value && typeof value === 'object' && Array.isArray((value as Record<string, unknown>).frames)) {
      const frames = this.cachedFrames((value as Record<string, unknown>).frames as unknown[]);
      if (frames !== undefined) return recordFrom(value as Record<string, unknown>, frames, this.classify);
    }
    return normalizeWith(value, this.frameOf);
  }

  // The frames of an array of strings, made once per distinct list of strings; undefined when not all are strings.
  private cachedFrames(raw: unknown[]): Frame[] | undefined {
    const hash = stringsHash(raw);
    if (hash === -1) return undefined;
    const bucket = this.arrays.get(hash);
    if (bucket !== undefined) {
      for (const cached of bucket) if (sameStrings(cached.raw, raw)) return cached.frames;
    }
    const frames = framesFrom(raw, this.frameOf);
    if (this.cachedArrays >= maxCachedArrays) {
      this.arrays.clear();
      this.cachedArrays = 0;
    }
    const entry = { raw: raw as string[], frames };
    const current = this.arrays.get(hash);
    if (current) current.push(entry);
    else this.arrays.set(hash, [entry]);
    this.cachedArrays++;
    return frames;
  }

  // frameFromRaw, memoised for frame strings.
  private frameFromRaw(raw: unknown): Frame | undefined {
    if (typeof raw !== 'string') return frameFromRaw(raw);
    const known = this.frames.get(raw);
    if (known !== undefined || this.frames.has(raw)) return known;
    const frame = frameFromRaw(raw);
    if (this.frames.size >= maxCachedFrames) this.frames.clear();
    this.frames.set(raw, frame);
    return frame;
  }

  // classifyStack, once per frames array.
  private classifyOnce(frames: Frame[]): StackRecord['kind'] {
    let kind = this.kinds.get(frames);
    if (kind === undefined) this.kinds.set(frames, (kind = classifyStack(frames)));
    return kind;
  }
}

// A hash of an array of strings from their lengths and a few characters each (cheap, not unique); -1 when one is not a string.
function stringsHash(raw: readonly unknown[]): number {
  let hash = raw.length;
  for (let index = 0; index < raw.length; index++) {
    const text = raw[index];
    if (typeof text !== 'string') return -1;
    const length = text.length;
    hash = (Math.imul(hash, 31) + length) | 0;
    if (length > 0) hash = (Math.imul(hash, 31) + text.charCodeAt(length - 1) * 97 + text.charCodeAt(length >> 1) * 7 + text.charCodeAt((length * 3) >> 2)) | 0;
  }
  return hash >>> 1;
}

// Are both arrays the same strings in the same order?
function sameStrings(cached: readonly string[], raw: readonly unknown[]): boolean {
  if (cached.length !== raw.length) return false;
  for (let index = 0; index < raw.length; index++) if (cached[index] !== raw[index]) return false;
  return true;
}
