/**
 * Reading stacks.jsonl (one PoolHitTag stack per line, as pool.collect-stacks and `leakhunt
 * analyze` write it) into classified StackRecords: frames read with src/kd's stack parser, each
 * stack classified and attributed by src/evidence/classify.ts, the one classification the live
 * hunt uses too. Reading is tolerant: the file is written by another part of the program and may
 * grow fields; a line that cannot be used is counted, not fatal. Pairing and aggregation are src/evidence/pairing.ts.
 */
import { existsSync } from 'node:fs';
import { anyAllocator, classifyStack, frameText, namedFrame, type AllocatorFrames, type FrameLike, type WrapperList } from '../evidence/classify.js';
import { normalizeAddress, padTag } from '../kd/common.js';
import { parseStack } from '../kd/stack.js';
import { PairingBook, type StackRecord, type StackSummary } from '../evidence/pairing.js';
import { forEachLine } from './lines.js';

/** How the stacks of a file are classified. */
export interface StackReadOptions {
  /** The target's allocator frames (`allocatorFor(report.target.os.build)`); both pools' when not given. */
  allocator?: AllocatorFrames;
  /** The look-through list; the default wrappers when not given. */
  wrappers?: WrapperList;
}

// The frames of a stacks.jsonl `frames` array: strings are kd's Call Site column (`kc`'s), read by
// the kd stack parser all at once; objects name module, function and offset. A string the parser
// does not take keeps its place as a frame without a module, so frame indexes stay those of the file.
function framesOf(raw: readonly unknown[]): { frames: FrameLike[]; texts: string[] } | undefined {
  const frames: FrameLike[] = [];
  const texts: string[] = [];
  const strings: { at: number; text: string }[] = [];
  for (const item of raw) {
    if (typeof item === 'string') {
      const text = item.replace(/[\r\n]+/g, ' ').trim();
      if (!text) continue;
      strings.push({ at: frames.length, text });
      frames.push({ module: '' });
      texts.push(text);
      continue;
    }
    const frame = frameFromObject(item);
    if (frame === undefined) continue;
    if (typeof frame === 'string') {
      strings.push({ at: frames.length, text: frame });
      frames.push({ module: '' });
      texts.push(frame);
    } else {
      frames.push(frame);
      texts.push(frameText(frame));
    }
  }
  if (frames.length === 0) return undefined;
  if (strings.length > 0) {
    const listing = [' # Call Site', ...strings.map(({ text }, index) => `${index.toString(16).padStart(2, '0')} ${text}`)].join('\n');
    let parsed: FrameLike[] = [];
    try {
      parsed = parseStack(listing).frames;
    } catch {
      // No line read as a frame: every string stays a frame without a module.
    }
    for (const frame of parsed as (FrameLike & { index?: number })[]) {
      const entry = frame.index !== undefined ? strings[frame.index] : undefined;
      if (!entry) continue;
      frames[entry.at] = frame;
      texts[entry.at] = frameText(frame);
    }
  }
  return { frames, texts };
}

// A frame object from stacks.jsonl: a string under a likely key (returned as text to parse), or module/function/offset fields.
function frameFromObject(raw: unknown): FrameLike | string | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const value = raw as Record<string, unknown>;
  for (const key of ['frame', 'text', 'callSite', 'symbol', 'call', 'name']) {
    if (typeof value[key] === 'string' && (value[key] as string).trim()) return (value[key] as string).replace(/[\r\n]+/g, ' ').trim();
  }
  if (typeof value.module !== 'string') return undefined;
  const offset = numberFromRaw(value.offset, true);
  return {
    module: value.module,
    ...(typeof value.function === 'string' && value.function !== '' && { function: value.function }),
    ...(offset !== undefined && offset > 0 && { offset }),
    ...(typeof value.retAddr === 'string' && { retAddr: value.retAddr }),
    ...(value.inline === true && { inline: true }),
  };
}

