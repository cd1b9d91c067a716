/**
 * Parse global-flag reports: kd's `!gflag` (`Current NtGlobalFlag contents: 0x00000400`,
 * `New NtGlobalFlag contents: …`) and GFlags' own (`gflags /r` → `Current Boot Registry
 * Settings are: 40001400`, `gflags /k` → `Current Running Kernel Settings are: …`), each
 * followed by one `    abc - Description` line per set flag. Kind `gflag` reads either; kind
 * `gflags` (parseGflags) is GFlags' report, which always prints the value.
 */
import { contentLines, KdParseError, type ParseResultBase } from './common.js';
import { matchPrompt } from './prompt.js';

/** Where a flags value lives: the running kernel (`!gflag`, `gflags /k`) or the boot registry (`gflags /r`). */
export type GflagSource = 'kernel' | 'registry';

/** One report of a flags value. */
export interface GflagReport {
  source: GflagSource;
  /** Absent when the value line was not captured. */
  value?: number;
  /** Abbreviations listed under the value, in order (`ust`, `bhd`). */
  flags: string[];
  /** `!gflag` reports `Current` or `New` (after a change). */
  changed: boolean;
  /** `Current NtGlobalFlag2 contents:` (newer debuggers). */
  value2?: number;
}

/** Result of `!gflag` / `gflags`. */
export interface GflagResult extends ParseResultBase {
  /** The last report's value (the state after every command in the text). */
  value?: number;
  /** The last report's listed flags. */
  flags: string[];
  source: GflagSource;
  /** Every report in order (a log of several `gflags` calls has several). */
  reports: GflagReport[];
  /** Descriptions kd or GFlags printed, by abbreviation. */
  descriptions: Record<string, string>;
  /** `Special Pool set to 0x31676154` (tag `Tag1`), or `deleted` after `-spp`. */
  specialPool?: { value?: number; tag?: string; deleted?: boolean };
  /** `PoolTagOverruns set to 0x1`. */
  poolTagOverruns?: number;
  /** `gflags /ko|/ro /t …` object reference tracing report. */
  objectRefTracing?: { source: GflagSource; enabled: boolean; permanent?: boolean; poolTags?: string[]; processName?: string };
}

/** Global flag bits by abbreviation (the `!gflag` and GFlags flag tables). */
export const GLOBAL_FLAGS: Readonly<Record<string, number>> = {
  soe: 0x1,
  sls: 0x2,
  dic: 0x4,
  shg: 0x8,
  htc: 0x10,
  hfc: 0x20,
  hpc: 0x40,
  hvc: 0x80,
  ptc: 0x100,
  pfc: 0x200,
  ptg: 0x400,
  htg: 0x800,
  ust: 0x1000,
  kst: 0x2000,
  otl: 0x4000,
  htd: 0x8000,
  dse: 0x10000,
  d32: 0x20000,
  ksl: 0x40000,
  dps: 0x80000,
  scb: 0x100000,
  dhc: 0x200000,
  ece: 0x400000,
  eel: 0x800000,
  eot: 0x1000000,
  hpa: 0x2000000,
  dwl: 0x4000000,
  ddp: 0x8000000,
  cse: 0x10000000,
  sue: 0x20000000,
  bhd: 0x40000000,
  dpd: 0x80000000,
};

/** The abbreviations of the bits set in a flags value, lowest bit first. */
export function decodeGlobalFlags(value: number): string[] {
  return Object.entries(GLOBAL_FLAGS)
    .filter(([, bit]) => (value & bit) >>> 0 === bit)
    .map(([abbreviation]) => abbreviation);
}

