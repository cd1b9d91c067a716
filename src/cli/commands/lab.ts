/**
 * The lab's command line: `leakhunt run <playbook> --inventory lab.yaml` (runLabCommand),
 * `leakhunt resume <lab-dir>` (resumeLabCommand), `leakhunt report --merge <run-dir>…`
 * (mergeCommand) and `leakhunt lab matrix lab.yaml`. Argv to calls into src/lab; no logic here.
 *
 * @see ../../../README.md#a-lab-of-targets
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { errUsage } from '../../core/errors.js';
import { now, type EventBus } from '../../core/events.js';
import { defaultRunDir } from '../../core/run-files.js';
import { limitTargets, loadInventory, type LabTarget } from '../../lab/inventory.js';
import { labMatrix } from '../../lab/matrix.js';
import { writeLabReports } from '../../lab/report.js';
import { labRecordName, readTargetRecord, runLab, targetDir, type LabRecord } from '../../lab/run.js';
import type { RenderOptions } from '../../report/render.js';
import { collect, exitCodes, printErrors, reportFailure } from '../output.js';
import { recordReportOptions, reportOptionsOf, type ReportCommandOptions } from '../report-options.js';
import { leaveClosedTerminal, onStopSignals, signalText } from '../signals.js';
import { createHuntCache, hunt } from './run.js';

/** What `run --inventory` passes on. */
export interface LabCommandOptions {
  playbook: string;
  inventory: string;
  parallel: number;
  limit: string[];
  inputs: string[];
  plugins: string[];
  out?: string;
  json?: boolean;
  kd?: string;
  commandTimeoutMs?: number;
  targetTimeoutMs?: number;
  /** --pooltag, --localtag and --max-growth, as every command that renders reports takes them. */
  reportOptions?: RenderOptions;
}

// A path as the user would type it.
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

// The inventory's targets after --limit, or printed errors.
function selectTargets(inventory: string, limit: readonly string[]): LabTarget[] | undefined {
  const loaded = loadInventory(inventory);
  if (!loaded.inventory) {
    printErrors(loaded.errors);
    return undefined;
  }
  const limited = limitTargets(loaded.inventory.targets, limit);
  if (limited.errors.length) {
    printErrors(limited.errors);
    return undefined;
  }
  if (limited.targets.length === 0) {
    printErrors([errUsage(`No target of ${shown(loaded.inventory.file)} matches --limit ${limit.join(' --limit ')}`, 'labels are matched exactly; name=<target> selects by name')]);
    return undefined;
  }
  return limited.targets;
}

