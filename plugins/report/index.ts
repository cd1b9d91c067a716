/**
 * The report plugin: `report.verdict`, the last step of a hunt. It reads the earlier steps'
 * outputs, decides leak / no-leak / inconclusive, writes report.json to the run directory and
 * logs a short human summary.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, defineProvider } from '../../src/core/plugin.js';
import type { StepContext } from '../../src/core/types.js';
import { buildHuntReport, stepsFromEvents, summarizeHunt, type CollectOutputs, type RankOutputs, type RetagOutputs } from '../../src/report/hunt.js';
import { tagSchema } from '../pool/params.js';

/** `with` of report.verdict: the ids of the steps whose outputs it reads. */
export interface VerdictParams {
  rank?: string;
  collect?: string;
  retag?: string;
  tag?: string;
  pool?: 'paged' | 'nonpaged';
  file?: string;
}

// This run's events so far (events.jsonl is written as events happen); a resumed run's file also
// holds the interrupted run's, so only the events from the last runStart on count.
function readEvents(ctx: StepContext): Record<string, unknown>[] {
  const events = readAllEvents(ctx);
  const start = events.map((event) => event.event === 'runStart').lastIndexOf(true);
  return start > 0 ? events.slice(start) : events;
}

// Every event of events.jsonl, skipping a line cut by a crash.
function readAllEvents(ctx: StepContext): Record<string, unknown>[] {
  const path = join(ctx.files.dir, 'events.jsonl');
  // Only a regular file: a device in its place (a link to /dev/full) would be read for ever.
  if (!existsSync(path) || !statSync(path).isFile()) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

// Complete lines of a JSON-lines file of the run directory (what a step that did not finish collected).
function countLines(ctx: StepContext, name: string): number {
  const path = join(ctx.files.dir, name);
  if (!existsSync(path) || !statSync(path).isFile()) return 0;
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').length;
}

/** report.verdict on every version. */
export const verdict = defineProvider<VerdictParams>({
  uses: 'report.verdict',
  id: 'hunt',
  description: 'Decide leak / no-leak / inconclusive from the hunt\'s outputs; write report.json and print a summary.',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      rank: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', title: 'a step id (a letter or _, then letters, digits, _ or -)', description: 'Id of the pool.rank-tags step (default rank).' },
      collect: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', title: 'a step id (a letter or _, then letters, digits, _ or -)', description: 'Id of the pool.collect-stacks step (default collect).' },
      retag: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$', title: 'a step id (a letter or _, then letters, digits, _ or -)', description: 'Id of the pool.retag-sites step (default retag).' },
      tag: { ...tagSchema, description: 'The tag hunted when no ranking ran.' },
      pool: { type: 'string', enum: ['paged', 'nonpaged'], description: 'Its pool when no ranking ran.' },
      file: { type: 'string', pattern: '^[A-Za-z0-9_.-]+\\.json$', title: 'a file name of letters, digits, _ . or - ending in .json', description: 'File name in the run directory (default report.json).' },
    },
  },
  outputs: {
    verdict: { type: 'string', description: '`leak`, `no-leak` or `inconclusive`.' },
    reason: { type: 'string', description: 'Why, in one sentence.' },
    culprit: { type: ['object', 'null'], description: 'The leaking call site: module, function, offset, frame, tag, pool.' },
    file: { type: 'string', description: 'The report file written in the run directory.' },
  },
  checkCommands: () => [],
  async run(params, ctx) {
    const events = stepsFromEvents(readEvents(ctx));
    const startedAt = events.startedAt ?? new Date().toISOString();
    const report = buildHuntReport({
      playbook: events.playbook ?? 'unknown',
      startedAt,
      durationMs: Date.now() - Date.parse(startedAt),
      facts: ctx.facts,
      steps: events.steps,
      rank: ctx.outputsOf(params.rank ?? 'rank') as RankOutputs | undefined,
      collect: ctx.outputsOf(params.collect ?? 'collect') as CollectOutputs | undefined,
      retag: ctx.outputsOf(params.retag ?? 'retag') as RetagOutputs | undefined,
      ...(params.tag && { tag: params.tag }),
      ...(params.pool && { pool: params.pool }),
      stacksOnDisk: countLines(ctx, 'stacks.jsonl'),
    });
    const file = params.file ?? 'report.json';
    ctx.files.writeJson(file, report);
    for (const line of summarizeHunt(report).split('\n')) ctx.log.info(line);
    return {
      status: 'ok',
      outputs: { verdict: report.verdict, reason: report.reason, culprit: report.culprit, file },
      summary: report.culprit ? `${report.verdict}: ${report.culprit.frame}` : `${report.verdict}: ${report.reason}`,
    };
  },
});

export default definePlugin({
  name: 'report',
  version: '0.1.0',
  description: 'The hunt\'s verdict: report.json and a human summary.',
  steps: [verdict],
});
