/**
 * The flags of every command that renders reports (`report`, `analyze`, `run`): tag owners from
 * pooltag.txt / localtag.txt and junit.xml's growth threshold. Kept apart from the renderers so
 * `run` can take them without loading the renderers at start-up.
 */
import type { Command } from 'commander';
import { errUsage } from '../core/errors.js';
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

/** Add --pooltag, --localtag and --max-growth: report, analyze and run render the same reports. */
export function addReportOptions(command: Command): Command {
  return command
    .option('--pooltag <file>', 'pooltag.txt for tag owners (default: LEAKHUNT_POOLTAG, else the Windows Kits triage folder)')
    .option('--localtag <file>', "a team's localtag.txt that extends pooltag.txt (repeatable)", collect, [])
    .option('--max-growth <bytes/min>', `junit.xml fails a call site whose outstanding bytes grow faster (default ${defaultMaxGrowthBytesPerMinute})`);
}

/** The renderers' options from those flags; a USAGE error for a bad --max-growth. */
export function reportOptionsOf(options: ReportCommandOptions): RenderOptions {
  return { pooltag: options.pooltag, localtags: options.localtag, maxGrowthBytesPerMinute: parseMaxGrowth(options.maxGrowth) };
}
