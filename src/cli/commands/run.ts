/**
 * `leakhunt run <playbook>`: connect, plan against the target's facts, run (or `--check`),
 * report progress, write the run directory, and on SIGINT/SIGTERM stop the current step and
 * still run `always` before exiting non-zero.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { checkPlan } from '../../core/check.js';
import { errRunAborted, errSession, errUsage, PlaybookError } from '../../core/errors.js';
import { EventBus, now } from '../../core/events.js';
import type { Reporter } from '../../core/events.js';
import { parseInputArgs, resolveInputs } from '../../core/inputs.js';
import { loadPlaybook, sortErrors } from '../../core/load.js';
import { planPlaybook, planToJson } from '../../core/plan.js';
import { preflightWith } from '../../core/preflight.js';
import { createJsonReporter } from '../../core/reporters/json.js';
import { createListrReporter } from '../../core/reporters/listr.js';
import { createPlainReporter } from '../../core/reporters/plain.js';
import { createRunFiles, defaultRunDir, recordEvents } from '../../core/run-files.js';
import { findPendingRuns, finishedSteps, readRunRecord, recoverPendingWrites, reusableSteps, runRecordName, setAsideUnfinishedData, writeRunRecord, writesUndoneByCleanup, type PendingLookup } from '../../core/resume.js';
import { isExplicitPath } from '../../core/resolve.js';
import { guardRunFiles, runPlan } from '../../core/run.js';
import type { MemoryFactory } from '../../core/run.js';
import type { Registry } from '../../core/registry.js';
import type { ConnectedTarget, StepResult, UndoRecord } from '../../core/types.js';
import { collect, exitCodes, loadPlugins, printErrors, projectPlaybook, reportFailure } from '../output.js';
import { leaveClosedTerminal, onStopSignals, signalText, stopSignalListeners, stopSignals } from '../signals.js';
import { durationForms, parseDuration } from '../../core/duration.js';
import type { RenderOptions } from '../../report/render.js';
import { addReportOptions, recordReportOptions, reportOptionsOf } from '../report-options.js';

/** Options of `leakhunt run`. */
interface RunCommandOptions {
  target: string;
  input: string[];
  out?: string;
  check?: boolean;
  json?: boolean;
  plugins: string[];
  kd?: string;
  commandTimeout?: number;
  restoreFrom: string[];
  inventory?: string;
  parallel: number;
  limit: string[];
  targetTimeout?: number;
  pooltag?: string;
  localtag: string[];
  maxGrowth?: string;
}

/** Everything one hunt needs, from `leakhunt run` or `leakhunt resume`. */
export interface HuntOptions {
  playbook: string;
  /** `--input` values as given (`key=value`). */
  inputs: string[];
  target: string;
  out?: string;
  check?: boolean;
  json?: boolean;
  plugins: string[];
  /** kd.exe or cdb.exe for kd: targets. */
  kd?: string;
  /** Per-command timeout of the debugger session. */
  commandTimeoutMs?: number;
  /** Run directories whose pending memory writes are restored before the first step. */
  restoreFrom?: string[];
  /** Continue the run in `out` after its last finished step (`leakhunt resume`). */
  resume?: boolean;
  /** Events go here instead of the terminal's reporter, and the hunt prints no lines of its own but errors (a lab run's targets). */
  reporter?: Reporter;
  /** Tag owners and the junit threshold of the reports (--pooltag, --localtag, --max-growth). */
  reportOptions?: RenderOptions;
  /** What the hunts of one lab share (createHuntCache), so each target does not load them again. */
  cache?: HuntCache;
}

/**
 * What the hunts of one lab share: its targets run the same playbook with the same plugins, often
 * on one scenario file, so those are loaded and checked once per lab instead of once per target
 * (they were most of the controller's own CPU time in a lab; the playbook is read-only once loaded).
 */
