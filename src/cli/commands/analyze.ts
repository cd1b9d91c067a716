/**
 * `leakhunt analyze <kd-log> [--out <run-dir>]`: turn a saved kd session (a `.logopen` log of a
 * manual hunt, or a run's transcript.jsonl) into report.json, stacks.jsonl and the usual reports.
 */
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { analyzeToRunDir } from '../../report/analyze.js';
import { formatSummary } from '../../report/text.js';
import { exitCodes, reportFailure } from '../output.js';
import { addReportOptions, reportOptionsOf, type ReportCommandOptions } from '../report-options.js';

/** Add the analyze command. */
export function register(program: Command): void {
  addReportOptions(program
    .command('analyze')
    .description('Analyze a saved kd log offline: !poolused samples, PoolHitTag stacks by call site, the same reports as a hunt')
    .argument('<kd-log>', 'a kd session log (.logopen) or a run\'s transcript.jsonl')
    .option('--out <run-dir>', 'where to write report.json, stacks.jsonl and the reports (default: runs/analyze-<log name>)'))
    .addHelpText('after', `
Examples:
  $ leakhunt analyze C:\\dbg\\hunt.log --out runs/manual-hunt
  $ leakhunt analyze runs/20261126-161502-find-pool-leak/transcript.jsonl --out runs/manual-again

Every !poolused in the log becomes a sample, in order; every PoolHitTag stop with its stack
(kb, kvn, k… typed after it, or printed by kd at the stop) becomes an allocation or a free,
classified as the live hunt does: the site is the first frame outside the pool allocator, the
culprit the driver that called it through a framework or wrapper (WDF, NDIS, …).`)
    .action(async (log: string, options: ReportCommandOptions & { out?: string }) => {
      try {
        const out = options.out ?? join('runs', `analyze-${basename(log, extname(log))}`);
        const result = await analyzeToRunDir(log, out, reportOptionsOf(options));
        const counts = result.analysis.counts;
        process.stdout.write(`Read ${counts.poolused ?? 0} !poolused, ${counts.break ?? 0} stops, ${counts.stack ?? 0} stack commands: ${result.analysis.stackCount} PoolHitTag stacks\n`);
        process.stdout.write(`${formatSummary(result.data.report, { ownerOf: result.data.ownerOf, files: result.files })}\n`);
        process.exitCode = exitCodes.ok;
      } catch (error) {
        process.exitCode = reportFailure(error, exitCodes.invalid);
      }
    });
}