// A tag value as kd shows it: the value's bytes in memory (little-endian) order.
function tagOfValue(value: number): string {
  return String.fromCharCode(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}

/** Parse `!gflag` or `gflags` output. Throws KdParseError when it holds no flags report. */
export function parseGflag(text: string): GflagResult {
  const result: GflagResult = { complete: true, unparsed: [], flags: [], source: 'kernel', reports: [], descriptions: {} };
  let current: GflagReport | undefined;
  let tracing = false;
  let recognised = 0;
  for (const { line, trimmed } of contentLines(text)) {
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      if (!/^!gflag\b/.test(prompt.command)) result.unparsed.push(line);
      current = undefined;
      tracing = false;
      continue;
    }
    if (/^gflags(?:\.exe)?(?: |$)/i.test(trimmed)) {
      // A GFlags command line: a new report follows.
      current = undefined;
      tracing = false;
      continue;
    }
    let match: RegExpExecArray | null;
    if ((match = /^(Current|New) NtGlobalFlag contents: 0x([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      current = { source: 'kernel', value: parseInt(match[2], 16), flags: [], changed: match[1] === 'New' };
      result.reports.push(current);
    } else if ((match = /^(?:Current|New) NtGlobalFlag2 contents: 0x([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      if (current) current.value2 = parseInt(match[1], 16);
      else result.unparsed.push(line);
    } else if ((match = /^Current (Boot Registry|Running Kernel) Settings are: ([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      current = { source: match[1] === 'Boot Registry' ? 'registry' : 'kernel', value: parseInt(match[2], 16), flags: [], changed: false };
      result.reports.push(current);
    } else if ((match = /^([a-z0-9]{3}) - (\S.*)$/.exec(trimmed)) && /^\s/.test(line)) {
      if (!current) {
        // The flag list survived but its value line did not.
        current = { source: 'registry', flags: [], changed: false };
        result.reports.push(current);
      }
      current.flags.push(match[1]);
      result.descriptions[match[1]] = match[2];
    } else if ((match = /^Special Pool set to 0x([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      const value = parseInt(match[1], 16);
      result.specialPool = { value, tag: tagOfValue(value) };
    } else if (/^Special Pool value has been deleted\.$/.test(trimmed)) {
      result.specialPool = { deleted: true };
    } else if ((match = /^PoolTagOverruns set to 0x([0-9a-fA-F]+)$/.exec(trimmed))) {
      result.poolTagOverruns = parseInt(match[1], 16);
    } else if ((match = /^(Running Kernel|Boot Registry) Settings :$/.exec(trimmed))) {
      result.objectRefTracing = { source: match[1] === 'Boot Registry' ? 'registry' : 'kernel', enabled: false };
      tracing = true;
    } else if (tracing && result.objectRefTracing && trimmed === 'Object Ref Tracing Enabled') {
      result.objectRefTracing.enabled = true;
    } else if (tracing && result.objectRefTracing && /^(Temporary|Permanent) Traces$/.test(trimmed)) {
      result.objectRefTracing.permanent = trimmed.startsWith('Permanent');
    } else if (tracing && result.objectRefTracing && (match = /^Pool Tags: (.*)$/.exec(trimmed))) {
      result.objectRefTracing.poolTags = match[1].split(';').filter(Boolean);
    } else if (tracing && result.objectRefTracing && (match = /^Process Name: (.*)$/.exec(trimmed))) {
      result.objectRefTracing.processName = match[1];
    } else {
      result.unparsed.push(line);
      continue;
    }
    recognised++;
  }
  if (recognised === 0) throw new KdParseError('gflag', 'No global flags report found: expected "… NtGlobalFlag contents: 0x…" or "Current … Settings are: …"');
  const last = result.reports[result.reports.length - 1];
  if (last) {
    result.flags = last.flags;
    result.source = last.source;
    if (last.value !== undefined) result.value = last.value;
  } else if (result.objectRefTracing) {
    result.source = result.objectRefTracing.source;
  }
  result.complete = result.reports.every((report) => report.value !== undefined);
  return result;
}

/** A GFlags report whose value line was present. */
export interface GflagsResult extends GflagResult {
  value: number;
}

/** Parse `gflags /r` / `gflags /k` output. Throws KdParseError when no `Current … Settings are:` value is in it. */
export function parseGflags(text: string): GflagsResult {
  const parsed = parseGflag(text);
  if (parsed.value === undefined) {
    throw new KdParseError('gflags', 'GFlags output without a "Current … Settings are: <hex>" line');
  }
  return parsed as GflagsResult;
}
