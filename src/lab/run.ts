/**
 * A lab run: one playbook on every target of an inventory, up to N at once in this process
 * (kd sessions wait on I/O, not on the CPU), each target in its own run directory under one lab
 * directory. A target that fails, hangs past its timeout or loses its debugger is recorded as such
 * and the others go on; a stop (Ctrl+C) aborts every running target, whose cleanup still runs.
 *
 * The hunt of one target is the single run's (`runTarget`, given by the CLI), so a lab target
 * behaves exactly like `leakhunt run --target <spec>`.
 *
 * @see ../../README.md#a-lab-of-targets
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from '../core/events.js';
import type { RecordedReportOptions } from '../core/resume.js';
import { createJsonReporter } from '../core/reporters/json.js';
import { createPlainReporter, type TextSink } from '../core/reporters/plain.js';
import type { LabTarget } from './inventory.js';

/** How one target's run ended, as the lab sees it. */
export type TargetStatus = 'succeeded' | 'failed' | 'invalid' | 'timed-out' | 'aborted' | 'not-run';

/** The lab's record of one target, written to its run directory as lab-target.json. */
export interface TargetRecord {
  name: string;
  /** The target spec, keys redacted. */
  spec: string;
  labels: Record<string, string | number | boolean>;
  runner: string[];
  status: TargetStatus;
  exitCode?: number;
  startedAt?: string;
  durationMs?: number;
}

/** The file each target's run directory gets from the lab. */
export const targetRecordName = 'lab-target.json';
/** The lab directory's own record. */
export const labRecordName = 'lab.json';

/** What `leakhunt resume <lab-dir>` needs to take a lab run up again. */
export interface LabRecord {
  schemaVersion: 1;
  playbook: string;
  inventory: string;
  /** --limit selectors as given: resume runs the same targets. */
  limit: string[];
  inputs: string[];
  plugins: string[];
  parallel: number;
  targetTimeoutMs?: number;
  kd?: string;
  commandTimeoutMs?: number;
  /** --pooltag, --localtag and --max-growth: every target's reports and the lab's use them. */
  reportOptions?: RecordedReportOptions;
  startedAt: string;
  resumedAt?: string[];
}

/** What the lab gives the hunt of one target. */
export interface TargetRun {
  target: LabTarget;
  runDir: string;
  /** Aborting it stops the target's current step; its cleanup still runs. */
  signal: AbortController;
  /** Aborting it skips the target's cleanup steps too (a second Ctrl+C). */
  cleanupSignal: AbortController;
  reporter: Reporter;
  /** Continue the target's interrupted run (it has a run.json). */
  resume: boolean;
}

/** The lab's counts, after each piece of its news. */
export interface LabCounts {
  finished: number;
  succeeded: number;
  /** Finished but not succeeded (failed, invalid, timed out, aborted). */
  failed: number;
  running: number;
  waiting: number;
  total: number;
}

/** A piece of the lab's own news: the text a line of it says, and what it is about. */
export interface LabNews {
  event: 'lab-start' | 'target-start' | 'target-timeout' | 'target-end';
  text: string;
  counts: LabCounts;
  target?: LabTarget;
  /** target-end: the target's record. */
  record?: TargetRecord;
}

/**
 * How a lab shows itself: each target's events through a reporter of its own, and the lab's own
 * news. Plain lines (prefixed `[name]`) and JSON lines are built in; the live task list on a
 * TTY is createListrLabView (./progress.ts).
 */
export interface LabView {
  reporter(target: LabTarget): Reporter;
  news(news: LabNews): void;
  /** The lab is being stopped (first stop: cleanup runs; second: cleanup steps skipped). */
  stopping?(stops: number): void;
  /** The lab ended (every record written): finish drawing. */
  close?(records: readonly TargetRecord[]): Promise<void>;
}

/** Options of runLab. */
export interface LabRunOptions {
  labDir: string;
  targets: readonly LabTarget[];
  parallel: number;
  /** Give up on a target after this long (its cleanup still runs). */
  targetTimeoutMs?: number;
  /** Targets to leave alone (finished in an earlier run of this lab). */
  skip?: ReadonlySet<string>;
  /** Progress lines (plain) or JSON events (each with a `target` field); unused when `view` is given. */
  out: TextSink;
  json?: boolean;
  /** How the lab shows itself instead (the live task list at a terminal). */
  view?: LabView;
  /** Run one target's hunt; resolves to its exit code (0 ok, 1 failed, 2 invalid). */
  runTarget(run: TargetRun): Promise<number>;
}

/** A running lab: abort it (a stop signal), or wait for its records. */
export interface LabRun {
  /** First call: stop every running target (cleanup runs) and start no more; second: skip cleanup too. */
  stop(): void;
  done: Promise<TargetRecord[]>;
}

/** A target's run directory in a lab directory. */
export function targetDir(labDir: string, name: string): string {
  return join(labDir, 'targets', name);
}

/** Read a target's lab-target.json, if the lab wrote one. */
export function readTargetRecord(runDir: string): TargetRecord | undefined {
  const file = join(runDir, targetRecordName);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TargetRecord;
  } catch {
    return undefined;
  }
}

// Write a target's record beside its run.
function writeTargetRecord(runDir: string, record: TargetRecord): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, targetRecordName), `${JSON.stringify(record, null, 2)}\n`);
}

