/**
 * Parse the output of kdexts' `!poolfind`: every pool block carrying a tag. Two line forms exist:
 * - old: `826fa130 size:   c0 previous size:   40  (Allocated) SeSd` under a
 *   `Searching NonPaged pool (start : end) for Tag: SeSd` section;
 * - new: `ffffda0ff9791000 : tag amda, size    0x18f0, Nonpaged pool`, the pool named per line.
 * Either may carry `*` markers before the address or the tag. The scan can be stopped by the
 * user (`...terminating - searched pool to <address>`), which makes the result incomplete.
 */
import { contentLines, KdParseError, normalizeAddress, padTag } from './common.js';
import type { ParseResultBase } from './common.js';
import { readBlockLine, readPoolName, type PoolName } from './pool.js';
import { readPrompt } from './prompt.js';

export type { PoolName } from './pool.js';

/** One pool block `!poolfind` found. */
export interface PoolfindHit {
  /** Address of the pool header, lowercase hex without backtick or 0x. */
  address: string;
  /** Tag of the block, 4 characters padded with spaces. */
  tag: string;
  /** Block size in bytes (kd prints it in hex). */
  size: number;
  pool: PoolName;
  /** `allocated` or `free` (old form only; the new form lists allocated blocks). */
  state?: string;
  /** Size of the previous block in the page (old form only). */
  previousSize?: number;
  /** True for hits from the large pool allocation table rather than from pool pages. */
  largePool?: boolean;
}

/** One region kd announced it was scanning. */
export interface PoolfindRegion {
  /** `large-pool-table` or the pool whose pages were searched. */
  region: 'large-pool-table' | PoolName;
  start: string;
  end: string;
}

/** Everything `!poolfind` printed, as data. */
export interface PoolfindResult extends ParseResultBase {
  /** The tag searched for (from kd's section lines, else the command echo, else the first hit); null when unknown. */
  tag: string | null;
  hits: PoolfindHit[];
  /** Regions in the order kd scanned them. */
  searched: PoolfindRegion[];
  /** Where the user stopped the scan (`...terminating - searched pool to <address>`). */
  stoppedAt?: string;
}

const NEW_HIT = /^\s*\*?([0-9a-f]{8}(?:`?[0-9a-f]{8})?)\s*:\s*tag (.{1,4}?), size\s+(?:0x)?([0-9a-f]{1,12}), (.*)$/i;
const LARGE_TABLE = /^Scanning large pool allocation table for (?:Tag: (.{1,4})|tag (0x[0-9a-f]+)(?: \((.{1,4})\))?) \(([0-9a-f`]+) : ([0-9a-f`]+)\)/i;
const SEARCHING = /^Searching (\w+) pool \(([0-9a-f`]+) : ([0-9a-f`]+)\) for (?:Tag: (.{1,4})|tag (0x[0-9a-f]+)(?: \((.{1,4})\))?)/i;
const STOPPED = /^\.{0,3}terminating - searched pool to ([0-9a-f`]+)/i;

/** Parse `!poolfind` output (old and new forms); throws KdParseError only when the text is not `!poolfind` output at all. */
export function parsePoolfind(text: string): PoolfindResult {
  const result: PoolfindResult = { complete: true, unparsed: [], tag: null, hits: [], searched: [] };
  let section: PoolfindRegion['region'] | undefined;
  let commandTag: string | null = null;
  let recognised = false;

  for (const { line, trimmed, first } of contentLines(text)) {

    if (readPrompt(trimmed)) {
      const echo = first ? /!poolfind\s+"?([^"\s]+)"?/i.exec(line) : null;
      if (echo) commandTag = readCommandTag(echo[1]);
      else result.unparsed.push(line);
      continue;
    }
    const hit = readHit(line, section);
    if (hit) {
      recognised = true;
      result.hits.push(hit);
      continue;
    }
    const large = LARGE_TABLE.exec(trimmed);
    if (large) {
      recognised = true;
      section = 'large-pool-table';
      result.searched.push({ region: section, start: normalizeAddress(large[4]), end: normalizeAddress(large[5]) });
      result.tag ??= readSearchedTag(large[1], large[2], large[3]);
      continue;
    }
    const searching = SEARCHING.exec(trimmed);
    if (searching) {
      recognised = true;
      section = readPoolName(searching[1]);
      result.searched.push({ region: section, start: normalizeAddress(searching[2]), end: normalizeAddress(searching[3]) });
      result.tag ??= readSearchedTag(searching[4], searching[5], searching[6]);
      continue;
    }
    const stopped = STOPPED.exec(trimmed);
    if (stopped) {
      recognised = true;
      result.complete = false;
      result.stoppedAt = normalizeAddress(stopped[1]);
      continue;
    }
    if (/^\.+$/.test(trimmed) && result.hits.length === 0) {
      // Progress dots while kd fills its cache, before anything was found.
      recognised ||= result.searched.length > 0;
      continue;
    }
    if (/^(\.{3,}|…|\[\.\.\.\])/.test(trimmed)) {
      // An elision in a published log; keep any words the author added with it.
      result.complete = false;
      if (!/^(\.{3,}|…+|\[\.\.\.\])$/.test(trimmed)) result.unparsed.push(line);
      continue;
    }
    result.unparsed.push(line);
  }

  if (!recognised) {
    throw new KdParseError('poolfind', 'Expected !poolfind output (hit lines or "Searching … pool"), got none');
  }
  result.tag ??= commandTag ?? result.hits[0]?.tag ?? null;
  // A scan that never reached the pool pages was cut before it finished.
  if (!result.searched.some((region) => region.region !== 'large-pool-table')) result.complete = false;
  return result;
}

// Read one hit line in either form; the section supplies the pool for the old form.
function readHit(line: string, section: PoolfindRegion['region'] | undefined): PoolfindHit | undefined {
  const modern = NEW_HIT.exec(line);
  if (modern) {
    const hit: PoolfindHit = {
      address: normalizeAddress(modern[1]),
      tag: padTag(modern[2].replace(/^\*/, '')),
      size: Number.parseInt(modern[3], 16),
      pool: readPoolName(modern[4].replace(/\s+pool\b.*$/i, '')),
    };
    if (section === 'large-pool-table') hit.largePool = true;
    return hit;
  }
  const old = readBlockLine(line, false);
  if (!old) return undefined;
  const hit: PoolfindHit = {
    address: old.address,
    tag: old.tag,
    size: old.size,
    pool: section === undefined || section === 'large-pool-table' ? 'unknown' : section,
    state: old.state,
    previousSize: old.previousSize,
  };
  if (section === 'large-pool-table') hit.largePool = true;
  return hit;
}

// `Tag: SeSd` gives the tag; `tag 0x61646d61 (amda)` gives its value (little-endian characters).
function readSearchedTag(plain: string | undefined, value: string | undefined, shown: string | undefined): string | null {
  if (plain !== undefined) return padTag(plain);
  if (value !== undefined) {
    const number = Number.parseInt(value, 16);
    if (number > 0 && number <= 0xffffffff) {
      const characters = [0, 8, 16, 24].map((shift) => String.fromCharCode((number >>> shift) & 0xff));
      return characters.join('');
    }
  }
  return shown !== undefined ? padTag(shown) : null;
}

// The tag argument of `!poolfind`: a string (`SeSd`), or a value when it starts with 0x (`0x64636241`).
function readCommandTag(argument: string): string | null {
  return /^0x[0-9a-f]{1,8}$/i.test(argument) ? readSearchedTag(undefined, argument, undefined) : padTag(argument.slice(0, 4));
}