export interface HuntCache {
  registries: Map<string, Promise<Registry | undefined>>;
  playbooks: Map<string, ReturnType<typeof loadPlaybook>>;
  /** A scenario file's problems, by its absolute path. */
  scenarios: Map<string, PlaybookError[]>;
  /** What the pre-flight refused, by playbook and inputs (targets with the same inputs share it). */
  preflights: Map<string, PlaybookError[]>;
}

/** An empty HuntCache, for one lab run. */
export function createHuntCache(): HuntCache {
  return { registries: new Map(), playbooks: new Map(), scenarios: new Map(), preflights: new Map() };
}

// `make()`'s value, kept in `cache` under `key` when there is a cache.
function cached<T>(cache: Map<string, T> | undefined, key: string, make: () => T): T {
  if (!cache) return make();
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key)!;
}

// A duration option (`30s`, `1500ms`, a bare number of ms), or a usage error.
function durationOption(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed <= 0) throw new InvalidArgumentError(`expected ${durationForms}, got "${value}"`);
  return parsed;
}

// A count option (`--parallel 4`), or a usage error.
function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  return parsed;
}

// Every problem of the scenario a sim: target names (none for other targets; a bad spec is left to connect).
async function targetScenarioErrors(spec: string, cache?: Map<string, PlaybookError[]>): Promise<PlaybookError[]> {
  const { parseTargetSpec } = await import('../../debuggers/connect.js');
  const { parseSimTarget, simScenarioErrors } = await import('../../sim/target-spec.js');
  let target;
  try {
    const parsed = parseTargetSpec(spec);
    if (parsed.kind !== 'sim') return [];
    target = parseSimTarget(parsed.rest);
  } catch {
    return [];
  }
  return target.scenario === undefined ? [] : cached(cache, target.scenario, () => simScenarioErrors(target));
}

// The kd layer's TargetMemory (src/debuggers/memory.ts), loaded when present; a refusing one otherwise.
async function memoryFactory(): Promise<MemoryFactory> {
  const specifier = '../../debuggers/memory.js';
  try {
    const module = (await import(specifier)) as { createTargetMemory?: MemoryFactory };
    if (typeof module.createTargetMemory === 'function') return module.createTargetMemory;
  } catch {
    // not built in this version: fall through
  }
  const refuse = (): never => {
    throw new PlaybookError('PLUGIN_ERROR', 'target memory access is not available in this build of leakhunt');
  };
  return () => ({ read: refuse, write: refuse, restore: async () => [], pending: () => [] });
}

// When the playbook wrote report.json, render report.md, report.html and junit.xml beside it.
// A report that cannot be written (the run directory gone, a full disk) is a write failure of
// the run like any other, passed to `onWriteError`.
async function renderRunReports(runDir: string, json: boolean | undefined, onWriteError: (file: string, error: unknown) => void, options: RenderOptions = {}): Promise<void> {
  if (!existsSync(join(runDir, 'report.json'))) return;
  try {
    const { renderReports } = await import('../../report/render.js');
    const rendered = await renderReports(runDir, options);
    if (!json) process.stderr.write(`reports: ${rendered.files.map((path) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path))).join(', ')}\n`);
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code === 'string') onWriteError('the reports', error);
    else process.stderr.write(`warning: rendering the reports failed: ${(error as Error).message}\n`);
  }
}

// The reporter for this terminal: JSON lines, listr2 on a TTY, plain lines otherwise.
function chooseReporter(json: boolean | undefined): Reporter {
  if (json) return createJsonReporter(process.stdout);
  if (process.stdout.isTTY) return createListrReporter();
  return createPlainReporter(process.stdout);
}