// Run the lab's targets under one set of stop-signal handlers; write the lab reports; return the exit code.
async function driveLab(record: LabRecord, labDir: string, targets: LabTarget[], skip: Set<string>, json: boolean | undefined): Promise<number> {
  const out = process.stdout;
  // At a terminal the live task list: the lab's counts and each target's step; plain lines otherwise.
  // The targets' hunts share the playbook, plugins and scenario files, loaded once.
  const cache = createHuntCache();
  // The event bus of each target whose hunt is running.
  const buses = new Map<string, EventBus>();
  const view = !json && out.isTTY ? (await import('../../lab/progress.js')).createListrLabView({ targets: targets.filter((target) => !skip.has(target.name)), parallel: record.parallel, labDir: shown(labDir) }) : undefined;
  const lab = runLab({
    labDir,
    targets,
    parallel: record.parallel,
    ...(record.targetTimeoutMs !== undefined && { targetTimeoutMs: record.targetTimeoutMs }),
    skip,
    out,
    ...(json && { json: true }),
    ...(view && { view }),
    runTarget: (run) => {
      const finished = () => buses.delete(run.target.name);
      return hunt(
        {
          playbook: record.playbook,
          // Inventory inputs first: --input on the command line wins.
          inputs: [...Object.entries(run.target.inputs).map(([key, value]) => `${key}=${String(value)}`), ...record.inputs],
          target: run.target.spec,
          out: run.runDir,
          plugins: record.plugins,
          reporter: run.reporter,
          ...(record.kd !== undefined && { kd: record.kd }),
          ...(record.commandTimeoutMs !== undefined && { commandTimeoutMs: record.commandTimeoutMs }),
          ...(record.reportOptions && { reportOptions: record.reportOptions }),
          ...(run.resume && { resume: true }),
          cache,
        },
        run.signal,
        run.cleanupSignal,
        { runDir: () => undefined, bus: (bus) => buses.set(run.target.name, bus) },
      ).finally(finished);
    },
  });
  let signals = 0;
  const off = onStopSignals((signal) => {
    if (signal === 'SIGHUP') leaveClosedTerminal();
    signals++;
    // Said on stderr and recorded in every running target's events.jsonl (a closed terminal shows
    // nothing; each run directory keeps why its run stopped).
    const say = (text: string) => {
      for (const bus of buses.values()) bus.emit({ event: 'log', time: now(), level: 'warn', message: text });
      try {
        process.stderr.write(`\n${text}\n`);
      } catch {
        // a closed terminal: the lab goes on to every target's cleanup
      }
    };
    if (signals === 1) say(`${signalText(signal)}: stopping every running target, then running each one's cleanup; targets not started stay for \`leakhunt resume ${shown(labDir)}\` (Ctrl+C again to skip cleanup — unsafe)`);
    else if (signals === 2) say(`${signalText(signal)} again: skipping the remaining cleanup steps of every target; leakhunt still restores what it wrote`);
    else {
      say(`${signalText(signal)} a third time: exiting now; the next run on each target restores what this one left from its undo.jsonl`);
      process.exit(exitCodes.runFailed);
    }
    lab.stop();
  });
  // main.ts took signals while this module loaded; from here on they are the lab's.
  (process as unknown as Record<symbol, (() => void) | undefined>)[Symbol.for('leakhunt.earlySignal')]?.();
  let records;
  try {
    records = await lab.done;
  } finally {
    off();
  }
  const dirs = targets.map((target) => targetDir(labDir, target.name)).filter((dir) => existsSync(dir));
  const { lab: report, files } = await writeLabReports(dirs, labDir, basename(record.playbook), record.reportOptions);
  if (!json) {
    for (const culprit of report.culprits) out.write(`lab      ${culprit.text}\n`);
    if (report.culprits.length === 0) out.write(`lab      no target names a culprit\n`);
    process.stderr.write(`lab reports: ${files.map(shown).join(', ')}\nlab directory: ${shown(labDir)}\n`);
  }
  const unfinished = records.filter((r) => r.status !== 'succeeded' && !skip.has(r.name));
  if (unfinished.length && !json) process.stderr.write(`${unfinished.length} target(s) did not succeed: ${unfinished.map((r) => `${r.name} (${r.status})`).join(', ')}; \`leakhunt resume ${shown(labDir)}\` runs them again\n`);
  return unfinished.length ? exitCodes.runFailed : exitCodes.ok;
}

/** `leakhunt run <playbook> --inventory lab.yaml`. */
export async function runLabCommand(options: LabCommandOptions): Promise<number> {
  const targets = selectTargets(options.inventory, options.limit);
  if (!targets) return exitCodes.invalid;
  if (!existsSync(options.playbook)) return reportFailure(errUsage(`Cannot read the playbook "${options.playbook}"`, 'give the path of a playbook, e.g. playbooks/find-pool-leak.yaml'), exitCodes.invalid);
  const labDir = resolve(options.out ?? defaultRunDir(`lab-${basename(options.playbook, extname(options.playbook))}`));
  if (existsSync(join(labDir, labRecordName))) return reportFailure(errUsage(`${shown(labDir)} already holds a lab run`, `continue it with \`leakhunt resume ${shown(labDir)}\`, or give --out a new folder`), exitCodes.invalid);
  mkdirSync(labDir, { recursive: true });
  const reportOptions = recordReportOptions(options.reportOptions);
  const record: LabRecord = {
    schemaVersion: 1,
    playbook: resolve(options.playbook),
    inventory: resolve(options.inventory),
    limit: options.limit,
    inputs: options.inputs,
    plugins: options.plugins.map((source) => (existsSync(resolve(source)) ? resolve(source) : source)),
    parallel: options.parallel,
    ...(options.targetTimeoutMs !== undefined && { targetTimeoutMs: options.targetTimeoutMs }),
    ...(options.kd !== undefined && { kd: options.kd }),
    ...(options.commandTimeoutMs !== undefined && { commandTimeoutMs: options.commandTimeoutMs }),
    ...(reportOptions && { reportOptions }),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(labDir, labRecordName), `${JSON.stringify(record, null, 2)}\n`);
  return driveLab(record, labDir, targets, new Set(), options.json);
}

/** Is this folder a lab directory (it has lab.json)? */
export function isLabDir(dir: string): boolean {
  return existsSync(join(dir, labRecordName));
}

