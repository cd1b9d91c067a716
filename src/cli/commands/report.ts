/**
 * `leakhunt report <run-dir>`: rebuild report.md, report.html and junit.xml from a run
 * directory's JSON files (after an upgrade, or from a teammate's run).
 */
import type { Command } from 'commander';
import { errUsage } from '../../core/errors.js';
import { renderReports } from '../../report/render.js';
import { formatSummary } from '../../report/text.js';
import { exitCodes, reportFailure } from '../output.js';
import { addReportOptions, reportOptionsOf, type ReportCommandOptions } from '../report-options.js';

/** Add the report command. */
export function register(program: Command): void {
  addReportOptions(program
    .command('report')
    .description('Rebuild report.md, report.html and junit.xml from a run directory (report.json, stacks.jsonl, transcript.jsonl)')
    .argument('<run-dir...>', 'a directory written by `leakhunt run --out` or `leakhunt analyze --out` (several with --merge)')
    .option('--merge', 'build the lab report (lab-report.json/.md/.html, lab-junit.xml) from run directories collected from anywhere')
    .option('--out <dir>', 'with --merge: where the lab report goes (default: the working directory)'))
    .addHelpText('after', `
Examples:
  $ leakhunt report runs/2025-03-04T10-15
  $ leakhunt report runs/20261126-161502-find-pool-leak --pooltag triage/pooltag.txt --localtag team/localtag.txt --max-growth 0
  $ leakhunt report --merge artifacts/*/targets/* --out lab-report     one lab report from CI jobs' run directories

Exit code 0 when the reports were written (junit.xml carries the verdict for CI), 2 on usage errors.`)
    .action(async (runDirs: string[], options: ReportCommandOptions & { merge?: boolean; out?: string }) => {
      if (options.merge) {
        const { mergeCommand } = await import('./lab.js');
        let reportOptions;
        try {
          reportOptions = reportOptionsOf(options);
        } catch (error) {
          process.exitCode = reportFailure(error, exitCodes.invalid);
          return;
        }
        process.exitCode = await mergeCommand(runDirs, options.out, reportOptions);
        return;
      }
      if (runDirs.length > 1) {
        process.exitCode = reportFailure(errUsage(`Expected one run directory, got ${runDirs.length}`, 'add --merge to build one lab report from several'), exitCodes.invalid);
        return;
      }
      const runDir = runDirs[0]!;
      try {
        const result = await renderReports(runDir, reportOptionsOf(options));
        process.stdout.write(`${formatSummary(result.data.report, { ownerOf: result.data.ownerOf, files: result.files })}\n`);
        process.exitCode = exitCodes.ok;
      } catch (error) {
        process.exitCode = reportFailure(error, exitCodes.invalid);
      }
    });
}