/** Add the run command. */
export function register(program: Command): void {
  addReportOptions(program
    .command('run')
    .description('Run a playbook against a target (default: the built-in simulator)')
    .argument('<playbook>', 'playbook file')
    .option('--target <spec>', 'sim:[scenario.yaml|profile], kd:<kd arguments>, process:<command>, replay:<transcript.jsonl>', 'sim:')
    .option('--input <key=value>', 'set a playbook input (repeatable); converted to its declared type', collect, [])
    .option('--out <run-dir>', 'run directory (default runs/<timestamp>-<playbook>/)')
    .option('--check', 'connect for facts only, then print the debugger commands each step would send; send none that changes the target')
    .option('--json', 'print one JSON event per line instead of progress')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .option('--kd <path>', 'kd.exe or cdb.exe for kd: targets (default: LEAKHUNT_KD, then PATH, the Windows Kits root in the registry, the Windows Kits and Debugging Tools folders; see docs/targets.md)')
    .option('--command-timeout <duration>', 'give up on one debugger command after this long (default 2m); kd is broken into and framing resynchronised', durationOption)
    .option('--inventory <lab.yaml>', 'run on every target of a lab inventory instead of --target (README: a lab of targets)')
    .option('--parallel <n>', 'with --inventory: targets run at once in this process', positiveInteger, 4)
    .option('--limit <label=value>', 'with --inventory: only targets with this label (repeatable; name=<target> by name; a,b for either)', collect, [])
    .option('--target-timeout <duration>', 'with --inventory: stop a target that has no result after this long (its cleanup runs)', durationOption)
    .option('--restore-from <run-dir>', 'restore the memory writes this earlier run left on the target before the first step (repeatable; earlier runs in the same parent folder against the same target are found without it)', collect, []))
    .addHelpText('after', `
Examples:
  $ leakhunt run playbooks/find-pool-leak.yaml
  $ leakhunt run playbooks/find-pool-leak.yaml --target sim:winxp-sp3-x86 --input stacks=20
  $ leakhunt run playbooks/find-pool-leak.yaml --target "kd:-k net:port=50000,key=…" --check
  $ leakhunt run playbooks/rank-only.yaml --json > events.jsonl
  $ leakhunt run playbooks/find-pool-leak.yaml --inventory scenarios/lab-all-versions.yaml --parallel 4
  $ leakhunt run playbooks/find-pool-leak.yaml --inventory lab.yaml --limit arch=x64 --target-timeout 30m

Before the first step, leakhunt puts back what an earlier run against the same target left
written (its undo.jsonl): runs in the same parent folder with the same --target, and --restore-from.
Ctrl+C stops the current step and runs the playbook's always: cleanup before exiting.
A second Ctrl+C skips the remaining cleanup steps, but leakhunt still puts back every byte it
wrote (PoolHitTag, patched tags) and leaves the target running; only a third exits at once.
Exit codes: 0 success, 1 the run failed or was aborted, 2 invalid playbook or usage.`)
    .action(async (file: string, options: RunCommandOptions) => {
      let reportOptions: RenderOptions;
      try {
        reportOptions = reportOptionsOf(options);
      } catch (error) {
        process.exitCode = reportFailure(error);
        return;
      }
      if (options.inventory !== undefined) {
        const { runLabCommand } = await import('./lab.js');
        process.exitCode = await runLabCommand({
          playbook: projectPlaybook(file),
          inventory: options.inventory,
          parallel: options.parallel,
          limit: options.limit,
          inputs: options.input,
          plugins: options.plugins,
          ...(options.out !== undefined && { out: options.out }),
          ...(options.json && { json: true }),
          ...(options.kd !== undefined && { kd: options.kd }),
          ...(options.commandTimeout !== undefined && { commandTimeoutMs: options.commandTimeout }),
          ...(options.targetTimeout !== undefined && { targetTimeoutMs: options.targetTimeout }),
          reportOptions,
        });
        return;
      }
      process.exitCode = await runHunt({
        playbook: file,
        inputs: options.input,
        target: options.target,
        ...(options.out !== undefined && { out: options.out }),
        ...(options.check && { check: true }),
        ...(options.json && { json: true }),
        plugins: options.plugins,
        ...(options.kd !== undefined && { kd: options.kd }),
        ...(options.commandTimeout !== undefined && { commandTimeoutMs: options.commandTimeout }),
        restoreFrom: options.restoreFrom,
        reportOptions,
      });
    });
}

