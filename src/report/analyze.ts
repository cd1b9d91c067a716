/**
 * Offline analysis of a saved kd session (a `.logopen` log of a manual hunt, or a run's
 * transcript.jsonl): every `!poolused` becomes a rank sample in order (at the target time of the
 * `vertarget` before it, when the log has one), every PoolHitTag break with the stack printed
 * after it becomes a classified stack, paired by the same book as the live hunt's
 * (src/evidence/pairing.ts), and the verdict is the live hunt's: the same growth ranking
 * (src/evidence/ranking.ts), the same report builder and decision (src/report/hunt.ts,
 * src/evidence/verdict.ts). Evidence a log lacks (target times, a growth test, retag counts) is
 * named in the verdict, which is then `inconclusive`, never a `leak` from less evidence than the
 * live hunt needs.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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
import type { HuntReport, RankSample } from './model.js';
import { renderReports, type RenderOptions, type RenderResult } from './render.js';
import { writeReportJson } from './report-json.js';
import { allocatorFor, tagOfDword, type AllocatorFrames } from '../evidence/classify.js';
import { PairingBook, type BookClock, type StackRecord } from '../evidence/pairing.js';
import { rankSnapshots, type Ranking } from '../evidence/ranking.js';
import { GROWTH_DEFAULTS } from '../evidence/growth.js';
import { buildHuntReport } from './hunt.js';
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

// A rank sample from a `!poolused` output, at the target time `atMs` (the log's order, one
// "minute" apart, when the log has no target time for it; sampleAxis says so).
function sampleOf(result: PoolusedResult, atMs: number): RankSample {
  const tags: RankSample['tags'] = [];
  for (const row of result.rows) {
    for (const pool of ['nonpaged', 'paged'] as const) {
      const counts = row[pool];
      if (counts.bytes === 0 && counts.allocs === 0) continue;
      tags.push({ tag: padTag(row.tag), pool, bytes: counts.bytes, allocs: counts.allocs, ...(counts.frees !== undefined && { frees: counts.frees }) });
    }
  }
  return { atMs, tags };
}

// The most looks at its samples a hunt's adaptive ranking takes (pool.rank-tags' maxSamples default).
const MAX_LOOKS = 30;

// What kd prints instead of a description when its pooltag.txt lacks the tag
// ("UNKNOWN pooltag 'APpt', please update pooltag.txt"): no owner, not one to show as a description.
function isUnknownTagNote(description: string): boolean {
  return /^\s*UNKNOWN pooltag\b/i.test(description);
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
  private readonly book = new PairingBook();
  private readonly samples: RankSample[] = [];
  /** Target time (`System Uptime` of vertarget) of each sample, when one was read since the sample before. */
  private readonly sampleTimes: (number | undefined)[] = [];
  /** The last target time read, and whether a sample took it already. */
  private uptimeMs: number | undefined;
  private uptimeFresh = false;
  /** The stacks' clock: target time before the first PoolHitTag stack, and the first one read after (with the hits by then). */
  private stacksStart: number | undefined;
  private stacksEnd: { ms: number; hits: number } | undefined;
  /** The hits when PoolHitTag was changed after stacks were read: the first collection ends there. */
  private closedAt: number | undefined;
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
      case 'vertarget':
        return true;
      case 'banner':
      case 'version':
        return this.version === undefined;
      default:
        return false;
    }
  }

  add(entry: AutoEntry): void {
    if (entry.kind) this.counts[entry.kind] = (this.counts[entry.kind] ?? 0) + 1;
    const tag = hitTagFromCommand(entry.command);
    if (tag !== undefined) {
      this.hitTag = tag ?? undefined;
      if (this.reader.hits > 0) this.closedAt ??= this.reader.hits;
    }
    if (!entry.result) {
      this.reader.command(entry.command);
      return;
    }
    if ((entry.kind === 'banner' || entry.kind === 'vertarget' || entry.kind === 'version') && !this.version) this.version = (entry.result as VersionResult).os;
    if (entry.kind === 'vertarget') this.clock((entry.result as VersionResult).uptime);
    if (entry.kind === 'poolused') {
      const result = entry.result as PoolusedResult;
      for (const row of result.rows) if (row.description && !isUnknownTagNote(row.description)) this.descriptions.set(padTag(row.tag), row.description.trim());
      this.sampleTimes.push(this.uptimeFresh ? this.uptimeMs : undefined);
      this.uptimeFresh = false;
      this.samples.push(sampleOf(result, this.samples.length * 60_000));
    }
    this.reader.command(entry.command);
    if (entry.kind === 'break') this.reader.stop(entry.result as BreakResult, entry.output, entry.line, this.hitTag);
    else if (entry.kind === 'stack') this.reader.stack((entry.result as StackResult).frames, entry.line, this.hitTag);
  }

  // A target time read (vertarget's System Uptime), as the hunt reads it before each sample and around each collection.
  private clock(uptime: number | undefined): void {
    if (uptime === undefined) return;
    this.uptimeMs = Math.round(uptime * 1000);
    this.uptimeFresh = true;
    if (this.reader.hits === 0) this.stacksStart = this.uptimeMs;
    // The next target time read after that ends the watch for frees (the hunt reads one there).
    else if (this.stacksEnd) this.closedAt ??= this.reader.hits;
    else if (this.stacksStart !== undefined && this.uptimeMs > this.stacksStart) this.stacksEnd = { ms: this.uptimeMs, hits: this.reader.hits };
  }

  /** The end of the log: allocations still waiting for their block are counted without one. */
  end(): void {
    this.reader.finish();
  }

  // A PoolHitTag stack the reader handed out.
  // Pairing reads the first collection as the live hunt does: its allocations up to the target
  // time read after them (the hunt's end of `count` stacks), then frees only, until the next
  // target time read or PoolHitTag is changed; later stacks (a retag's unmasking rounds, a second hunt) are written, not paired.
  private counted(stack: HitStack): void {
    const hit = stack.hit ?? 0;
    const closed = this.closedAt !== undefined && hit > this.closedAt;
    const watching = this.stacksEnd !== undefined && hit > this.stacksEnd.hits && stack.kind === 'alloc';
    if (!closed && !watching) this.book.add(stack);
    this.stackCount++;
    this.firstStackTag ??= stack.tag;
    this.onStack(stack);
  }

  /** The report of everything added: the live hunt's report and verdict, from what the log holds. */
  finish(source: string): AnalysisSummary {
    this.end();
    const { samples, stackCount } = this;
    const missing: string[] = [];
    const timed = samples.length > 1 && this.sampleTimes.every((t) => t !== undefined);
    const snapshots = samples.map((sample, i) => ({ atMs: timed ? this.sampleTimes[i]! : sample.atMs, counts: sample.tags.map((t) => ({ tag: t.tag, pool: t.pool, bytes: t.bytes, outstanding: t.allocs, ...(t.frees !== undefined && { frees: t.frees }) })) }));
    // The hunt's test spends its error rate over the looks its budget allowed (rank-tags), which a
    // log does not say: the test is run at both ends of that range, and where they disagree the
    // suspect is not known.
    const ranked: Ranking = rankSnapshots(snapshots, ['paged', 'nonpaged']);
    const strict = rankSnapshots(snapshots, ['paged', 'nonpaged'], { alpha: GROWTH_DEFAULTS.alpha / MAX_LOOKS });
    const agreed = (ranked.suspect?.tag ?? null) === (strict.suspect?.tag ?? null) && (ranked.suspect?.pool ?? null) === (strict.suspect?.pool ?? null);
    // Without target times a rate per minute means nothing: only what was gained between samples is kept.
    const ranking = ranked.ranking.map((entry) => {
      const { growthBytesPerMinute, growthAllocsPerMinute, trend, p, significant, continuing, growing, measure, why, ...counts } = entry;
      const kept = timed ? entry : counts;
      const description = this.descriptions.get(entry.tag);
      return description ? { ...kept, owner: { description } } : kept;
    });
    if (samples.length > 1 && !timed) missing.push(`its ${samples.length} !poolused samples have no target time (a vertarget before each, as the hunt reads), so the growth test cannot measure a rate`);
    else if (!agreed) missing.push(`its growth test names ${ranked.suspect ? `"${ranked.suspect.tag}"` : 'no tag'} at family-wise error rate ${GROWTH_DEFAULTS.alpha} and ${strict.suspect ? `"${strict.suspect.tag}"` : 'no tag'} at ${GROWTH_DEFAULTS.alpha / MAX_LOOKS}, and the log does not say how many looks at its samples the hunt took`);
    else if (samples.length < 2) missing.push(`it has ${samples.length === 0 ? 'no' : 'one'} !poolused sample${samples.length === 0 ? '' : ''}, and the growth test needs several`);
    const stackTag = this.hitTag ?? this.firstStackTag;
    let suspect = timed && agreed ? ranked.suspect : null;
    if (suspect && stackTag && padTag(suspect.tag) !== padTag(stackTag)) {
      missing.push(`its PoolHitTag stacks are of tag "${stackTag}", but the growth test named "${suspect.tag}"`);
      suspect = null;
    }
    // The stacks' clock: hits to target time from the vertargets around the stacks.
    const hits = this.closedAt ?? this.reader.hits;
    const span = this.stacksStart !== undefined && this.stacksEnd ? { ms: this.stacksEnd.ms - this.stacksStart, hits: this.stacksEnd.hits } : undefined;
    if (hits > 0 && !span) missing.push('no target time (vertarget) before and after its PoolHitTag stacks, so no site\'s leak rate per minute is known');
    const clock: BookClock = { endHit: hits, ...(span && { spanMs: span.ms, hitsInSpan: span.hits }) };
    // Stacks whose tag the log does not say (no `ed nt!PoolHitTag`, no tag argument) are the book's "????".
    const tag = suspect?.tag ?? stackTag ?? (hits > 0 ? '????' : undefined);
    const sites = this.book.list(clock).filter((site) => site.tag === undefined || !tag || padTag(site.tag) === padTag(tag));
    const paired = sites.some((site) => site.kind === 'alloc' && site.addressed > 0);
    if (hits > 0 && !paired) missing.push('no block addresses, so frees cannot be paired with allocations');
    missing.push('retag rounds are not read from a log');
    const basis = timed && agreed && (!ranked.suspect || suspect) ? ranked.basis : samples.length === 1 ? 'size' : undefined;
    const report = buildHuntReport({
      playbook: `analyze ${source}`,
      startedAt: new Date(0).toISOString(),
      durationMs: 0,
      facts: factsOf(this.version, source),
      steps: [],
      rank: {
        ranking,
        suspect: suspect ?? (basis === 'size' ? ranked.suspect : null),
        ...(basis && { basis }),
        reason: ranked.reason,
        samples: timed ? samples.map((sample, i) => ({ ...sample, atMs: this.sampleTimes[i]! - this.sampleTimes[0]! })) : samples,
        ...(timed && ranked.test && { test: ranked.test }),
        ...(timed && ranked.undecided && { undecided: ranked.undecided }),
        ...(timed && { targetTimeMs: this.sampleTimes.at(-1)! - this.sampleTimes[0]! }),
      },
      collect: { sites, method: paired ? 'pairing' : 'counts', stacks: stackCount, ...(span && { targetTimeMs: span.ms }) },
      ...(tag && { tag }),
      missing: `offline, from a log: ${missing.join('; ')}`,
    });
    report.sampleAxis = timed ? 'time' : 'order';
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
    const { kind, site, culprit, caller, outside, frames, ...rest } = stack;
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
  // The reports are rendered from report.json as written, without reading its megabytes of samples back.
  const rendered = await renderReports(runDir, options, writeReportJson(join(runDir, 'report.json'), analysis.report));
  return { ...rendered, analysis };
}
