/**
 * `!poolused` and `!poolfind` in the two generations kd's extensions print.
 *
 * `!poolused`, old kdexts (windows-versions.md §4.1 legacy sample, poolused-unknown-unknown-2.txt):
 * `   Sorting by  Tag`, `  Pool Used:`, columns 9/9/10/9, the description glued to the last
 * number, a TOTAL row. New kdexts (poolused-win10x-x64-1.txt, poolused-win11-x64-1.txt): a
 * progress-dot line, no `Pool Used:`, columns 10/13/11/13 (verbose 12/12/10/13 per pool), a TAB
 * before the description, no TOTAL row in any public capture (so none here).
 *
 * `!poolfind`, old (poolfind-unknown-x86-1.txt): `826fa130 size:   c0 previous size:   40  (Allocated) SeSd`;
 * new (poolfind-win10x-x64-1.txt): `ffffda000a9b6d30 : tag amda, size     0x140, Nonpaged pool`.
 */
import type { PoolKind, SimAllocation, TagCounters } from '../kernel-api.js';
import type { SimProfile } from '../profiles.js';

// Descriptions kd takes from pooltag.txt, for the tags the published captures show.
const DESCRIPTIONS: Record<string, string> = {
  Cont: 'Contiguous physical memory allocations for device drivers ',
  EtwB: 'Etw Buffer , Binary: nt!etw',
  Pool: 'Pool tables, etc. ',
  'CM31': 'Internal Configuration manager allocations , Binary: nt!cm',
  'CM25': 'Internal Configuration manager allocations , Binary: nt!cm',
  MmSt: 'Mm section object prototype ptes , Binary: nt!mm',
  Ntff: 'FCB_DATA , Binary: ntfs.sys',
  Thre: 'Thread objects , Binary: nt!ps',
  File: 'File objects ',
  FMsl: 'STREAM_LIST_CTRL structure , Binary: fltmgr.sys',
  'Vad ': 'Mm virtual address descriptors , Binary: nt!mm',
  MmCa: 'Mm control areas for mapped files , Binary: nt!mm',
  Even: 'Event objects ',
  ALPC: 'ALPC port objects , Binary: nt!alpc',
  IoWI: 'Io work items , Binary: nt!io',
  HalD: 'Hardware Abstraction Layer: DMA , Binary: hal.dll',
};

/** pooltag.txt's description of a tag, or kd's UNKNOWN line. */
export function tagDescription(tag: string): string {
  return DESCRIPTIONS[tag] ?? `UNKNOWN pooltag '${tag}', please update pooltag.txt`;
}

/** Parsed `!poolused` arguments. */
export interface PoolusedOptions {
  flags: number;
  pattern?: string;
}

/** `*` any run, `?` one character; tags compare case-sensitively, as kd does. */
export function tagMatches(tag: string, pattern: string | undefined): boolean {
  if (pattern === undefined) return true;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  if (!pattern.includes('*')) return new RegExp(`^${source}$`).test(tag) || new RegExp(`^${source}$`).test(tag.trimEnd());
  return new RegExp(`^${source}$`).test(tag);
}

// Outstanding count and bytes of one pool of a tag.
function live(counters: TagCounters, pool: PoolKind): { count: number; bytes: number; allocs: number; frees: number } {
  const part = counters[pool];
  return { count: part.allocs - part.frees, bytes: part.bytes, allocs: part.allocs, frees: part.frees };
}

// The `Sorting by …` label for the flags.
function sortLabel(flags: number, old: boolean): string {
  if (flags & 2) return 'Sorting by NonPaged Pool Consumed';
  if (flags & 4) return 'Sorting by Paged Pool Consumed';
  return old ? 'Sorting by  Tag' : 'Sorting by Tag';
}

// Rows in kd's order: by tag, or by the chosen pool's bytes (largest first, ties by tag).
function sortTags(tags: TagCounters[], flags: number): TagCounters[] {
  const byTag = (a: TagCounters, b: TagCounters) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  const pool: PoolKind | undefined = flags & 2 ? 'nonpaged' : flags & 4 ? 'paged' : undefined;
  if (!pool) return [...tags].sort(byTag);
  return [...tags].sort((a, b) => b[pool].bytes - a[pool].bytes || byTag(a, b));
}

/** The `!poolused` output for the counters, in the profile's era. */
export function formatPoolused(profile: SimProfile, counters: readonly TagCounters[], options: PoolusedOptions): string[] {
  const old = profile.poolusedEra === 'old';
  const verbose = (options.flags & 1) !== 0;
  // Session pool (flag 8) is empty in the simulator: kd prints the headers and no rows.
  const session = (options.flags & 8) !== 0;
  const rows = session
    ? []
    : sortTags(counters.filter((entry) => entry.paged.allocs + entry.nonpaged.allocs > 0 && tagMatches(entry.tag, options.pattern)), options.flags);
  return old ? formatOldPoolused(rows, options.flags, verbose) : formatNewPoolused(rows, options.flags, verbose);
}

