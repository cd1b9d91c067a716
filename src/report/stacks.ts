/**
 * Stacks captured at PoolHitTag breaks (stacks.jsonl, or the breaks of a saved kd log):
 * frames parsed, each stack classified as an allocation or a free by its allocator frames,
 * allocations paired with frees by address, and what stays outstanding aggregated by call
 * site into UMDH-style call trees. Reading is tolerant: stacks.jsonl is written by another
 * part of the program and may grow fields; a line that cannot be used is counted, not fatal.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { normalizeAddress, padTag } from '../kd/common.js';
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

// The first of several possible field names that is present.
function pick(value: Record<string, unknown>, ...keys: string[]): unknown {
  for (const key of keys) if (value[key] !== undefined && value[key] !== null) return value[key];
  return undefined;
}

/**
 * Turn one stacks.jsonl value into a StackRecord, accepting the field names a collector is
 * likely to use (`frames`/`stack`, `kind`/`op`, `address`/`block`, `size`/`bytes`, …).
 * Returns a reason string when the value holds no stack.
 */
export function normalizeStackRecord(raw: unknown): StackRecord | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const value = raw as Record<string, unknown>;
  let rawFrames = pick(value, 'frames', 'stack', 'callStack', 'backtrace');
  if (rawFrames && typeof rawFrames === 'object' && !Array.isArray(rawFrames)) rawFrames = (rawFrames as Record<string, unknown>).frames;
  if (!Array.isArray(rawFrames)) return 'no frames';
  const frames = rawFrames.map(frameFromRaw).filter((frame): frame is Frame => frame !== undefined);
  if (frames.length === 0) return 'no frames';

  const rawKind = String(pick(value, 'kind', 'type', 'op', 'operation', 'event') ?? '').toLowerCase();
  const kind = /^alloc/.test(rawKind) ? 'alloc' : /^free/.test(rawKind) ? 'free' : rawKind && rawKind !== 'unknown' ? 'unknown' : classifyStack(frames);

  const record: StackRecord = { kind, frames };
  const tag = pick(value, 'tag', 'poolTag');
  if (typeof tag === 'string' && tag.length > 0) record.tag = padTag(tag);
  const pool = pick(value, 'pool', 'poolType');
  if (pool === 'paged' || pool === 'nonpaged') record.pool = pool;
  const address = pick(value, 'address', 'block', 'pointer', 'va');
  if (typeof address === 'string' && /^(?:0x)?[0-9a-f`]+$/i.test(address.trim())) record.address = normalizeAddress(address).replace(/^0+(?=.)/, '');
  else if (typeof address === 'number') record.address = address.toString(16);
  const size = numberFromRaw(pick(value, 'size', 'bytes', 'numberOfBytes', 'length'));
  if (size !== undefined && size >= 0) record.size = size;
  const at = pick(value, 'atMs', 'elapsedMs', 'timeMs', 't');
  if (typeof at === 'number') record.atMs = at;
  else {
    const timestamp = pick(value, 'timestamp', 'time', 'at');
    if (typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp))) record.atMs = Date.parse(timestamp);
  }
  return record;
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

/** Adds stacks one at a time (so a large stacks.jsonl streams) and sums them up at the end. */
export class StackAggregator {
  private readonly sites = new Map<string, SiteAccumulator>();
  private readonly stackIds = new Map<string, number>();
  private readonly stacks: string[][] = [];
  /** Live blocks by tag and address: which site allocated them, with which stack and size. */
  private readonly live = new Map<string, { siteKey: string; stack: number; size: number }>();
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
      const key = `${tag}\u0000${record.address}`;
      const block = this.live.get(key);
      if (!block) {
        this.counts.unmatchedFrees++;
        return;
      }
      this.live.delete(key);
      this.sites.get(block.siteKey)!.frees++;
      return;
    }
    this.counts.allocs++;
    const siteIndex = callSiteIndex(record.frames);
    const site = siteIndex >= 0 ? record.frames[siteIndex]! : { text: '<allocator only>', offset: 0 };
    const siteKey = `${tag}\u0000${site.text}`;
    let accumulator = this.sites.get(siteKey);
    const stack = this.intern(siteIndex >= 0 ? record.frames.slice(siteIndex + 1).map((frame) => frame.text) : []);
    if (!accumulator) {
      accumulator = { tag, site, allocs: 0, frees: 0, unpaired: new Map(), anyStack: stack };
      this.sites.set(siteKey, accumulator);
    }
    accumulator.allocs++;
    const size = record.size ?? 0;
    if (record.address !== undefined) {
      this.addressed = true;
      const key = `${tag}\u0000${record.address}`;
      // The same address allocated again means its free was missed: the old block is gone.
      const previous = this.live.get(key);
      if (previous) this.sites.get(previous.siteKey)!.frees++;
      this.live.set(key, { siteKey, stack, size });
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
    const outstanding = new Map<string, Map<number, { count: number; bytes: number }>>();
    for (const [siteKey, accumulator] of this.sites) outstanding.set(siteKey, new Map([...accumulator.unpaired].map(([id, v]) => [id, { ...v }])));
    for (const block of this.live.values()) {
      const byStack = outstanding.get(block.siteKey)!;
      const entry = byStack.get(block.stack) ?? { count: 0, bytes: 0 };
      entry.count++;
      entry.bytes += block.size;
      byStack.set(block.stack, entry);
    }
    const sites: AggregatedSite[] = [];
    for (const [siteKey, accumulator] of this.sites) {
      const byStack = outstanding.get(siteKey)!;
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
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      aggregator.reject(line, `not JSON (${(error as Error).message})`);
      continue;
    }
    const record = normalizeStackRecord(value);
    if (typeof record === 'string') aggregator.reject(line, record);
    else aggregator.add(record);
  }
  return aggregator.summary();
}
