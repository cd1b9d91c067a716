/**
 * Offline analysis of a saved kd session (a `.logopen` log of a manual hunt, or a run's
 * transcript.jsonl): every `!poolused` becomes a rank sample in order, every PoolHitTag break
 * with the stack printed after it becomes a classified stack, paired and aggregated by call
 * site, and the whole becomes a report.json the renderers turn into the usual reports.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aliasForVersion } from '../core/versions.js';
import { errUsage } from '../core/errors.js';
import type { ParseResultBase } from '../kd/common.js';
import { scanKdLog, type KdLog } from '../kd/log.js';
import type { BreakResult } from '../kd/break.js';
import { KdParseError, padTag } from '../kd/common.js';
import type { PoolusedResult } from '../kd/poolused.js';
import type { StackFrame, StackResult } from '../kd/stack.js';
import type { VersionResult } from '../kd/version.js';
import type { Facts } from '../core/types.js';
import type { HuntReport, PoolName, RankSample, RankedTag, SiteReport } from './model.js';
import { renderReports, type RenderOptions, type RenderResult } from './render.js';
import { classifyStack, parseFrame, StackAggregator, type Frame, type StackRecord } from './stacks.js';

/** What analyzeKdLog found besides the report. */
export interface Analysis {
  report: HuntReport;
  /** The stacks, one stacks.jsonl line each. */
  stacks: (StackRecord & { line: number })[];
  /** Commands of the log that were read, by kind (`poolused`, `stack`, `break`, …). */
  counts: Record<string, number>;
}

// `kd> ed nt!PoolHitTag ' cbA'` or `ed nt!poolhittag 0x20636241` → the tag, or null when cleared.
function hitTagFromCommand(command: string): string | null | undefined {
  const match = /^ed\s+(?:nt!)?PoolHitTag\s+(.+)$/i.exec(command.trim());
  if (!match) return undefined;
  const value = match[1]!.trim();
  const quoted = /^'(.{1,4})'$/.exec(value);
  // kd stores a character constant little-endian: ' cbA' is the tag "Abc ".
  if (quoted) return padTag([...quoted[1]!].reverse().join(''));
  const number = /^(?:0x)?([0-9a-f`]{1,9})$/i.exec(value);
  if (!number) return undefined;
  const dword = parseInt(number[1]!.replace(/`/g, ''), 16);
  if (dword === 0 || dword === 0xffffff0f) return null;
  const text = String.fromCharCode(dword & 0xff, (dword >> 8) & 0xff, (dword >> 16) & 0xff, (dword >>> 24) & 0xff);
  return /^[\x20-\x7e]{4}$/.test(text) ? text : undefined;
}

// A kd stack frame as the text a report shows (`module!function+0x2a`).
function frameText(frame: StackFrame): string {
  if (!frame.module) return frame.address ? `0x${frame.address}` : '<unknown>';
  if (!frame.function) return frame.offset ? `${frame.module}+0x${frame.offset.toString(16)}` : frame.module;
  return `${frame.module}!${frame.function}${frame.offset ? `+0x${frame.offset.toString(16)}` : ''}`;
}

// A 32-bit `Args to Child` value read as a tag (`64636261` → `abcd`).
function tagFromArg(arg: string | undefined): string | undefined {
  if (!arg || !/^[0-9a-f]{8}$/i.test(arg)) return undefined;
  const dword = parseInt(arg, 16);
  const text = String.fromCharCode(dword & 0xff, (dword >> 8) & 0xff, (dword >> 16) & 0xff, (dword >>> 24) & 0xff);
  return /^[\x20-\x7e]{4}$/.test(text) ? text : undefined;
}

/**
 * Size and address from the x86 `kb` arguments of the allocator's entry frame, where they are
 * the real stack arguments: ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag) and
 * ExFreePoolWithTag(P, Tag). x64 `kb` shows home space, not arguments, so nothing is read there.
 */
