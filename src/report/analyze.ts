/**
 * Offline analysis of a saved kd session (a `.logopen` log of a manual hunt, or a run's
 * transcript.jsonl): every `!poolused` becomes a rank sample in order, every PoolHitTag break
 * with the stack printed after it becomes a classified stack, paired and aggregated by call
 * site, and the whole becomes a report.json the renderers turn into the usual reports.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { aliasForVersion } from '../core/versions.js';
import { errUsage } from '../core/errors.js';
import type { AutoEntry } from '../kd/auto.js';
import { readFileLines, readKdLogLines, readKdLogText, type KdLogOptions } from '../kd/log.js';
import type { BreakResult } from '../kd/break.js';
import { KdParseError, padTag } from '../kd/common.js';
import type { PoolusedResult } from '../kd/poolused.js';
import type { StackResult } from '../kd/stack.js';
import type { VersionResult } from '../kd/version.js';
import type { Facts } from '../core/types.js';
import type { HuntReport, PoolName, RankSample, RankedTag, SiteReport } from './model.js';
import { renderReports, type RenderOptions, type RenderResult } from './render.js';
import { allocatorFor, tagOfDword, type AllocatorFrames } from '../evidence/classify.js';
import { StackAggregator, type AggregatedSite, type StackRecord } from './aggregate.js';
import { HitStackReader, type HitStack } from './hit-stacks.js';

/** What an analysis found besides the report. */
export interface AnalysisSummary {
  report: HuntReport;
  /** Commands of the log that were read, by kind (`poolused`, `stack`, `break`, …). */
  counts: Record<string, number>;
  /** PoolHitTag stacks found (the lines of stacks.jsonl). */
  stackCount: number;
}

/** What analyzeKdLog found: the summary and the stacks themselves. */
export interface Analysis extends AnalysisSummary {
  /** The stacks, one stacks.jsonl line each. */
  stacks: (StackRecord & { line: number })[];
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
  return tagOfDword(dword);
}

// A rank sample from a `!poolused` output. Without timestamps in the log the samples are placed
// one "minute" apart, in order; sampleAxis says so.
function sampleOf(result: PoolusedResult, index: number): RankSample {
  const tags: RankSample['tags'] = [];
  for (const row of result.rows) {
    for (const pool of ['nonpaged', 'paged'] as const) {
      const counts = row[pool];
      if (counts.bytes === 0 && counts.allocs === 0) continue;
      tags.push({ tag: padTag(row.tag), pool, bytes: counts.bytes, allocs: counts.allocs, ...(counts.frees !== undefined && { frees: counts.frees }) });
    }
  }
  return { atMs: index * 60_000, tags };
}