// The old kdexts layout, with leading spaces and a TOTAL row.
function formatOldPoolused(rows: TagCounters[], flags: number, verbose: boolean): string[] {
  const lines = [`   ${sortLabel(flags, true)}`, '', '  Pool Used:'];
  if (verbose) {
    lines.push('            NonPaged                                  Paged');
    lines.push(' Tag    Allocs    Frees     Diff     Used    Allocs    Frees     Diff     Used');
  } else {
    lines.push('            NonPaged            Paged');
    lines.push(' Tag    Allocs     Used    Allocs     Used');
  }
  const total = { npCount: 0, npBytes: 0, pCount: 0, pBytes: 0 };
  for (const row of rows) {
    const nonpaged = live(row, 'nonpaged');
    const paged = live(row, 'paged');
    total.npCount += nonpaged.count;
    total.npBytes += nonpaged.bytes;
    total.pCount += paged.count;
    total.pBytes += paged.bytes;
    const numbers = verbose
      ? [pad(nonpaged.allocs, 9), pad(nonpaged.frees, 9), pad(nonpaged.count, 9), pad(nonpaged.bytes, 9),
        pad(paged.allocs, 10), pad(paged.frees, 9), pad(paged.count, 9), pad(paged.bytes, 9)]
      : [pad(nonpaged.count, 9), pad(nonpaged.bytes, 9), pad(paged.count, 10), pad(paged.bytes, 9)];
    lines.push(` ${row.tag}${numbers.join('')}${tagDescription(row.tag)}`);
  }
  if (!verbose) lines.push(` TOTAL${pad(total.npCount, 8)}${pad(total.npBytes, 9)}${pad(total.pCount, 10)}${pad(total.pBytes, 9)}`);
  return lines;
}

// The new kdexts layout: progress dots, wide columns, TAB before the description.
function formatNewPoolused(rows: TagCounters[], flags: number, verbose: boolean): string[] {
  const dots = '.'.repeat(Math.min(20, Math.max(1, Math.ceil(rows.length / 8))));
  const lines = [dots, ` ${sortLabel(flags, false)}`, ''];
  if (verbose) {
    lines.push('                            NonPaged                                         Paged');
    lines.push(' Tag       Allocs       Frees      Diff         Used       Allocs       Frees      Diff         Used');
  } else {
    lines.push('               NonPaged                  Paged');
    lines.push(' Tag     Allocs         Used     Allocs         Used');
  }
  lines.push('');
  for (const row of rows) {
    const nonpaged = live(row, 'nonpaged');
    const paged = live(row, 'paged');
    const numbers = verbose
      ? [pad(nonpaged.allocs, 12), pad(nonpaged.frees, 12), pad(nonpaged.count, 10), pad(nonpaged.bytes, 13),
        pad(paged.allocs, 13), pad(paged.frees, 12), pad(paged.count, 10), pad(paged.bytes, 13)]
      : [pad(nonpaged.count, 10), pad(nonpaged.bytes, 13), pad(paged.count, 11), pad(paged.bytes, 13)];
    lines.push(` ${row.tag}${numbers.join('')}\t${tagDescription(row.tag)}`);
  }
  return lines;
}

// Right-align a number in a column.
function pad(value: number, width: number): string {
  return String(value).padStart(width, ' ');
}

/** Parsed `!poolfind` arguments. */
export interface PoolfindRequest {
  tag: string;
  pool: PoolKind;
}

/**
 * Parse `!poolfind` arguments: old syntax `Tag [PoolType]` (0 nonpaged, 1 paged; TagValue as
 * `0x…`), new syntax adds `-tag "AB C"`, `-nonpaged`, `-paged`. Undefined when malformed.
 */
export function parsePoolfindArguments(args: string, profile: SimProfile): PoolfindRequest | undefined {
  let rest = args.trim();
  let tag: string | undefined;
  let pool: PoolKind = 'nonpaged';
  while (rest.length > 0) {
    let match: RegExpExecArray | null;
    if (profile.poolfindEra === 'new' && (match = /^-tag\s+"([^"]{1,4})"\s*/.exec(rest))) {
      tag = match[1];
    } else if (profile.poolfindEra === 'new' && (match = /^-(nonpaged|paged)\b\s*/.exec(rest))) {
      pool = match[1] === 'paged' ? 'paged' : 'nonpaged';
    } else if (tag === undefined && (match = /^(0x[0-9a-fA-F]{1,8})\s*/.exec(rest))) {
      const value = Number.parseInt(match[1].slice(2), 16);
      tag = String.fromCharCode(value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, (value >>> 24) & 0xff);
    } else if (tag === undefined && (match = /^"([^"]{1,4})"\s*/.exec(rest))) {
      tag = match[1];
    } else if (tag === undefined && (match = /^(\S{1,4})(?:\s+|$)/.exec(rest))) {
      tag = match[1];
    } else if (tag !== undefined && (match = /^([0-9])\s*/.exec(rest))) {
      pool = match[1] === '1' ? 'paged' : 'nonpaged';
    } else {
      return undefined;
    }
    rest = rest.slice(match[0].length);
  }
  if (tag === undefined) return undefined;
  return { tag: tag.padEnd(4, ' '), pool };
}