// Set once the hunt printed its one-line cause, so a late third signal does not add another.
let causePrinted = false;

// One line on stderr saying why the run did not succeed (never a stack trace).
function printCause(error: PlaybookError | undefined, status: string): void {
  causePrinted = true;
  const code = error ? (error.pluginCode ?? error.code) : 'RUN_FAILED';
  const message = (error?.message ?? `the run ${status}`).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`error ${code}: ${message}${error?.step && !message.includes(`"${error.step}"`) ? ` (step ${error.step})` : ''}\n`);
  // What to do about it, when the error knows (a plugin's ctx.fail hint, an engine error's).
  if (error?.hint) process.stderr.write(`  hint: ${error.hint.replace(/\s*\n\s*/g, ' ')}\n`);
}

/** Connect, restore what earlier runs left written, plan, run (or resume) and report; returns the exit code. */
export async function runHunt(options: HuntOptions): Promise<number> {
  // Signals are taken from the start: a Ctrl+C while plugins load must still end in one line, not a kill.
  const abort = new AbortController();
  const cleanupAbort = new AbortController();
  let runDir: string | undefined;
  let bus: EventBus | undefined;
  let signals = 0;
  // Each signal is said on stderr and, once the run has its events.jsonl, recorded there too
  // (a closed terminal shows nothing; the run directory keeps why the run stopped).
  const say = (text: string) => {
    bus?.emit({ event: 'log', time: now(), level: 'warn', message: text });
    try {
      process.stderr.write(`\n${text}\n`);
    } catch {
      // A terminal that closed (SIGHUP) may refuse the write at once; the run goes on to its cleanup.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') leaveClosedTerminal();
    signals++;
    if (signals === 1) {
      say(`${signalText(signal)}: stopping the current step, then running cleanup (press Ctrl+C again to skip cleanup — unsafe)`);
      abort.abort(new Error(signal));
    } else if (signals === 2) {
      say(`${signalText(signal)} again: skipping the remaining cleanup steps; still restoring what leakhunt wrote to the target (Ctrl+C once more to exit at once — unsafe)`);
      cleanupAbort.abort(new Error(signal));
    } else {
      say(`${signalText(signal)} a third time: exiting now; the target may keep PoolHitTag or patched bytes — the next run restores them from ${runDir ?? 'the run directory'}/undo.jsonl`);
      // The hunt may have printed its cause already (a third signal while the target was being closed).
      if (!causePrinted) process.stderr.write(`error RUN_ABORTED: exited on the third ${signal}; cleanup did not finish\n`);
      process.exit(exitCodes.runFailed);
    }
  };
  const offSignals = onStopSignals(onSignal);
  // main.ts took signals while this module loaded (Symbol.for('leakhunt.earlySignal')); from here on they are ours.
  (process as unknown as Record<symbol, (() => void) | undefined>)[Symbol.for('leakhunt.earlySignal')]?.();
  try {
    return await hunt(options, abort, cleanupAbort, {
      runDir: (dir) => (runDir = dir),
      bus: (events) => (bus = events),
    });
  } finally {
    bus = undefined;
    installLateSignalExit();
    offSignals();
  }
}

let lateSignalExit = false;
// After the hunt, while the process drains, a signal must not turn a decided exit code into a
// kill (130/143): cleanup is over, so exit at once with the code already set. Installed once.
function installLateSignalExit(): void {
  if (lateSignalExit) return;
  lateSignalExit = true;
  onStopSignals(() => {
    // Another hunt in this process still has its handlers on: the signal is its to take.
    if (stopSignalListeners() > 2 * stopSignals.length) return;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : exitCodes.runFailed);
  });
}