// What kd prints instead of a description when its pooltag.txt lacks the tag
// ("UNKNOWN pooltag 'APpt', please update pooltag.txt"): no owner, not one to show as a description.
function isUnknownTagNote(description: string): boolean {
  return /^\s*UNKNOWN pooltag\b/i.test(description);
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

// A site's frame to blame (the culprit, when the site is a wrapper's), with the wrapper's frame beside it.
function blamedFrame(site: AggregatedSite): Pick<SiteReport, 'frame' | 'module' | 'function' | 'offset' | 'via'> {
  const frame = site.culprit ?? site.site;
  return { frame: frame.text, module: frame.module ?? '', ...(frame.function && { function: frame.function }), offset: frame.offset, ...(site.culprit && { via: site.site.text }) };
}

// Facts from the banner or vertarget in the log; unknown fields say so.
function factsOf(version: VersionResult['os'] | undefined, source: string): Facts {
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

/**
 * The analysis of a kd log, fed one command at a time (`add`) as the log is read: what it keeps
 * is the aggregates (samples, descriptions, the call-site tables), never the log; each PoolHitTag
 * stack goes to `onStack` as it is found.
 */
class LogAnalyzer {
  private readonly counts: Record<string, number> = {};
  private readonly aggregator = new StackAggregator();
  private readonly samples: RankSample[] = [];
  private readonly descriptions = new Map<string, string>();
  private version: VersionResult['os'] | undefined;
  private hitTag: string | undefined;
  private firstStackTag: string | undefined;
  private stackCount = 0;
  // Stacks are classified with the allocator frames of the log's Windows version (both pools' before one is known).
  private allocator: AllocatorFrames | undefined;
  private readonly reader = new HitStackReader({ allocator: () => (this.allocator ??= allocatorFor(this.version?.build)) }, (stack) => this.counted(stack));

  constructor(private readonly onStack: (stack: HitStack) => void) {}

  /** How the log is read for this analysis: only the outputs it will read are parsed. */
  readonly logOptions: KdLogOptions = { parse: (entry) => this.reads(entry), keepUnparsed: false };

  // Whether the analysis reads this entry's result: every !poolused and stop, the first version
  // block, and a stack only after a breakpoint stop (other outputs are counted, not parsed).
  private reads(entry: AutoEntry): boolean {
    switch (entry.kind) {
      case 'poolused':
      case 'break':
        return true;
      case 'stack':
        return this.reader.wantsStack;
      case 'banner':
      case 'vertarget':
      case 'version':
        return this.version === undefined;
      default:
        return false;
    }
  }

  add(entry: AutoEntry): void {
    if (entry.kind) this.counts[entry.kind] = (this.counts[entry.kind] ?? 0) + 1;
    const tag = hitTagFromCommand(entry.command);
    if (tag !== undefined) this.hitTag = tag ?? undefined;
    if (!entry.result) {
      this.reader.command(entry.command);
      return;
    }
    if ((entry.kind === 'banner' || entry.kind === 'vertarget' || entry.kind === 'version') && !this.version) this.version = (entry.result as VersionResult).os;
    if (entry.kind === 'poolused') {
      const result = entry.result as PoolusedResult;
      for (const row of result.rows) if (row.description && !isUnknownTagNote(row.description)) this.descriptions.set(padTag(row.tag), row.description.trim());
      this.samples.push(sampleOf(result, this.samples.length));
    }
    this.reader.command(entry.command);
    if (entry.kind === 'break') this.reader.stop(entry.result as BreakResult, entry.output, entry.line, this.hitTag);
    else if (entry.kind === 'stack') this.reader.stack((entry.result as StackResult).frames, entry.line, this.hitTag);
  }

  /** The end of the log: allocations still waiting for their block are counted without one. */
  end(): void {
    this.reader.finish();
  }

  // A PoolHitTag stack the reader handed out.
  private counted(stack: HitStack): void {
    this.aggregator.add(stack);
    this.stackCount++;
    this.firstStackTag ??= stack.tag;
    this.onStack(stack);
  }

  /** The report of everything added. */
  finish(source: string): AnalysisSummary {
    this.end();
    const { samples, stackCount } = this;
    const ranking = rankingOf(samples, this.descriptions);
    const summary = this.aggregator.summary();
    const suspectTag = this.hitTag ?? this.firstStackTag;
  const suspectRank = suspectTag ? ranking.find((ranked) => ranked.tag === suspectTag) : ranking[0];
    const suspect = suspectRank
      ? { tag: suspectRank.tag, pool: suspectRank.pool, bytes: suspectRank.bytes, growthBytesPerMinute: null }
      : suspectTag
        ? { tag: suspectTag, pool: 'paged' as PoolName, bytes: 0, growthBytesPerMinute: null }
        : null;
    const sites: SiteReport[] = summary.sites.map((site) => ({
      ...blamedFrame(site),
      tag: site.tag,
      allocs: site.allocs,
      frees: site.frees,
      outstanding: site.outstanding,
      outstandingBytes: site.outstandingBytes,
      method: summary.paired ? 'pairing' : 'counts',
      callers: site.callers,
    }));
    const top = suspect ? sites.find((site) => site.tag === suspect.tag || site.tag === '????') : undefined;
    const culprit = top && top.outstanding > 0 && top.module ? { module: top.module, ...(top.function && { function: top.function }), offset: top.offset, frame: top.frame, ...(top.via && { via: top.via }), tag: suspect!.tag, pool: suspect!.pool } : null;
    const grew = suspectRank?.growthOutstanding !== undefined && suspectRank.growthOutstanding > 0;

    let verdict: HuntReport['verdict'] = 'inconclusive';
    let reason: string;
    if (culprit && grew) {
      verdict = 'leak';
      reason = `Tag '${suspect!.tag}' gained ${suspectRank!.growthOutstanding} allocations over ${samples.length} !poolused samples; ${top!.outstanding} of ${top!.allocs} allocations at ${top!.frame} were not seen freed (${stackCount} PoolHitTag stacks in the log)`;
    } else if (culprit) {
      reason = `${top!.frame} made ${top!.allocs} of the ${stackCount} PoolHitTag allocations seen, but the log has ${samples.length < 2 ? 'fewer than two !poolused samples' : `no growth of '${suspect!.tag}' between its !poolused samples`} to show a leak`;
    } else if (samples.length > 1 && ranking.every((ranked) => (ranked.growthOutstanding ?? 0) <= 0)) {
      verdict = 'no-leak';
      reason = `No tag gained allocations over ${samples.length} !poolused samples`;
    } else {
      reason = `The log has ${samples.length} !poolused sample${samples.length === 1 ? '' : 's'} and ${stackCount} PoolHitTag stack${stackCount === 1 ? '' : 's'}: not enough to name a call site`;
    }

    const report: HuntReport = {
      schemaVersion: 1,
      playbook: `analyze ${source}`,
      startedAt: new Date(0).toISOString(),
      durationMs: 0,
      target: factsOf(this.version, source),
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
    return { report, counts: this.counts, stackCount };
  }
}

/** Analyze the text of a saved kd log. `source` names it in the report. */
export function analyzeKdLog(text: string, source = 'kd log'): Analysis {
  const stacks: Analysis['stacks'] = [];
  const analyzer = new LogAnalyzer((stack) => stacks.push(stack));
  try {
    readKdLogText(text, (entry) => analyzer.add(entry), analyzer.logOptions);
    analyzer.end();
  } catch (error) {
    throw usageError(error, source);
  }
  return { ...analyzer.finish(source), stacks };
}

// A log without a prompt, or a file that cannot be read, as a usage error naming the file; other errors as they are.
function usageError(error: unknown, source: string): unknown {
  if (error instanceof KdParseError) return errUsage(`${source}: ${error.message}`, 'pass a kd session log (.logopen) or a run\'s transcript.jsonl');
  if (error instanceof Error && 'syscall' in error) return errUsage(`Cannot read kd log "${source}": ${error.message}`, 'pass the file kd wrote with .logopen');
  return error;
}

// The kd log a run's transcript.jsonl records (prompts, commands, outputs), one log line at a
// time: `push` takes a line of the transcript, `finish` ends the log. A JSON-lines file without
// one debugger exchange (a run's stacks.jsonl or events.jsonl, say) is refused at the end.
class TranscriptLog {
  // The last log line, held back: the log's final line is not one when it is empty.
  private held: string | undefined;
  private exchanges = 0;

  constructor(
    private readonly onLine: (line: string) => boolean,
    private readonly path: string,
  ) {}

  push(json: string): boolean {
    if (!json.trim()) return true;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(json) as Record<string, unknown>;
    } catch {
      return true;
    }
    if (value === null || typeof value !== 'object') return true;
    if (value.direction === 'send' || value.direction === 'receive') this.exchanges++;
    const prompt = typeof value.prompt === 'string' ? value.prompt : 'kd> ';
    if (value.event === 'banner' && typeof value.output === 'string') return this.piece(value.output);
    if (value.direction === 'send' && value.event === 'resume' && typeof value.command === 'string') return this.piece(`kd> ${value.command}`);
    if (value.direction === 'receive' && value.event === 'break' && typeof value.output === 'string') return this.piece(value.output);
    if (value.direction === 'receive' && value.event === 'command' && typeof value.command === 'string') {
      return this.piece(`${prompt.trimEnd()} ${value.command}`) && (typeof value.output === 'string' && value.output ? this.piece(value.output) : true);
    }
    return true;
  }

  finish(): void {
    if (this.exchanges === 0) {
      throw errUsage(
        `${this.path} is not a run's transcript.jsonl: no line records a debugger command or reply ("direction": "send" or "receive")`,
        'pass the transcript.jsonl of a run directory or a kd log saved with .logopen; to render a run directory again use `leakhunt report <run-dir>`',
      );
    }
    if (this.held) this.onLine(this.held);
    this.held = undefined;
  }

  // One piece of the log (pieces are joined by line breaks), split into its lines.
  private piece(text: string): boolean {
    for (const line of text.split('\n')) {
      if (this.held !== undefined && !this.onLine(this.held)) return false;
      this.held = line;
    }
    return true;
  }
}

// Collects stacks.jsonl lines and writes them in blocks, so a log of any size is written as it is read.
class StacksFile {
  private readonly fd: number;
  private batch = '';

  // Written under a temporary name, renamed when the analysis succeeds.
  constructor(private readonly path: string) {
    this.fd = openSync(`${path}.partial`, 'w');
  }

  // A stack in the shape pool.collect-stacks writes: operation, site, the culprit of a wrapper's site, frames.
  add(stack: HitStack): void {
    const { kind, site, culprit, frames, ...rest } = stack;
    const wrapped = site !== undefined && culprit !== undefined && culprit.index !== site.index;
    this.batch += `${JSON.stringify({ ...rest, operation: kind, site: site?.frame ?? null, ...(wrapped && { culprit: culprit.frame }), frames })}\n`;
    if (this.batch.length >= 1 << 16) this.flush();
  }

  close(complete: boolean): void {
    this.flush();
    closeSync(this.fd);
    if (complete) renameSync(`${this.path}.partial`, this.path);
    else rmSync(`${this.path}.partial`, { force: true });
  }

  private flush(): void {
    if (this.batch) writeSync(this.fd, this.batch);
    this.batch = '';
  }
}

/**
 * Read a kd log (or a transcript.jsonl) as a stream, analyze it, write report.json and
 * stacks.jsonl into runDir, and render the reports. Memory is bounded by the largest command
 * output and the aggregates, not by the log.
 */
export async function analyzeToRunDir(logPath: string, runDir: string, options: RenderOptions = {}): Promise<RenderResult & { analysis: AnalysisSummary }> {
  try {
    accessSync(logPath, constants.R_OK);
  } catch (error) {
    throw errUsage(`Cannot read kd log "${logPath}": ${(error as Error).message}`, 'pass the file kd wrote with .logopen');
  }
  mkdirSync(runDir, { recursive: true });
  const stacksFile = new StacksFile(join(runDir, 'stacks.jsonl'));
  const analyzer = new LogAnalyzer((stack) => stacksFile.add(stack));
  try {
    // A .logopen log is written in the console's code page: latin1 keeps every byte as one character.
    const each = /\.jsonl$/i.test(logPath)
      ? async (onLine: (line: string) => boolean) => {
          const log = new TranscriptLog(onLine, logPath);
          await readFileLines(logPath, 'latin1', (json) => log.push(json));
          log.finish();
        }
      : (onLine: (line: string) => boolean) => readFileLines(logPath, 'latin1', onLine);
    await readKdLogLines(each, (entry) => analyzer.add(entry), analyzer.logOptions);
    analyzer.end();
    stacksFile.close(true);
  } catch (error) {
    stacksFile.close(false);
    throw usageError(error, logPath);
  }
  const analysis = analyzer.finish(logPath);
  writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(analysis.report, null, 2)}\n`);
  const rendered = await renderReports(runDir, options);
  return { ...rendered, analysis };
}