function argumentsOf(frames: readonly StackFrame[], parsed: readonly Frame[], kind: StackRecord['kind'], tag: string | undefined): { size?: number; address?: string } {
  const index = parsed.findIndex((frame) => /^(ExAllocatePoolWithTag|ExFreePoolWithTag)$/.test(frame.function ?? '') && /^nt/i.test(frame.module ?? ''));
  const args = index >= 0 ? frames[index]?.args : undefined;
  if (!args || args.length !== 3 || frames[index]?.childSp !== undefined) return {};
  if (kind === 'alloc' && tag !== undefined && tagFromArg(args[2]) === tag) return { size: parseInt(args[1]!, 16) };
  if (kind === 'free' && tag !== undefined && tagFromArg(args[1]) === tag) return { address: args[0]!.toLowerCase().replace(/^0+(?=.)/, '') };
  return {};
}

// One command of the scanned log, as far as the analysis reads it.
class LogEntry {
  private built: ParseResultBase | undefined | null = null;

  constructor(
    private readonly log: KdLog,
    private readonly index: number,
  ) {}

  get kind(): string | undefined {
    return this.log.kind(this.index);
  }

  get command(): string {
    return this.log.command(this.index);
  }

  get line(): number {
    return this.log.line(this.index);
  }

  get result(): ParseResultBase | undefined {
    if (this.built === null) this.built = this.log.result(this.index);
    return this.built;
  }
}

// Rank samples from the `!poolused` outputs, in order.
function samplesOf(entries: readonly LogEntry[]): RankSample[] {
  const samples: RankSample[] = [];
  for (const entry of entries) {
    if (entry.kind !== 'poolused' || !entry.result) continue;
    const result = entry.result as PoolusedResult;
    const tags: RankSample['tags'] = [];
    for (const row of result.rows) {
      for (const pool of ['nonpaged', 'paged'] as const) {
        const counts = row[pool];
        if (counts.bytes === 0 && counts.allocs === 0) continue;
        tags.push({ tag: padTag(row.tag), pool, bytes: counts.bytes, allocs: counts.allocs, ...(counts.frees !== undefined && { frees: counts.frees }) });
      }
    }
    // Without timestamps in the log the samples are placed one "minute" apart, in order; sampleAxis says so.
    samples.push({ atMs: samples.length * 60_000, tags });
  }
  return samples;
}

// Tags of the last sample, ranked by growth since the first sample (bytes), then by size.
function rankingOf(samples: readonly RankSample[], descriptions: Map<string, string>): RankedTag[] {
  const last = samples.at(-1);
  if (!last) return [];
  const first = samples[0]!;
  const key = (tag: string, pool: PoolName) => `${tag}\u0000${pool}`;
  const firstBy = new Map(first.tags.map((tag) => [key(tag.tag, tag.pool), tag]));
  const ranked = last.tags.map((tag) => {
    const before = firstBy.get(key(tag.tag, tag.pool));
    const entry: RankedTag = { tag: tag.tag, pool: tag.pool, bytes: tag.bytes, allocs: tag.allocs, ...(tag.frees !== undefined && { frees: tag.frees }) };
    if (samples.length > 1) entry.growthOutstanding = tag.allocs - (before?.allocs ?? 0);
    const description = descriptions.get(tag.tag);
    if (description) entry.owner = { description };
    return { entry, grown: samples.length > 1 ? tag.bytes - (before?.bytes ?? 0) : 0 };
  });
  ranked.sort((a, b) => b.grown - a.grown || b.entry.bytes - a.entry.bytes);
  return ranked.map((r) => r.entry);
}

