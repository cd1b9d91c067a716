/**
 * Reads a run directory for the renderers: report.json (the hunt's result), stacks.jsonl
 * (streamed), the debugger commands with their timings (from report.json or streamed from
 * transcript.jsonl), and the pool tag owners that annotate every tag.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { errUsage, PlaybookError } from '../core/errors.js';
import { runRecordName } from '../core/resume.js';
import { padTag } from '../kd/common.js';
import type { HuntReport } from './model.js';
import { loadPoolTags, PoolTagDatabase } from './pooltag.js';
import { allocatorFor } from '../evidence/classify.js';
import type { StackSummary } from '../evidence/pairing.js';
import { readStacksFile } from './stacks-file.js';

/** One debugger command with its timing. */
export interface CommandTiming {
  command: string;
  durationMs: number;
  complete: boolean;
}

/** Debugger commands summed up per verb, plus the first ones in order. */
export interface CommandStats {
  total: number;
  totalMs: number;
  incomplete: number;
  /** By first word (`kb`, `!poolused`, `g`), most time first. */
  byVerb: { verb: string; count: number; totalMs: number; maxMs: number }[];
  /** The first commands in order (at most `listLimit`). */
  first: CommandTiming[];
}

/** An owner line for a tag, from pooltag.txt / localtag.txt or what report.json already said. */
export interface TagOwner {
  binary?: string;
  description: string;
}

/** Everything the renderers read. */
export interface RunData {
  runDir: string;
  report: HuntReport;
  stacks?: StackSummary;
  commands: CommandStats;
  /** Owner of a tag; undefined when no pooltag file or report.json knows it. */
  ownerOf(tag: string): TagOwner | undefined;
}

/** Options shared by `leakhunt report` and `leakhunt analyze`. */
export interface TagOptions {
  /** pooltag.txt to use instead of the Windows Kits copy. */
  pooltag?: string;
  /** A team's localtag.txt files, later ones winning. */
  localtags?: readonly string[];
  /** An already loaded database (tests, or a caller that loaded it once). */
  tags?: PoolTagDatabase;
  env?: NodeJS.ProcessEnv;
}

const listLimit = 200;

// A JSON.parse failure as `file:line:col: message`, from the position Node reports.
function jsonError(path: string, text: string, error: Error): PlaybookError {
  const position = /position (\d+)/.exec(error.message);
  let where = path;
  if (position) {
    const before = text.slice(0, Number(position[1]));
    const line = before.split('\n').length;
    where = `${path}:${line}:${before.length - before.lastIndexOf('\n')}`;
  }
  return errUsage(`${where}: report.json is not valid JSON (${error.message})`, 'rebuild it with `leakhunt run … --out <dir>` or `leakhunt analyze <kd-log> --out <dir>`');
}

/** Read and check report.json; a coded USAGE error names the file (and line:col) when it is missing or broken. */
export function readReportJson(path: string): HuntReport {
  if (!existsSync(path)) {
    // A run directory (its run.json) without its report: the run ended before its verdict step.
    const dir = dirname(path);
    if (existsSync(join(dir, runRecordName))) throw errUsage(`No report.json in ${dir}: the run was interrupted before it wrote its verdict`, `continue it with \`leakhunt resume ${dir}\`, which reuses what it collected and writes the report`);
    throw errUsage(`No report.json in the run directory (${path})`, 'pass a directory written by `leakhunt run --out` or `leakhunt analyze --out`');
  }
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw jsonError(path, text, error as Error);
  }
  const report = value as Partial<HuntReport>;
  const missing = ['verdict', 'ranking', 'sites', 'steps', 'target'].filter((key) => (report as Record<string, unknown>)?.[key] === undefined);
  if (typeof value !== 'object' || value === null || missing.length > 0) {
    throw errUsage(`${path}: not a leakhunt report (missing ${missing.join(', ') || 'everything'})`, 'report.json must follow schemas/report.schema.json');
  }
  if (report.schemaVersion !== 1) throw errUsage(`${path}: schemaVersion ${JSON.stringify(report.schemaVersion)} is not supported (expected 1)`, 'upgrade leakhunt');
  return report as HuntReport;
}

// Sum up a stream of command timings without keeping more than the first few in memory.
function commandCollector() {
  const stats: CommandStats = { total: 0, totalMs: 0, incomplete: 0, byVerb: [], first: [] };
  const verbs = new Map<string, CommandStats['byVerb'][number]>();
  return {
    add(timing: CommandTiming) {
      stats.total++;
      stats.totalMs += timing.durationMs;
      if (!timing.complete) stats.incomplete++;
      if (stats.first.length < listLimit) stats.first.push(timing);
      const verb = timing.command.trim().split(/\s+/)[0] || '(empty)';
      const entry = verbs.get(verb) ?? { verb, count: 0, totalMs: 0, maxMs: 0 };
      entry.count++;
      entry.totalMs += timing.durationMs;
      entry.maxMs = Math.max(entry.maxMs, timing.durationMs);
      verbs.set(verb, entry);
    },
    done(): CommandStats {
      stats.byVerb = [...verbs.values()].sort((a, b) => b.totalMs - a.totalMs || b.count - a.count);
      return stats;
    },
  };
}

/** Commands and timings: report.json's `commands` when present, else transcript.jsonl streamed. */
export async function readCommandTimings(runDir: string, report: HuntReport): Promise<CommandStats> {
  const collector = commandCollector();
  if (report.commands?.length) {
    for (const command of report.commands) collector.add(command);
    return collector.done();
  }
  const path = join(runDir, 'transcript.jsonl');
  if (!existsSync(path)) return collector.done();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const text of lines) {
    if (!text.trim()) continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    // A transcript line is a command with its answer when it names the command and a duration.
    if (typeof value?.command !== 'string' || typeof value.durationMs !== 'number') continue;
    collector.add({ command: value.command, durationMs: value.durationMs, complete: value.complete !== false });
  }
  return collector.done();
}

/** Owners from the tag database first (localtag.txt overrides pooltag.txt), else from report.json. */
export function tagOwners(report: HuntReport, tags: PoolTagDatabase): (tag: string) => TagOwner | undefined {
  const fromReport = new Map<string, TagOwner>();
  for (const ranked of report.ranking) if (ranked.owner) fromReport.set(padTag(ranked.tag), ranked.owner);
  return (tag) => {
    const found = tags.lookup(tag);
    if (found) return { binary: found.binary, description: found.description };
    return fromReport.get(padTag(tag));
  };
}

/**
 * Load everything a run directory holds for rendering. `report`, when given, is its report.json
 * as writeReportJson wrote it and gave it back, and the file is not read again.
 */
export async function loadRun(runDir: string, options: TagOptions = {}, report: HuntReport = readReportJson(join(runDir, 'report.json'))): Promise<RunData> {
  const tags = options.tags ?? loadPoolTags({ pooltag: options.pooltag, localtags: options.localtags, env: options.env });
  // Stacks are classified with the target's allocator frames, as the hunt that wrote them did.
  const stacks = await readStacksFile(join(runDir, 'stacks.jsonl'), { allocator: allocatorFor(report.target?.os?.build) });
  const commands = await readCommandTimings(runDir, report);
  return { runDir, report, stacks, commands, ownerOf: tagOwners(report, tags) };
}

/** An owner as one line: `abcflt.sys — Abc filter`, or `unknown owner`. */
export function describeOwner(owner: TagOwner | undefined): string {
  if (!owner) return 'unknown owner';
  return owner.binary ? `${owner.binary} — ${owner.description}` : owner.description;
}
