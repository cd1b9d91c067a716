/**
 * What a run directory must hold so that another run can pick up after it: `run.json` (the
 * playbook, inputs and target the run started with), the steps that finished (events.jsonl),
 * and the memory writes a dead run left on the target (undo.jsonl). `leakhunt run` restores
 * the writes of earlier runs against the same target before its first step; `leakhunt resume`
 * continues a run after its last completed step.
 *
 * @see ../../docs/reliability-faults.md
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadPendingUndo, undoLogName } from './undo-log.js';
import { redactSecrets } from '../debuggers/redact.js';
import { errUsage } from './errors.js';
import type { RunFiles, StepResult, TargetMemory, UndoRecord } from './types.js';

/** The report flags as a run records them (run.json, lab.json): paths absolute, unset fields left out. */
export interface RecordedReportOptions {
  pooltag?: string;
  localtags?: string[];
  maxGrowthBytesPerMinute?: number;
}

/** The file a run directory records its start in. */
export const runRecordName = 'run.json';

/** What `run.json` holds: enough to start the same run again. */
export interface RunRecord {
  /** Absolute path of the playbook. */
  playbook: string;
  /** `--input` values as given (`key=value`). */
  inputs: string[];
  /** The target spec, secrets redacted (a `key=` must be given again with --target). */
  target: string;
  /** `--plugins` folders, absolute. */
  plugins: string[];
  /** `--kd`: the kd.exe or cdb.exe of a kd: target, when given. */
  kd?: string;
  /** `--command-timeout` in ms, when given. */
  commandTimeoutMs?: number;
  /** `--pooltag`, `--localtag` and `--max-growth`, when given: `leakhunt resume` renders with them too. */
  reportOptions?: RecordedReportOptions;
  startedAt: string;
  /** When `leakhunt resume` took the run up again, oldest first. */
  resumedAt?: string[];
}

/** Write run.json (called at the start of a run, before the first debugger command). */
export function writeRunRecord(files: RunFiles, record: RunRecord): void {
  files.writeJson(runRecordName, { ...record, target: redactSecrets(record.target) });
}

/** Read a run directory's run.json; USAGE error naming the path when it is missing or damaged. */
export function readRunRecord(runDir: string): RunRecord {
  const file = join(runDir, runRecordName);
  if (!existsSync(file)) throw errUsage(`${file}: no ${runRecordName} (not a run directory, or one from a leakhunt that did not record its start)`, 'give the directory a `leakhunt run` wrote (runs/<timestamp>-<playbook>/)');
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunRecord>;
    if (typeof value.playbook !== 'string' || typeof value.target !== 'string' || !Array.isArray(value.inputs)) throw new Error('expected playbook, target and inputs');
    return { plugins: [], ...value } as RunRecord;
  } catch (error) {
    throw errUsage(`${file}:1:1: not a run record (${(error as Error).message})`);
  }
}

// Exists and is a regular file (never a device in its place, which would be read for ever).
function isRegularFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