// Every line written through the sink, prefixed with the target's name.
function prefixed(out: TextSink, name: string): TextSink {
  return { write: (text: string) => out.write(text.replace(/^(?=.)/gm, `[${name}] `)) };
}

// Every JSON line written through the sink, with the target's name as its first field.
function tagged(out: TextSink, name: string): TextSink {
  return { write: (text: string) => out.write(text.replace(/^\{/gm, `{"target":${JSON.stringify(name)},`)) };
}

/** Plain lines: each target's events prefixed `[name]`, the lab's news as `lab      …` lines (logs, CI). */
export function plainLabView(out: TextSink): LabView {
  return {
    reporter: (target) => createPlainReporter(prefixed(out, target.name)),
    news: (news) => out.write(`lab      ${news.text}\n`),
  };
}

/** JSON lines: each target's events with its `target`, the lab's news as `{"event":"lab",…}` with the counts. */
export function jsonLabView(out: TextSink): LabView {
  return {
    reporter: (target) => createJsonReporter(tagged(out, target.name)),
    news: (news) => out.write(`${JSON.stringify({ event: 'lab', time: new Date().toISOString(), message: news.text, ...news.counts })}\n`),
  };
}

/** Start a lab run; targets are taken in inventory order, up to `parallel` at once. */
export function runLab(options: LabRunOptions): LabRun {
  const queue = options.targets.filter((target) => !options.skip?.has(target.name));
  const records = new Map<string, TargetRecord>();
  const running = new Map<string, TargetRun>();
  let stops = 0;
  const total = options.targets.length - (options.skip?.size ?? 0);
  const view = options.view ?? (options.json ? jsonLabView(options.out) : plainLabView(options.out));
  const counts = (): LabCounts => {
    const finished = [...records.values()].filter((r) => r.status !== 'not-run');
    const by = (status: TargetStatus) => finished.filter((r) => r.status === status).length;
    return { finished: finished.length, succeeded: by('succeeded'), failed: finished.length - by('succeeded'), running: running.size, waiting: queue.length, total };
  };
  const news = (event: LabNews['event'], text: string, about: { target?: LabTarget; record?: TargetRecord } = {}) => view.news({ event, text, counts: counts(), ...about });
  const progress = () => {
    const c = counts();
    return `${c.finished}/${c.finished + c.running + c.waiting} finished (${c.succeeded} succeeded, ${c.failed} not), ${c.running} running, ${c.waiting} waiting`;
  };

  async function one(target: LabTarget): Promise<void> {
    const runDir = targetDir(options.labDir, target.name);
    const run: TargetRun = {
      target,
      runDir,
      signal: new AbortController(),
      cleanupSignal: new AbortController(),
      reporter: view.reporter(target),
      resume: existsSync(join(runDir, 'run.json')),
    };
    const base = { name: target.name, spec: target.shownSpec, labels: target.labels, runner: target.runner };
    const startedAt = new Date();
    writeTargetRecord(runDir, { ...base, status: 'not-run', startedAt: startedAt.toISOString() });
    running.set(target.name, run);
    news('target-start', `${target.name}: started${run.resume ? ' (resuming its run)' : ''} on ${target.shownSpec}; ${progress()}`, { target });
    let timedOut = false;
    const timer = options.targetTimeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      news('target-timeout', `${target.name}: no result after ${Math.round(options.targetTimeoutMs! / 1000)}s; stopping it (its cleanup runs)`, { target });
      run.signal.abort(new Error('the lab target timeout'));
    }, options.targetTimeoutMs);
    let exitCode: number;
    try {
      exitCode = await options.runTarget(run);
    } catch (error) {
      // A bug in one target's hunt is that target's failure, not the lab's.
      options.out.write(`[${target.name}] internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      exitCode = 1;
    } finally {
      if (timer) clearTimeout(timer);
      running.delete(target.name);
    }
    const status: TargetStatus = exitCode === 0 ? 'succeeded' : timedOut ? 'timed-out' : run.signal.signal.aborted ? 'aborted' : exitCode === 2 ? 'invalid' : 'failed';
    const record: TargetRecord = { ...base, status, exitCode, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime() };
    records.set(target.name, record);
    writeTargetRecord(runDir, record);
    news('target-end', `${target.name}: ${status}${exitCode !== 0 ? ` (exit ${exitCode})` : ''}; ${progress()}`, { target, record });
  }

  async function worker(): Promise<void> {
    // After a stop, what is still queued stays queued (recorded as not-run below).
    while (stops === 0 && queue.length > 0) await one(queue.shift()!);
  }

  const done = (async () => {
    news('lab-start', `${queue.length} target(s), up to ${options.parallel} at once → ${options.labDir}`);
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, queue.length)) }, worker));
    // Targets a stop kept from starting stay not-run: `leakhunt resume <lab-dir>` runs them.
    for (const target of queue.splice(0)) {
      const record: TargetRecord = { name: target.name, spec: target.shownSpec, labels: target.labels, runner: target.runner, status: 'not-run' };
      records.set(target.name, record);
      writeTargetRecord(targetDir(options.labDir, target.name), record);
    }
    const all = options.targets.filter((t) => records.has(t.name)).map((t) => records.get(t.name)!);
    await view.close?.(all);
    return all;
  })();

  return {
    stop() {
      stops++;
      view.stopping?.(stops);
      for (const run of running.values()) (stops === 1 ? run.signal : run.cleanupSignal).abort(new Error('stop signal'));
    },
    done,
  };
}