/** What the hunt tells runHunt's signal handler as it goes: the run directory, the event bus. */
export interface HuntAnnouncements {
  runDir(dir: string): void;
  bus(bus: EventBus): void;
}

/** The hunt itself, under runHunt's signal handlers (or a lab run's, for each of its targets). */
export async function hunt(given: HuntOptions, abort: AbortController, cleanupAbort: AbortController, announce: HuntAnnouncements): Promise<number> {
  const pluginsKey = JSON.stringify(given.plugins);
  const registry = await cached(given.cache?.registries, pluginsKey, () => loadPlugins(given.plugins));
  if (!registry) return exitCodes.invalid;
  // A playbook named without its folder is looked for in leakhunt.config.yaml's playbook folders.
  const options = { ...given, playbook: projectPlaybook(given.playbook) };
  const loaded = cached(given.cache?.playbooks, `${pluginsKey} ${options.playbook}`, () => loadPlaybook(options.playbook, { registry }));
  if (!loaded.playbook) {
    printErrors(sortErrors(loaded.errors));
    return exitCodes.invalid;
  }
  const playbook = loaded.playbook;
  const parsed = parseInputArgs(options.inputs);
  const inputs = resolveInputs(playbook.inputs, parsed.given);
  if (parsed.errors.length || inputs.errors.length) {
    printErrors([...parsed.errors, ...inputs.errors]);
    return exitCodes.invalid;
  }
  // --input values reach with: through expressions: refuse what a step's schema refuses before connecting.
  const givenNames = Object.keys(parsed.given);
  const refused = cached(options.cache?.preflights, `${pluginsKey} ${options.playbook} ${JSON.stringify([inputs.values, givenNames])}`, () => preflightWith(playbook, registry, { inputs: inputs.values, given: givenNames }));
  if (refused.length) {
    printErrors(sortErrors(refused));
    return exitCodes.invalid;
  }
  if (options.target.trim() === '') return reportFailure(errUsage('Expected --target to name a target, got an empty string', 'sim: runs the built-in simulator'));
  // A scenario named by sim:<file> is checked like the playbook, before the run starts.
  const scenarioErrors = await targetScenarioErrors(options.target, options.cache?.scenarios);
  if (scenarioErrors.length) {
    printErrors(scenarioErrors);
    return exitCodes.invalid;
  }

  const runDir = resolve(options.out ?? defaultRunDir(playbook.name));
  announce.runDir(runDir);
  if (abort.signal.aborted) return reportFailure(errRunAborted('signal before connecting; nothing was sent to the target'), exitCodes.runFailed);
  // Steps the interrupted run finished, read before this run appends to events.jsonl.
  const finished = options.resume ? finishedSteps(runDir) : new Map<string, StepResult>();

  // The first failed write (disk full, run directory gone) aborts the run: what is collected
  // could no longer be kept, and no memory write may happen without its undo record.
  let writeFailure: PlaybookError | undefined;
  const onWriteError = (file: string, error: unknown) => {
    if (writeFailure) return;
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    writeFailure = errRunAborted(`cannot write ${file} in ${runDir}: ${reason}`);
    abort.abort(writeFailure);
  };
  // A run directory this run creates is removed again when the target cannot be reached: it
  // would hold nothing but the run's own record.
  const newRunDir = !existsSync(runDir);
  let removedRunDir = false;
  let files;
  try {
    files = guardRunFiles(createRunFiles(runDir), onWriteError);
  } catch (error) {
    return reportFailure(errUsage(`Cannot create the run directory ${runDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'give --out a folder leakhunt can write'), exitCodes.runFailed);
  }
  // The report flags are recorded as the reports use them, so a later resume renders alike.
  const reportOptions = recordReportOptions(options.reportOptions);
  if (options.resume) {
    const record = readRunRecord(runDir);
    files.writeJson(runRecordName, { ...record, reportOptions, resumedAt: [...(record.resumedAt ?? []), new Date().toISOString()] });
  } else if (!options.check) {
    writeRunRecord(files, {
      playbook: resolve(options.playbook),
      inputs: options.inputs,
      target: options.target,
      // Folders made absolute for `leakhunt resume` from elsewhere; package names stay names.
      plugins: options.plugins.map((source) => (existsSync(resolve(source)) || isExplicitPath(source) ? resolve(source) : source)),
      ...(options.kd !== undefined && { kd: options.kd }),
      ...(options.commandTimeoutMs !== undefined && { commandTimeoutMs: options.commandTimeoutMs }),
      ...(reportOptions && { reportOptions }),
      startedAt: new Date().toISOString(),
    });
  }
  const bus = new EventBus([options.reporter ?? chooseReporter(options.json)]);
  recordEvents(bus, files);
  announce.bus(bus);


  let target: ConnectedTarget | undefined;
  let exitCode: number = exitCodes.runFailed;
  try {
    try {
      // Loaded here, not at start-up: the transports pull in execa and the simulator.
      const { connectTarget } = await import('../../debuggers/connect.js');
      target = await connectTarget(options.target, {
        runDir,
        signal: abort.signal,
        onWriteError,
        ...(options.kd && { kdPath: options.kd }),
        ...(options.commandTimeoutMs !== undefined && { commandTimeoutMs: options.commandTimeoutMs }),
      });
    } catch (error) {
      // A stop while the console had not answered yet (Ctrl+C, a lab target's timeout) is an abort, not a broken target.
      const stopped = abort.signal.aborted && (error as { code?: unknown }).code === 'SESSION_ABORTED';
      const failure = error instanceof PlaybookError ? error : stopped ? errRunAborted('stopped while connecting, before the debugger answered') : errSession(options.target, error);
      // events.jsonl keeps why the run never started (a lab report reads it from there).
      bus.emit({ event: 'log', time: now(), level: 'error', message: `${failure.pluginCode ?? failure.code}: ${failure.message}` });
      // A single run's directory would hold nothing else: it is removed (a lab keeps its targets').
      if (newRunDir && !options.resume && !options.reporter) removedRunDir = removeUnusedRunDir(runDir);
      return reportFailure(failure, exitCodes.runFailed);
    }
    if (!options.check) {
      try {
        await recoverEarlierWrites(target, bus, { runDir, target: options.target, restoreFrom: options.restoreFrom ?? [] });
      } catch (error) {
        const wrapped = error instanceof PlaybookError ? error : errSession(options.target, error);
        printCause(new PlaybookError(wrapped.code, `could not restore what an earlier run left on the target: ${wrapped.message}`), 'failed');
        return exitCodes.runFailed;
      }
    }
    const planned = planPlaybook(playbook, target.facts, registry);
    if (!planned.plan) {
      printErrors(planned.errors);
      return exitCodes.invalid;
    }
    files.writeJson(options.resume ? 'plan-resumed.json' : 'plan.json', planToJson(planned.plan));
    if (options.check) {
      checkPlan(planned.plan, inputs.values, bus, runDir);
      exitCode = exitCodes.ok;
      return exitCode;
    }
    const mainIds = planned.plan.steps.map((p) => p.step.id);
    const reuse = options.resume ? reusableSteps(mainIds, finished, writesUndoneByCleanup(runDir, new Set(mainIds))) : undefined;
    if (reuse) {
      bus.emit({ event: 'log', time: now(), level: 'info', message: `resuming ${runDir}: ${reuse.size} finished step(s) reused (${[...reuse.keys()].join(', ') || 'none'})` });
      // What the unfinished step collected is set aside: it runs again and collects its own.
      const rerun = mainIds.find((id) => !reuse.has(id));
      for (const { file, bytes } of rerun ? setAsideUnfinishedData(runDir, rerun) : []) {
        bus.emit({ event: 'log', time: now(), level: 'info', message: `${file}: ${bytes} bytes the interrupted step "${rerun}" wrote moved to ${file.replace(/\.jsonl$/, '.interrupted.jsonl')}; it runs again` });
      }
    }
    const result = await runPlan({
      plan: planned.plan,
      target,
      inputs: inputs.values,
      files,
      bus,
      memory: await memoryFactory(),
      signal: abort.signal,
      cleanupSignal: cleanupAbort.signal,
      targetSpec: options.target,
      runDir,
      ...(reuse && { reuse }),
    });
    if (!writeFailure) await renderRunReports(runDir, options.json || options.reporter !== undefined, onWriteError, options.reportOptions);
    exitCode = result.status === 'succeeded' && !writeFailure ? exitCodes.ok : exitCodes.runFailed;
    if (exitCode !== exitCodes.ok) printCause(writeFailure ?? result.error, result.status);
    return exitCode;
  } finally {
    try {
      await target?.close({ resume: true });
    } catch (error) {
      process.stderr.write(`warning: closing the target failed: ${(error as Error).message}\n`);
    }
    await bus.close();
    if (!options.json && !options.reporter && !removedRunDir) process.stderr.write(`run directory: ${runDir}\n`);
  }
}

// Remove a run directory that holds only what leakhunt wrote before connecting (run.json, the
// failure in events.jsonl); one with a transcript keeps what the debugger said. True when removed.
function removeUnusedRunDir(runDir: string): boolean {
  try {
    if (readdirSync(runDir).some((name) => name !== runRecordName && name !== 'events.jsonl')) return false;
    rmSync(runDir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

// Before the first step: put back what earlier runs against this target left written (a debugger
// that died, a third Ctrl+C), from their undo logs; logged as warnings.
async function recoverEarlierWrites(target: ConnectedTarget, bus: EventBus, lookup: PendingLookup): Promise<void> {
  // A sim: target is a new simulated machine in every run directory, so earlier runs are not on
  // it, unless the spec names a machine=<folder> that persists across runs.
  const { parseTargetSpec } = await import('../../debuggers/connect.js');
  const { parseSimTarget } = await import('../../sim/target-spec.js');
  const parsed = parseTargetSpec(lookup.target);
  const runs = findPendingRuns({
    ...lookup,
    siblings: parsed.kind !== 'sim' || parseSimTarget(parsed.rest).machine !== undefined,
    onUnreadable: (dir, error) => bus.emit({ event: 'log', time: now(), level: 'warn', message: `cannot read the undo log of ${dir} (${(error as Error).message}); what that run wrote is not restored` }),
  });
  if (runs.length === 0) return;
  const { createTargetMemory } = await import('../../debuggers/memory.js');
  const result = await recoverPendingWrites(runs, (run) => createTargetMemory(target.session, guardRunFiles(createRunFiles(run.dir), () => undefined, []), 'recover', { pending: run.records }));
  const describe = (entries: { dir: string; record: UndoRecord }[]) => entries.map(({ dir, record }) => `${record.address} (${record.purpose}, ${dir})`).join(', ');
  if (result.restored.length) bus.emit({ event: 'log', time: now(), level: 'warn', message: `restored ${result.restored.length} memory write(s) an earlier run left on the target: ${describe(result.restored)}` });
  if (result.alreadyBack.length) bus.emit({ event: 'log', time: now(), level: 'info', message: `${result.alreadyBack.length} write(s) of an earlier run were already undone on the target (rebooted?): ${describe(result.alreadyBack)}` });
  for (const { dir, record, found } of result.leftAlone) {
    bus.emit({ event: 'log', time: now(), level: 'warn', message: `left ${record.address} alone: it holds ${found.join(' ')}, neither what ${dir} wrote nor the original` });
  }
}