// Facts from the banner or vertarget in the log; unknown fields say so.
function factsOf(entries: readonly LogEntry[], source: string): Facts {
  const version = entries.map((entry) => (entry.kind === 'banner' || entry.kind === 'vertarget' || entry.kind === 'version' ? (entry.result as VersionResult | undefined)?.os : undefined)).find(Boolean);
  const pointerSize = version?.pointerSize ?? (version?.arch === 'x64' || version?.arch === 'arm64' ? 8 : 4);
  const versionText = version?.version ?? '0.0.0';
  return {
    os: {
      version: versionText,
      alias: version ? aliasForVersion(versionText) : 'unknown',
      build: version?.build ?? 0,
      sp: version?.sp ?? 0,
      arch: (version?.arch as Facts['os']['arch']) ?? 'x86',
      pointerSize,
      mp: version?.mp ?? false,
      processors: version?.processors ?? 1,
      ...(version?.product && { product: version.product }),
      ...(version?.buildLab && { buildLab: version.buildLab }),
    },
    pool: { taggingEnabled: true, allocator: version && version.build >= 18362 ? 'segment-heap' : 'classic' },
    debugger: { transport: 'kd-log' },
    target: { kind: 'kd-log', spec: source },
  };
}

/** Analyze the text of a saved kd log. `source` names it in the report. */
export function analyzeKdLog(text: string, source = 'kd log'): Analysis {
  let entries: LogEntry[];
  try {
    const log = scanKdLog(text);
    entries = Array.from({ length: log.size }, (_, index) => new LogEntry(log, index));
  } catch (error) {
    if (error instanceof KdParseError) throw errUsage(`${source}: ${error.message}`, 'pass a kd session log (.logopen) or a run\'s transcript.jsonl');
    throw error;
  }
  const counts: Record<string, number> = {};
  const aggregator = new StackAggregator();
  const stacks: Analysis['stacks'] = [];
  const descriptions = new Map<string, string>();
  let hitTag: string | undefined;
  let pendingBreak: { line: number; symbol?: string } | undefined;

  for (const entry of entries) {
    if (entry.kind) counts[entry.kind] = (counts[entry.kind] ?? 0) + 1;
    const tag = hitTagFromCommand(entry.command);
    if (tag !== undefined) hitTag = tag ?? undefined;
    if (entry.kind === 'poolused' && entry.result) {
      for (const row of (entry.result as PoolusedResult).rows) if (row.description) descriptions.set(padTag(row.tag), row.description.trim());
    }
    if (entry.kind === 'break' && entry.result) {
      const stop = (entry.result as BreakResult).events.find((event) => event.kind === 'breakpoint');
      pendingBreak = stop ? { line: entry.line, symbol: stop.location?.symbol } : undefined;
      continue;
    }
    if (entry.kind === 'stack' && entry.result && pendingBreak) {
      const kdFrames = (entry.result as StackResult).frames;
      const frames = kdFrames.map((frame) => parseFrame(frameText(frame)));
      const kind = classifyStack(frames);
      // Only a stack in the allocator (a PoolHitTag stop) is a pool stack; other breaks are ignored.
      if (kind !== 'unknown') {
        const stackTag = hitTag ?? tagFromArg(kdFrames.find((frame) => frame.args?.length === 3)?.args?.[kind === 'alloc' ? 2 : 1]);
        const record: StackRecord = { kind, frames, ...(stackTag && { tag: padTag(stackTag) }), ...argumentsOf(kdFrames, frames, kind, stackTag && padTag(stackTag)) };
        aggregator.add(record);
        stacks.push({ ...record, line: entry.line });
      }
      pendingBreak = undefined;
    }
  }

  const samples = samplesOf(entries);
  const ranking = rankingOf(samples, descriptions);
  const summary = aggregator.summary();
  const suspectTag = hitTag ?? stacks.find((stack) => stack.tag)?.tag;
  const suspectRank = suspectTag ? ranking.find((ranked) => ranked.tag === suspectTag) : ranking[0];
  const suspect = suspectRank
    ? { tag: suspectRank.tag, pool: suspectRank.pool, bytes: suspectRank.bytes, growthBytesPerMinute: null }
    : suspectTag
      ? { tag: suspectTag, pool: 'paged' as PoolName, bytes: 0, growthBytesPerMinute: null }
      : null;
  const sites: SiteReport[] = summary.sites.map((site) => ({
    frame: site.site.text,
    module: site.site.module ?? '',
    ...(site.site.function && { function: site.site.function }),
    offset: site.site.offset,
    tag: site.tag,
    allocs: site.allocs,
    frees: site.frees,
    outstanding: site.outstanding,
    outstandingBytes: site.outstandingBytes,
    method: summary.paired ? 'pairing' : 'counts',
    callers: site.callers,
  }));
  const top = suspect ? sites.find((site) => site.tag === suspect.tag || site.tag === '????') : undefined;
  const culprit = top && top.outstanding > 0 && top.module ? { module: top.module, ...(top.function && { function: top.function }), offset: top.offset, frame: top.frame, tag: suspect!.tag, pool: suspect!.pool } : null;
  const grew = suspectRank?.growthOutstanding !== undefined && suspectRank.growthOutstanding > 0;

  let verdict: HuntReport['verdict'] = 'inconclusive';
  let reason: string;
  if (culprit && grew) {
    verdict = 'leak';
    reason = `Tag '${suspect!.tag}' gained ${suspectRank!.growthOutstanding} allocations over ${samples.length} !poolused samples; ${top!.outstanding} of ${top!.allocs} allocations at ${top!.frame} were not seen freed (${stacks.length} PoolHitTag stacks in the log)`;
  } else if (culprit) {
    reason = `${top!.frame} made ${top!.allocs} of the ${stacks.length} PoolHitTag allocations seen, but the log has ${samples.length < 2 ? 'fewer than two !poolused samples' : `no growth of '${suspect!.tag}' between its !poolused samples`} to show a leak`;
  } else if (samples.length > 1 && ranking.every((ranked) => (ranked.growthOutstanding ?? 0) <= 0)) {
    verdict = 'no-leak';
    reason = `No tag gained allocations over ${samples.length} !poolused samples`;
  } else {
    reason = `The log has ${samples.length} !poolused sample${samples.length === 1 ? '' : 's'} and ${stacks.length} PoolHitTag stack${stacks.length === 1 ? '' : 's'}: not enough to name a call site`;
  }

  const report: HuntReport = {
    schemaVersion: 1,
    playbook: `analyze ${source}`,
    startedAt: new Date(0).toISOString(),
    durationMs: 0,
    target: factsOf(entries, source),
    steps: [],
    ranking,
    samples,
    sampleAxis: 'order',
    suspect,
    sites,
    culprit,
    verdict,
    reason,
  };
  return { report, stacks, counts };
}