/** `leakhunt resume <lab-dir>`: the targets that did not succeed, each resumed from its own run directory. */
export async function resumeLabCommand(dir: string, options: { json?: boolean; parallel?: number; reportFlags?: ReportCommandOptions }): Promise<number> {
  const labDir = resolve(dir);
  const record = JSON.parse(readFileSync(join(labDir, labRecordName), 'utf8')) as LabRecord;
  const targets = selectTargets(record.inventory, record.limit);
  if (!targets) return exitCodes.invalid;
  const skip = new Set(targets.filter((target) => readTargetRecord(targetDir(labDir, target.name))?.status === 'succeeded').map((target) => target.name));
  let reportOptions;
  try {
    // Flags given to resume win over what the lab run was given, as for a single run.
    reportOptions = recordReportOptions(options.reportFlags ? reportOptionsOf(options.reportFlags, record.reportOptions) : record.reportOptions);
  } catch (error) {
    return reportFailure(error, exitCodes.invalid);
  }
  const resumed: LabRecord = { ...record, reportOptions, ...(options.parallel !== undefined && { parallel: options.parallel }), resumedAt: [...(record.resumedAt ?? []), new Date().toISOString()] };
  writeFileSync(join(labDir, labRecordName), `${JSON.stringify(resumed, null, 2)}\n`);
  if (skip.size === targets.length) process.stderr.write(`every target of ${shown(labDir)} finished; rebuilding the lab report only\n`);
  else if (!options.json) process.stderr.write(`resuming ${shown(labDir)}: ${skip.size} target(s) finished, ${targets.length - skip.size} to run\n`);
  return driveLab(resumed, labDir, targets, skip, options.json);
}

/** `leakhunt report --merge <run-dir>…`: the lab report from run directories collected from anywhere. */
export async function mergeCommand(runDirs: readonly string[], out: string | undefined, reportOptions: RenderOptions = {}): Promise<number> {
  const missing = runDirs.filter((dir) => !existsSync(join(dir, 'report.json')) && !existsSync(join(dir, 'lab-target.json')) && !existsSync(join(dir, 'run.json')));
  if (missing.length) return reportFailure(errUsage(`Not a run directory: ${missing.join(', ')}`, 'pass the folders `leakhunt run --out` wrote (or a lab run\'s targets/<name> folders)'), exitCodes.invalid);
  const reportDir = resolve(out ?? '.');
  mkdirSync(reportDir, { recursive: true });
  try {
    const { lab, files } = await writeLabReports(runDirs.map((dir) => resolve(dir)), reportDir, null, reportOptions);
    for (const culprit of lab.culprits) process.stdout.write(`${culprit.text}\n`);
    if (lab.culprits.length === 0) process.stdout.write('no target names a culprit\n');
    process.stderr.write(`lab reports: ${files.map(shown).join(', ')}\n`);
    return exitCodes.ok;
  } catch (error) {
    return reportFailure(error, exitCodes.invalid);
  }
}

/** Add the lab command. */
export function register(program: Command): void {
  const lab = program.command('lab').description('Lab inventories: the CI matrix of their targets (runs: leakhunt run <playbook> --inventory lab.yaml)');
  lab
    .command('matrix')
    .description('Print a GitHub Actions strategy.matrix (JSON) with one entry per target and its runner labels')
    .argument('<inventory>', 'lab.yaml')
    .option('--limit <label=value>', 'only targets with this label (repeatable; name=<target> by name)', collect, [])
    .addHelpText('after', `
Examples:
  $ leakhunt lab matrix lab.yaml
  $ leakhunt lab matrix lab.yaml --limit arch=x64 >> "$GITHUB_OUTPUT"   (as matrix=<json>, see examples/ci/lab.yml)

Each entry is { target, runner, labels }: use runs-on: \${{ matrix.runner }} and run
  leakhunt run <playbook> --inventory lab.yaml --limit name=\${{ matrix.target }} --out lab
then upload lab/targets/<target> and join the artifacts with leakhunt report --merge.
Target specs are not printed (they may carry a key=); the job reads them from the inventory.`)
    .action((inventory: string, options: { limit: string[] }) => {
      const targets = selectTargets(inventory, options.limit);
      if (!targets) {
        process.exitCode = exitCodes.invalid;
        return;
      }
      process.stdout.write(`${JSON.stringify(labMatrix(targets))}\n`);
      process.exitCode = exitCodes.ok;
    });
}
