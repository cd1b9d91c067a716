/**
 * `leakhunt resume <run-dir>`: take an interrupted run up again in its own directory. The
 * playbook, inputs and target come from its run.json; the steps it finished (events.jsonl) are
 * not run again, their outputs are reused; what it left written on the target is restored first.
 *
 * @see ../../../docs/reliability-faults.md
 */
import { InvalidArgumentError, type Command } from 'commander';
import { errUsage } from '../../core/errors.js';
import { readRunRecord } from '../../core/resume.js';
import { exitCodes, reportFailure } from '../output.js';
import { runHunt } from './run.js';
import { durationForms, parseDuration } from '../../core/duration.js';
import { addReportOptions, reportOptionsOf, type ReportCommandOptions } from '../report-options.js';

/** Options of `leakhunt resume`. */
interface ResumeCommandOptions extends ReportCommandOptions {
  target?: string;
  json?: boolean;
  commandTimeout?: number;
}

// A duration option (`30s`, `1500ms`, a bare number of ms), or a usage error.
function durationOption(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed <= 0) throw new InvalidArgumentError(`expected ${durationForms}, got "${value}"`);
  return parsed;
}

/** Add the resume command. */
export function register(program: Command): void {
  addReportOptions(program
    .command('resume')
    .description('Continue an interrupted run after its last finished step, reusing what it collected')
    .argument('<run-dir>', 'the run directory of the interrupted run, or a lab directory (runs the targets that did not succeed)')
    .option('--target <spec>', 'target spec (default: the one in run.json; needed again when it carried a key=)')
    .option('--json', 'print one JSON event per line instead of progress')
    .option('--command-timeout <duration>', 'give up on one debugger command after this long', durationOption))
    .addHelpText('after', `
Examples:
  $ leakhunt resume runs/20261126-161502-find-pool-leak
  $ leakhunt resume runs/20261126-161502-find-pool-leak --target "kd:-k net:port=50000,key=…"
  $ leakhunt resume runs/20261126-161502-lab-find-pool-leak      a lab: only its unfinished targets

--pooltag, --localtag and --max-growth default to what the interrupted run was given.
Steps that finished are reused (their outputs feed the rest), except a step that wrote target
memory when a later step is still to run: cleanup undid its writes, so it runs again.
Exit codes: 0 success, 1 the run failed or was aborted, 2 not a run directory or usage.`)
    .action(async (runDir: string, options: ResumeCommandOptions) => {
      process.exitCode = await resumeCommand(runDir, options);
    });
}

// The body of `leakhunt resume`; returns the exit code.
async function resumeCommand(runDir: string, options: ResumeCommandOptions): Promise<number> {
  const lab = await import('./lab.js');
  if (lab.isLabDir(runDir)) return lab.resumeLabCommand(runDir, { ...(options.json && { json: true }), reportFlags: options });
  let record;
  let reportOptions;
  try {
    record = readRunRecord(runDir);
    reportOptions = reportOptionsOf(options, record.reportOptions);
  } catch (error) {
    return reportFailure(error, exitCodes.invalid);
  }
  const target = options.target ?? record.target;
  if (options.target === undefined && /key\s*=\s*\*\*\*/i.test(record.target)) {
    return reportFailure(errUsage(`The run's target "${record.target}" had a key=, which leakhunt never stores`, 'give it again with --target'), exitCodes.invalid);
  }
  const commandTimeoutMs = options.commandTimeout ?? record.commandTimeoutMs;
  return runHunt({
    playbook: record.playbook,
    inputs: record.inputs,
    target,
    out: runDir,
    plugins: record.plugins,
    ...(record.kd !== undefined && { kd: record.kd }),
    ...(options.json && { json: true }),
    ...(commandTimeoutMs !== undefined && { commandTimeoutMs }),
    resume: true,
    reportOptions,
  });
}
