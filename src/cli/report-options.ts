/**
 * The flags of every command that renders reports (`report`, `analyze`, `run`, `resume`): tag
 * owners from pooltag.txt / localtag.txt and junit.xml's growth threshold. Kept apart from the
 * renderers so `run` can take them without loading the renderers at start-up.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { errUsage } from '../core/errors.js';
import type { RecordedReportOptions } from '../core/resume.js';
import { defaultMaxGrowthBytesPerMinute } from '../report/junit.js';
import type { RenderOptions } from '../report/render.js';
import { collect } from './output.js';

/** The flags as commander gives them. */
export interface ReportCommandOptions {
  pooltag?: string;
  localtag: string[];
  maxGrowth?: string;
}

/** `--max-growth` as bytes per minute; a USAGE error for anything but a non-negative number. */
export function parseMaxGrowth(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw errUsage(`Expected a number of bytes per minute for --max-growth, got ${JSON.stringify(value)}`, 'for example --max-growth 4096');
  }
  return number;
}

/** Add --pooltag, --localtag and --max-growth: report, analyze, run and resume render the same reports. */
export function addReportOptions(command: Command): Command {
  return command
    .option('--pooltag <file>', 'pooltag.txt for tag owners (default: LEAKHUNT_POOLTAG, else the Windows Kits triage folder)')
    .option('--localtag <file>', "a team's localtag.txt that extends pooltag.txt (repeatable)", collect, [])
    .option('--max-growth <bytes/min>', `junit.xml fails a call site whose outstanding bytes grow faster (default ${defaultMaxGrowthBytesPerMinute})`);
}

/**
 * The renderers' options from those flags; a USAGE error for a bad --max-growth. `recorded` are
 * the ones an earlier run recorded (`leakhunt resume`): each flag given now wins over its
 * recorded value (--localtag as a whole).
 */
export function reportOptionsOf(options: ReportCommandOptions, recorded: RecordedReportOptions = {}): RenderOptions {
  const maxGrowth = parseMaxGrowth(options.maxGrowth);
  return {
    pooltag: options.pooltag ?? recorded.pooltag,
    localtags: options.localtag.length ? options.localtag : (recorded.localtags ?? []),
    maxGrowthBytesPerMinute: maxGrowth ?? recorded.maxGrowthBytesPerMinute,
  };
}

/** The options as run.json and lab.json keep them: files made absolute (resume may run from elsewhere), unset ones left out. */
export function recordReportOptions(options: RenderOptions | undefined): RecordedReportOptions | undefined {
  if (!options) return undefined;
  const recorded: RecordedReportOptions = {
    ...(options.pooltag !== undefined && { pooltag: resolve(options.pooltag) }),
    ...(options.localtags?.length && { localtags: options.localtags.map((file) => resolve(file)) }),
    ...(options.maxGrowthBytesPerMinute !== undefined && { maxGrowthBytesPerMinute: options.maxGrowthBytesPerMinute }),
  };
  return Object.keys(recorded).length ? recorded : undefined;
}