// A number from a JSON number or a hex/decimal string (`0x70`; `70` is decimal unless `hexBare`).
function numberFromRaw(raw: unknown, hexBare = false): number | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string' && raw.trim()) {
    const text = raw.trim().replace(/`/g, '');
    const value = /^0x/i.test(text) || (hexBare && /^[0-9a-f]+$/i.test(text)) ? parseInt(text.replace(/^0x/i, ''), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

/** The frames array of a stacks.jsonl value (`frames`, `stack`, `callStack`, `backtrace`, or `stack.frames`), if any. */
function rawFramesOf(value: Record<string, unknown>): unknown {
  let rawFrames = value.frames ?? value.stack ?? value.callStack ?? value.backtrace;
  if (rawFrames && typeof rawFrames === 'object' && !Array.isArray(rawFrames)) rawFrames = (rawFrames as Record<string, unknown>).frames;
  return rawFrames;
}

/**
 * Turn one stacks.jsonl value into a classified StackRecord, accepting the field names a
 * collector is likely to use (`frames`/`stack`, `kind`/`operation`/`op`, `address`/`block`,
 * `size`/`bytes`, …). Returns a reason string when the value holds no stack.
 */
export function normalizeStackRecord(raw: unknown, options: StackReadOptions = {}): StackRecord | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not a JSON object';
  const value = raw as Record<string, unknown>;
  const rawFrames = rawFramesOf(value);
  if (!Array.isArray(rawFrames)) return 'no frames';
  const read = framesOf(rawFrames);
  if (!read) return 'no frames';
  return recordFrom(value, read, options);
}

/** A stack's frames, read and classified: what a repeated frames array shares. */
interface ReadStack {
  frames: FrameLike[];
  texts: string[];
  /** The classification's part that depends on the frames only. */
  attribution?: Pick<StackRecord, 'kind' | 'site' | 'culprit' | 'caller' | 'outside' | 'api'>;
}

// Everything of a record, from the line's fields and its read frames.
function recordFrom(value: Record<string, unknown>, read: ReadStack, options: StackReadOptions): StackRecord {
  read.attribution ??= attributionOf(read, options);
  const rawKind = String(value.kind ?? value.type ?? value.op ?? value.operation ?? value.event ?? '').toLowerCase();
  // The line's own operation (what the live hunt saw) wins; the frames decide when it says nothing.
  const kind = rawKind.startsWith('alloc') ? 'alloc' : rawKind.startsWith('free') ? 'free' : rawKind && rawKind !== 'unknown' ? 'unknown' : read.attribution.kind;
  const record: StackRecord = { kind, frames: read.texts };
  if (read.attribution.site) record.site = read.attribution.site;
  // The live hunt records the culprit it named with the run's own wrappers (a playbook input): keep it.
  const culprit = typeof value.culprit === 'string' && record.site ? read.texts.indexOf(value.culprit.trim(), record.site.index + 1) : -1;
  if (culprit >= 0) record.culprit = namedFrame(read.frames, culprit);
  else if (read.attribution.culprit) record.culprit = read.attribution.culprit;
  // Paths of a site not a wrapper's: inside its module, and the calling driver should its module be a shared library.
  if (!record.culprit || record.culprit.index === record.site?.index) {
    if (read.attribution.caller) record.caller = read.attribution.caller;
    if (read.attribution.outside) record.outside = read.attribution.outside;
  }
  if (read.attribution.api) record.api = read.attribution.api;
  const hit = value.hit;
  if (typeof hit === 'number' && Number.isInteger(hit) && hit > 0) record.hit = hit;

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

// The shared classification of the frames.
function attributionOf(read: ReadStack, options: StackReadOptions): NonNullable<ReadStack['attribution']> {
  const c = classifyStack(read.frames, options.allocator ?? anyAllocator, options.wrappers);
  return { kind: c.operation, ...(c.site && { site: c.site }), ...(c.culprit && { culprit: c.culprit }), ...(c.caller && { caller: c.caller }), ...(c.outside && { outside: c.outside }), ...(c.api && { api: c.api }) };
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

/** Stream stacks.jsonl line by line into an aggregator; undefined when the file does not exist. */
export async function readStacksFile(path: string, options: StackReadOptions = {}): Promise<StackSummary | undefined> {
  if (!existsSync(path)) return undefined;
  const aggregator = new PairingBook();
  const reader = new StackLineReader(options);
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

// The cache is emptied when it reaches this size, so a file of all-different stacks stays bounded.
const maxCachedArrays = 10_000;

/** The read frames of one frames array, with the array's strings to check a later line against. */
interface CachedStack {
  raw: string[];
  read: ReadStack;
}

/**
 * Reads stacks.jsonl lines as `JSON.parse` and normalizeStackRecord would, faster for repeated
 * stacks: a `frames` array of strings is read and classified once and reused for any later line
 * with the same strings (so PairingBook, which gets the same frames array, also works its
 * calling path out once).
 */
export class StackLineReader {
  /** Cached stacks by a cheap hash of their strings (equal hashes are told apart by the strings). */
  private readonly arrays = new Map<number, CachedStack[]>();
  private cachedArrays = 0;

  constructor(private readonly options: StackReadOptions = {}) {}

  /** One line's record, or why it is not usable (`not JSON (…)`, `no frames`, …). */
  read(text: string): StackRecord | string {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `not JSON (${(error as Error).message})`;
    }
    if (value && typeof value === 'object' && Array.isArray((value as Record<string, unknown>).frames)) {
      const read = this.cached((value as Record<string, unknown>).frames as unknown[]);
      if (read === null) return 'no frames';
      if (read !== undefined) return recordFrom(value as Record<string, unknown>, read, this.options);
    }
    return normalizeStackRecord(value, this.options);
  }

  // The read frames of an array of strings, once per distinct list; undefined when not all are strings, null when none is a frame.
  private cached(raw: unknown[]): ReadStack | null | undefined {
    const hash = stringsHash(raw);
    if (hash === -1) return undefined;
    const bucket = this.arrays.get(hash);
    if (bucket !== undefined) {
      for (const cached of bucket) if (sameStrings(cached.raw, raw)) return cached.read;
    }
    const read = framesOf(raw);
    if (!read) return null;
    if (this.cachedArrays >= maxCachedArrays) {
      this.arrays.clear();
      this.cachedArrays = 0;
    }
    const entry = { raw: raw as string[], read };
    const current = this.arrays.get(hash);
    if (current) current.push(entry);
    else this.arrays.set(hash, [entry]);
    this.cachedArrays++;
    return read;
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
