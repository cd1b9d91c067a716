/**
 * `leakhunt run <playbook>`: connect, plan against the target's facts, run (or `--check`),
 * report progress, write the run directory, and on SIGINT/SIGTERM stop the current step and
 * still run `always` before exiting non-zero.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { checkPlan } from '../../core/check.js';
import { errSession, errUsage, PlaybookError } from '../../core/errors.js';
import { EventBus } from '../../core/events.js';
import type { Reporter } from '../../core/events.js';
import { parseInputArgs, resolveInputs } from '../../core/inputs.js';
import { loadPlaybook, sortErrors } from '../../core/load.js';
import { planPlaybook, planToJson } from '../../core/plan.js';
import { createJsonReporter } from '../../core/reporters/json.js';
import { createListrReporter } from '../../core/reporters/listr.js';
import { createPlainReporter } from '../../core/reporters/plain.js';
import { createRunFiles, defaultRunDir, recordEvents } from '../../core/run-files.js';
import { runPlan } from '../../core/run.js';
import type { MemoryFactory } from '../../core/run.js';
import type { ConnectedTarget } from '../../core/types.js';
import { collect, exitCodes, loadPlugins, printErrors, reportFailure } from '../output.js';

/** Options of `leakhunt run`. */
interface RunCommandOptions {
  target: string;
  input: string[];
  out?: string;
  check?: boolean;
  json?: boolean;
  plugins: string[];
  kd?: string;
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
async function renderRunReports(runDir: string, json: boolean | undefined): Promise<void> {
  if (!existsSync(join(runDir, 'report.json'))) return;
  try {
    const { renderReports } = await import('../../report/render.js');
    const rendered = await renderReports(runDir);
    if (!json) process.stderr.write(`reports: ${rendered.files.map((path) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path))).join(', ')}\n`);
  } catch (error) {
    process.stderr.write(`warning: rendering the reports failed: ${(error as Error).message}\n`);
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
  program
    .command('run')
    .description('Run a playbook against a target (default: the built-in simulator)')
    .argument('<playbook>', 'playbook file')
    .option('--target <spec>', 'sim:[scenario.yaml|profile], kd:<kd arguments>, process:<command>, replay:<transcript.jsonl>', 'sim:')
    .option('--input <key=value>', 'set a playbook input (repeatable); converted to its declared type', collect, [])
    .option('--out <run-dir>', 'run directory (default runs/<timestamp>-<playbook>/)')
    .option('--check', 'connect for facts only, then print the debugger commands each step would send; send none that changes the target')
    .option('--json', 'print one JSON event per line instead of progress')
    .option('--plugins <dir>', 'also load plugins from this folder (repeatable)', collect, [])
    .option('--kd <path>', 'kd.exe or cdb.exe for kd: targets (default: LEAKHUNT_KD, then the Windows Kits Debuggers folders)')
    .addHelpText('after', `
Examples:
  $ leakhunt run playbooks/find-pool-leak.yaml
  $ leakhunt run playbooks/find-pool-leak.yaml --target sim:winxp-sp3-x86 --input tag=Abc
  $ leakhunt run playbooks/find-pool-leak.yaml --target "kd:-k net:port=50000,key=…" --check
  $ leakhunt run playbooks/rank-only.yaml --json > events.jsonl

Ctrl+C stops the current step and runs the playbook's always: cleanup before exiting.
A second Ctrl+C skips the remaining cleanup steps, but leakhunt still puts back every byte it
wrote (PoolHitTag, patched tags) and leaves the target running; only a third exits at once.
Exit codes: 0 success, 1 the run failed or was aborted, 2 invalid playbook or usage.`)
    .action(async (file: string, options: RunCommandOptions) => {
      process.exitCode = await runCommand(file, options);
    });
}

// The body of `leakhunt run`; returns the exit code.
async function runCommand(file: string, options: RunCommandOptions): Promise<number> {
  const registry = await loadPlugins(options.plugins);
  if (!registry) return exitCodes.invalid;
  const loaded = loadPlaybook(file, { registry });
  if (!loaded.playbook) {
    printErrors(sortErrors(loaded.errors));
    return exitCodes.invalid;
  }
  const playbook = loaded.playbook;
  const parsed = parseInputArgs(options.input);
  const inputs = resolveInputs(playbook.inputs, parsed.given);
  if (parsed.errors.length || inputs.errors.length) {
    printErrors([...parsed.errors, ...inputs.errors]);
    return exitCodes.invalid;
  }
  if (options.target.trim() === '') return reportFailure(errUsage('Expected --target to name a target, got an empty string', 'sim: runs the built-in simulator'));

  const runDir = options.out ?? defaultRunDir(playbook.name);
  const files = createRunFiles(runDir);
  const bus = new EventBus([chooseReporter(options.json)]);
  recordEvents(bus, files);

  const abort = new AbortController();
  const cleanupAbort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${signal}: stopping the current step, then running cleanup (press Ctrl+C again to skip cleanup — unsafe)\n`);
      abort.abort(new Error(signal));
    } else if (signals === 2) {
      process.stderr.write(`\n${signal} again: skipping the remaining cleanup steps; still restoring what leakhunt wrote to the target (Ctrl+C once more to exit at once — unsafe)\n`);
      cleanupAbort.abort(new Error(signal));
    } else {
      process.stderr.write(`\n${signal} a third time: exiting now; the target may keep PoolHitTag or patched bytes — the next run restores them from ${runDir}/undo.jsonl\n`);
      process.exit(exitCodes.runFailed);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let target: ConnectedTarget | undefined;
  try {
    try {
      // Loaded here, not at start-up: the transports pull in execa and the simulator.
      const { connectTarget } = await import('../../debuggers/connect.js');
      target = await connectTarget(options.target, { runDir, signal: abort.signal, ...(options.kd && { kdPath: options.kd }) });
    } catch (error) {
      return reportFailure(error instanceof PlaybookError ? error : errSession(options.target, error), exitCodes.runFailed);
    }
    const planned = planPlaybook(playbook, target.facts, registry);
    if (!planned.plan) {
      printErrors(planned.errors);
      return exitCodes.invalid;
    }
    files.writeJson('plan.json', planToJson(planned.plan));
    if (options.check) {
      checkPlan(planned.plan, inputs.values, bus, runDir);
      return exitCodes.ok;
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
    });
    await renderRunReports(runDir, options.json);
    return result.status === 'succeeded' ? exitCodes.ok : exitCodes.runFailed;
  } finally {
    try {
      await target?.close({ resume: true });
    } catch (error) {
      process.stderr.write(`warning: closing the target failed: ${(error as Error).message}\n`);
    }
    await bus.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!options.json) process.stderr.write(`run directory: ${runDir}\n`);
  }
}