/** Address ranges the search reports (they frame the hits as kd's do; the values are the simulator's layout). */
export interface PoolRanges {
  largeTable: [bigint, bigint];
  pool: [bigint, bigint];
}

/** Header size of a pool block: 8 bytes on x86, 16 on x64. */
export function poolHeaderSize(profile: SimProfile): number {
  return profile.pointerSize === 8 ? 16 : 8;
}

/** The block size kd shows: header plus the request, rounded up to the pool granularity. */
export function blockSize(profile: SimProfile, size: number): number {
  const header = poolHeaderSize(profile);
  return Math.ceil((size + header) / header) * header;
}

/** The `!poolfind` output for the allocations of the requested tag and pool (sorted by address). */
export function formatPoolfind(profile: SimProfile, request: PoolfindRequest, hits: readonly SimAllocation[], ranges: PoolRanges): string[] {
  const header = BigInt(poolHeaderSize(profile));
  const sorted = [...hits].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const large = sorted.filter((hit) => hit.size >= 4096);
  const small = sorted.filter((hit) => hit.size < 4096);
  const hex = (value: bigint) => value.toString(16).padStart(profile.pointerSize * 2, '0');
  if (profile.poolfindEra === 'old') {
    const poolName = request.pool === 'paged' ? 'Paged' : 'NonPaged';
    const lines = ['', `Scanning large pool allocation table for Tag: ${request.tag} (${hex(ranges.largeTable[0])} : ${hex(ranges.largeTable[1])})`, ''];
    for (const hit of large) lines.push(oldHit(profile, hit.address, hit.size, request.tag, 0, hex));
    if (large.length > 0) lines.push('');
    lines.push(`Searching ${poolName} pool (${hex(ranges.pool[0])} : ${hex(ranges.pool[1])}) for Tag: ${request.tag}`, '');
    let previous = 0;
    for (const hit of small) {
      lines.push(oldHit(profile, hit.address - header, hit.size, request.tag, previous, hex));
      previous = blockSize(profile, hit.size);
    }
    lines.push('');
    return lines;
  }
  const tagValue = `0x${hex(BigInt(tagNumber(request.tag))).slice(-8)}`;
  const poolName = request.pool === 'paged' ? 'paged' : 'nonpaged';
  const label = request.pool === 'paged' ? 'Paged pool' : 'Nonpaged pool';
  const lines = ['', `Scanning large pool allocation table for tag ${tagValue} (${request.tag}) (${hex(ranges.largeTable[0])} : ${hex(ranges.largeTable[1])})`, ''];
  for (const hit of large) lines.push(newHit(hit.address, blockSize(profile, hit.size), request.tag, label, hex));
  if (large.length > 0) lines.push('');
  lines.push(`Searching ${poolName} pool (${hex(ranges.pool[0])} : ${hex(ranges.pool[1])}) for tag ${tagValue} (${request.tag})`, '');
  for (const hit of small) lines.push(newHit(hit.address - header, blockSize(profile, hit.size), request.tag, label, hex));
  lines.push('');
  return lines;
}

// `826fa130 size:   c0 previous size:   40  (Allocated) SeSd`
function oldHit(profile: SimProfile, address: bigint, size: number, tag: string, previous: number, hex: (value: bigint) => string): string {
  const block = blockSize(profile, size).toString(16).padStart(4, ' ');
  return `${hex(address)} size: ${block} previous size: ${previous.toString(16).padStart(4, ' ')}  (Allocated) ${tag}`;
}

// `ffffda000a9b6d30 : tag amda, size     0x140, Nonpaged pool`
function newHit(address: bigint, block: number, tag: string, label: string, hex: (value: bigint) => string): string {
  return `${hex(address)} : tag ${tag}, size ${`0x${block.toString(16)}`.padStart(9, ' ')}, ${label}`;
}

/** The little-endian dword of a 4-character tag (`Abc ` → 0x20636241). */
export function tagNumber(tag: string): number {
  const padded = tag.padEnd(4, ' ');
  return (padded.charCodeAt(0) | (padded.charCodeAt(1) << 8) | (padded.charCodeAt(2) << 16) | (padded.charCodeAt(3) << 24)) >>> 0;
}