// A run's transcript.jsonl as the kd log it records: prompts, commands, outputs.
function transcriptToLog(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const prompt = typeof value.prompt === 'string' ? value.prompt : 'kd> ';
    if (value.event === 'banner' && typeof value.output === 'string') out.push(value.output);
    else if (value.direction === 'send' && value.event === 'resume' && typeof value.command === 'string') out.push(`kd> ${value.command}`);
    else if (value.direction === 'receive' && value.event === 'break' && typeof value.output === 'string') out.push(value.output);
    else if (value.direction === 'receive' && value.event === 'command' && typeof value.command === 'string') out.push(`${prompt.trimEnd()} ${value.command}`, ...(typeof value.output === 'string' && value.output ? [value.output] : []));
  }
  return out.join('\n');
}

/** Read a kd log (or a transcript.jsonl), analyze it, write report.json and stacks.jsonl into runDir, and render the reports. */
export async function analyzeToRunDir(logPath: string, runDir: string, options: RenderOptions = {}): Promise<RenderResult & { analysis: Analysis }> {
  let text: string;
  try {
    text = readFileSync(logPath, 'latin1');
  } catch (error) {
    throw errUsage(`Cannot read kd log "${logPath}": ${(error as Error).message}`, 'pass the file kd wrote with .logopen');
  }
  if (/\.jsonl$/i.test(logPath)) text = transcriptToLog(text);
  const analysis = analyzeKdLog(text, logPath);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(analysis.report, null, 2)}\n`);
  const lines = analysis.stacks.map(({ frames, ...rest }) => JSON.stringify({ ...rest, frames: frames.map((frame) => frame.text) }));
  writeFileSync(join(runDir, 'stacks.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
  const rendered = await renderReports(runDir, options);
  return { ...rendered, analysis };
}