// A run record, or undefined when the folder is not a run directory.
function tryRunRecord(dir: string): RunRecord | undefined {
  try {
    return existsSync(join(dir, runRecordName)) ? readRunRecord(dir) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes an earlier run left on the target. */
export interface PendingRun {
  dir: string;
  records: UndoRecord[];
}

/** Where to look for writes left pending on the same target. */
export interface PendingLookup {
  /** This run's directory: its own log (resume) and its siblings (earlier runs) are searched. */
  runDir: string;
  /** The target spec of this run; siblings count only when their run.json names the same one. */
  target: string;
  /** Run directories named with --restore-from: searched whatever their target. */
  restoreFrom?: readonly string[];
  /** Search sibling run directories too (default true; false for `sim:`, whose every run is a new machine). */
  siblings?: boolean;
  /** Told about an undo log that cannot be read (damaged, not a regular file). */
  onUnreadable?: (dir: string, error: unknown) => void;
}

/**
 * Earlier runs against the same target whose undo log still has writes: the run directory itself,
 * the --restore-from ones, and the sibling run directories whose run.json names the same target.
 * Newest first, so undoing them in this order unwinds the target.
 */
export function findPendingRuns(lookup: PendingLookup): PendingRun[] {
  const self = resolve(lookup.runDir);
  const target = redactSecrets(lookup.target);
  const candidates = new Map<string, number>();
  const add = (dir: string, order: number) => {
    if (!candidates.has(dir)) candidates.set(dir, order);
  };
  add(self, Number.MAX_SAFE_INTEGER);
  for (const dir of lookup.restoreFrom ?? []) add(resolve(dir), Number.MAX_SAFE_INTEGER - 1);
  const parent = dirname(self);
  let siblings: string[] = [];
  try {
    siblings = readdirSync(parent, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(parent, entry.name));
  } catch {
    // An unreadable parent has no siblings to offer.
  }
  for (const dir of lookup.siblings === false ? [] : siblings) {
    if (dir === self || !existsSync(join(dir, undoLogName))) continue;
    const record = tryRunRecord(dir);
    if (record && record.target === target) add(dir, Date.parse(record.startedAt) || statSync(dir).mtimeMs);
  }
  const found: PendingRun[] = [];
  for (const [dir] of [...candidates].sort((a, b) => b[1] - a[1])) {
    try {
      const records = loadPendingUndo(dir);
      if (records.length > 0) found.push({ dir, records });
    } catch (error) {
      // A damaged log cannot say what to restore; the run goes on and says so.
      lookup.onUnreadable?.(dir, error);
    }
  }
  return found;
}

/** What recovery did with each pending write. */
export interface RecoveryResult {
  /** Put back: the target held what the earlier run wrote. */
  restored: { dir: string; record: UndoRecord }[];
  /** Already back (a reboot reloads code and resets PoolHitTag): marked restored, nothing written. */
  alreadyBack: { dir: string; record: UndoRecord }[];
  /** Neither what was written nor the original: left alone, reported (never write over unknown bytes). */
  leftAlone: { dir: string; record: UndoRecord; found: number[] }[];
}

/** Opens the TargetMemory of an earlier run (its own undo log), holding its pending records. */
export type RecoveryMemory = (run: PendingRun) => TargetMemory & { markRestored?(record: UndoRecord, note: string): void };

// Same bytes?
function sameBytes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/**
 * Put back the writes earlier runs left pending, newest run and newest write first. A write is
 * undone only where the target still holds the bytes that run wrote; where it holds the original
 * the record is marked restored; anything else is left alone and reported.
 */
export async function recoverPendingWrites(runs: readonly PendingRun[], open: RecoveryMemory): Promise<RecoveryResult> {
  const result: RecoveryResult = { restored: [], alreadyBack: [], leftAlone: [] };
  for (const run of runs) {
    const memory = open(run);
    for (const record of [...run.records].sort((a, b) => b.seq - a.seq)) {
      const found = await memory.read(record.address, record.original.length);
      if (sameBytes(found, record.written)) {
        await memory.restore([record]);
        result.restored.push({ dir: run.dir, record });
      } else if (sameBytes(found, record.original)) {
        memory.markRestored?.(record, 'already held the original bytes');
        result.alreadyBack.push({ dir: run.dir, record });
      } else {
        result.leftAlone.push({ dir: run.dir, record, found });
      }
    }
  }
  return result;
}

// Skip reasons that mean "not reached" (the runner's words), unlike a when: that was false.
const abortSkips = new Set(['an earlier step failed', 'the run was aborted']);

/**
 * The main-section steps of a run directory that finished (`ok`, `changed`, or skipped by their
 * own `when:`), by id, from the
 * last stepEnd event of each; a damaged last line (a crash mid-write) is ignored.
 */
export function finishedSteps(runDir: string): Map<string, StepResult> {
  const file = join(runDir, 'events.jsonl');
  const finished = new Map<string, StepResult>();
  if (!isRegularFile(file)) return finished;
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
  lines.forEach((line, index) => {
    let event: { event?: string; step?: string; section?: string; status?: string; outputs?: Record<string, unknown>; summary?: string; reason?: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch (error) {
      if (index === lines.length - 1) return;
      throw errUsage(`${file}:${index + 1}:1: not a JSON line (${(error as Error).message})`);
    }
    if (event.event !== 'stepEnd' || event.section !== 'steps' || typeof event.step !== 'string') return;
    if (event.status === 'ok' || event.status === 'changed') {
      finished.set(event.step, { status: event.status, outputs: event.outputs ?? {}, ...(event.summary && { summary: event.summary }) });
    } else if (event.status === 'skipped' && typeof event.reason === 'string' && !abortSkips.has(event.reason)) {
      // Skipped by its own when: (or its include's): a decision made, not work left undone.
      finished.set(event.step, { status: 'skipped', reason: event.reason, outputs: {} });
    } else {
      finished.delete(event.step);
    }
  });
  return finished;
}

/**
 * Steps of a run directory whose memory writes were undone by cleanup (an `always` step, the
 * engine, a later run) or never undone — not by a main-section step: what the steps after them
 * expected in effect is gone, so a resumed run sets it again.
 */
export function writesUndoneByCleanup(runDir: string, mainStepIds: ReadonlySet<string>): Set<string> {
  const file = join(runDir, undoLogName);
  const writer = new Map<number, string>();
  const restorer = new Map<number, string | undefined>();
  if (!isRegularFile(file)) return new Set();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let value: { event?: string; seq?: number; step?: string };
    try {
      value = JSON.parse(line) as typeof value;
    } catch {
      continue; // blank or cut line
    }
    if (typeof value.seq !== 'number') continue;
    if (value.event === 'write' && typeof value.step === 'string') {
      writer.set(value.seq, value.step);
      restorer.delete(value.seq);
    } else if (value.event === 'restored') {
      restorer.set(value.seq, value.step);
    }
  }
  const steps = new Set<string>();
  for (const [seq, step] of writer) {
    const by = restorer.get(seq);
    if (by === undefined || !mainStepIds.has(by)) steps.add(step);
  }
  return steps;
}

/**
 * The finished steps a resumed run may reuse: every finished step before the first unfinished
 * one, except those whose memory writes cleanup undid (they run again, so PoolHitTag is set
 * again before the steps that expect it). Everything from the first unfinished step runs.
 */
export function reusableSteps(stepIds: readonly string[], finished: ReadonlyMap<string, StepResult>, undoneByCleanup: ReadonlySet<string>): Map<string, StepResult> {
  const firstUnfinished = stepIds.findIndex((id) => !finished.has(id));
  const prefix = firstUnfinished < 0 ? stepIds : stepIds.slice(0, firstUnfinished);
  const reuse = new Map<string, StepResult>();
  for (const id of prefix) {
    if (firstUnfinished >= 0 && undoneByCleanup.has(id)) continue;
    reuse.set(id, finished.get(id)!);
  }
  return reuse;
}

/**
 * The run directory's JSON-lines files of collected evidence. Unlike the safety logs (undo.jsonl,
 * breakpoints.jsonl), what an unfinished step wrote to them is set aside when the run is resumed,
 * since that step runs again and writes its own: a resumed run appends only what is new.
 */
export const collectedDataFiles: readonly string[] = ['stacks.jsonl'];

/** Bytes in each collected-data file of `runDir` now (0 for one not written yet); for stepStart events. */
export function dataFileSizes(runDir: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const name of collectedDataFiles) {
    const file = join(runDir, name);
    sizes[name] = isRegularFile(file) ? statSync(file).size : 0;
  }
  return sizes;
}

/**
 * Before a resumed run: move what the interrupted run's unfinished step `stepId` (and the steps
 * after it) wrote to the collected-data files into `<name>.interrupted.jsonl`, using the sizes its
 * last stepStart recorded. Returns the files cut, with the bytes moved.
 */
export function setAsideUnfinishedData(runDir: string, stepId: string): { file: string; bytes: number }[] {
  const events = join(runDir, 'events.jsonl');
  if (!isRegularFile(events)) return [];
  let sizes: Record<string, number> | undefined;
  for (const line of readFileSync(events, 'utf8').split('\n')) {
    if (!line.includes('"stepStart"') || !line.includes(JSON.stringify(stepId))) continue;
    try {
      const event = JSON.parse(line) as { event?: string; step?: string; dataBytes?: Record<string, number> };
      if (event.event === 'stepStart' && event.step === stepId && event.dataBytes) sizes = event.dataBytes;
    } catch {
      // a cut last line: the step's start is not in it
    }
  }
  if (!sizes) return [];
  const moved: { file: string; bytes: number }[] = [];
  for (const [name, kept] of Object.entries(sizes)) {
    const file = join(runDir, name);
    if (!collectedDataFiles.includes(name) || !isRegularFile(file)) continue;
    const content = readFileSync(file);
    if (content.length <= kept) continue;
    appendFileSync(join(runDir, name.replace(/\.jsonl$/, '.interrupted.jsonl')), content.subarray(kept));
    truncateSync(file, kept);
    moved.push({ file: name, bytes: content.length - kept });
  }
  return moved;
}
