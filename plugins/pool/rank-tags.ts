/**
 * `pool.rank-tags`: the procedure's `!poolused` step, made to rank by growth. With one sample it
 * ranks by size (the procedure's "greatest usage of memory"); with `samples: N` it lets the
 * target run `interval` between snapshots and ranks by bytes per minute and allocs − frees.
 */
import { defineProvider } from '../../src/core/plugin.js';
import { poolTagsUnavailable } from '../../src/api/plugin.js';
import type { StepContext } from '../../src/core/types.js';
import { KdParseError } from '../../src/kd/common.js';
import { rankSnapshots, type GrowthOptions, type Ranking, type Snapshot } from '../../src/evidence/ranking.js';
import { GROWTH_DEFAULTS } from '../../src/evidence/growth.js';
import { kd, readPoolused, runFor, targetClockMs } from './kd.js';
import { durationSchema, poolSchema, poolsOf, toMs, type PoolChoice } from './params.js';

/** `with` of pool.rank-tags. */
export interface RankTagsParams {
  pool?: PoolChoice;
  samples?: number;
  interval?: string | number;
  top?: number;
  maxSamples?: number;
  budget?: string | number;
  window?: string | number;
  alpha?: number;
  minGrowthAllocs?: number;
  timeout?: string | number;
}

// `!poolused` sort flag for the pool asked (4: paged, 2: nonpaged; both: paged order, we sort).
function poolusedCommand(pool: PoolChoice): string {
  return pool === 'nonpaged' ? '!poolused 2' : '!poolused 4';
}

/**
 * The most snapshots a budget takes unless `maxSamples` says otherwise: an hour at the step's
 * default 30 s interval, or two at one minute. The budget is target time, so it bounds sampling
 * only while the target's clock moves; this bounds it when the clock does not.
 */
export const BUDGET_MAX_SAMPLES = 121;

/** pool.rank-tags on every version: `!poolused` exists from 2000 (kdextx86) on. */
export const rankTags = defineProvider<RankTagsParams>({
  uses: 'pool.rank-tags',
  id: 'poolused',
  description: 'Rank pool tags by `!poolused`: by size with one sample, by growth (bytes/min, allocs − frees) with several.',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      pool: { ...poolSchema, description: 'Pool(s) to rank: paged, nonpaged or both (default both).' },
      samples: { type: 'integer', minimum: 1, maximum: 100, description: 'Snapshots to take at least (default 1: rank by size). With 2 or more, sampling goes on until the growth test is decisive or `budget` is spent.' },
      maxSamples: { type: 'integer', minimum: 1, maximum: 1000, description: 'Snapshots to take at most (default: `samples` when no budget is given, else 121: an hour at a 30 s interval).' },
      budget: { ...durationSchema, description: 'Target time the growth decision may use, first snapshot to last (default: `samples` − 1 intervals, a fixed schedule).' },
      window: { ...durationSchema, description: 'Target time the samples must span before any tag can be called growing (default 0: from the `samples`-th snapshot on). A cache that fills after boot or a burst of work rises for tens of minutes; a rise seen for less than this is not yet a leak. Sampling ending earlier (budget, maxSamples) decides on what it has.' },
      alpha: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, description: 'Family-wise error rate over all tags tested (Holm), default 0.01.' },
      interval: { ...durationSchema, description: 'Target running time between snapshots (default 30s).' },
      top: { type: 'integer', minimum: 1, maximum: 1000, description: 'Entries kept in the ranking output (default 20).' },
      minGrowthAllocs: { type: 'integer', minimum: 1, description: 'Allocations a growing tag must gain over the samples (default 3).' },
      timeout: { ...durationSchema, description: 'Time budget of one `!poolused` (default 5m; it is slow over serial links).' },
    },
  },
  outputs: {
    ranking: { type: 'array', description: 'Tags, fastest growing (or largest) first: tag, pool, bytes, allocs, growthBytesPerMinute, growthOutstanding.' },
    suspect: { type: ['object', 'null'], description: 'The tag that leaks ({tag, pool, bytes, growthBytesPerMinute}) or null.' },
    basis: { type: 'string', description: '`size` (one sample) or `growth`.' },
    reason: { type: 'string', description: 'Why the suspect was or was not chosen.' },
    samples: { type: 'array', description: 'Every snapshot: atMs and tag counters, for charts.' },
    clock: { type: 'string', description: '`target` (uptime from vertarget) or `host`: what atMs measures.' },
    test: { type: 'object', description: 'The growth test: method (holm), alpha (family-wise error rate), tested (tags).' },
    undecided: { type: 'string', description: 'No suspect, and this tag could still have passed with more samples when sampling ended: a longer budget may decide it (the verdict is then inconclusive, not no-leak).' },
    decisive: { type: 'boolean', description: 'The growth test decided before the budget ran out: a suspect, or no tag that could still pass by the last snapshot the budget allows.' },
    targetTimeMs: { type: 'integer', description: 'Target time the decision used, first snapshot to last.' },
  },
  checkCommands(params) {
    const samples = params.samples ?? 1;
    const commands: string[] = [];
    for (let i = 0; i < samples; i++) {
      if (i > 0) commands.push('g', '(break in after the interval)');
      if (samples > 1) commands.push('vertarget');
      commands.push(poolusedCommand(params.pool ?? 'both'));
    }
    return commands;
  },
  async run(params, ctx: StepContext) {
    const pool = params.pool ?? 'both';
    const samples = params.samples ?? 1;
    const intervalMs = toMs(params.interval, 30_000);
    const timeoutMs = toMs(params.timeout, 300_000);
    const budgetMs = params.budget === undefined ? undefined : toMs(params.budget, 0);
    const windowMs = params.window === undefined ? 0 : toMs(params.window, 0);
    const maxSamples = params.maxSamples ?? (budgetMs === undefined ? samples : Math.max(samples, BUDGET_MAX_SAMPLES));
    const rule: GrowthOptions = { ...(params.alpha !== undefined && { alpha: params.alpha }), ...(params.minGrowthAllocs !== undefined && { minGrowthAllocs: params.minGrowthAllocs }) };
    let looks: number | undefined;
    const snapshots: Snapshot[] = [];
    let clock: 'target' | 'host' = 'target';
    let result: Ranking | undefined;
    for (let i = 0; i < maxSamples; i++) {
      if (i > 0) {
        // Adaptive sampling: past the minimum count and the window, stop once the test is
        // decisive or the next interval would overrun the target-time budget. Before the
        // window no tag is tested (a rise seen for minutes may be a cache filling), unless this
        // is the last sample the budget allows.
        const used = snapshots[snapshots.length - 1]!.atMs - snapshots[0]!.atMs;
        const perInterval = used / Math.max(1, snapshots.length - 1);
        const lastSample = budgetMs === undefined || used + perInterval > budgetMs;
        if (i >= samples && (used >= windowMs || lastSample)) {
          // Each look at the samples is another test of every tag: the error rate is spent
          // evenly over the looks the budget allows (Bonferroni over looks), so sampling on
          // cannot raise the chance of a false suspect above alpha.
          if (looks === undefined) {
            // The most snapshots the budget allows: a tag that could not pass by then stops nothing.
            rule.horizon = budgetMs === undefined || perInterval <= 0 ? snapshots.length : Math.max(snapshots.length, Math.min(maxSamples, Math.floor(budgetMs / perInterval) + 1));
            looks = rule.horizon - snapshots.length + 1;
            rule.alpha = (params.alpha ?? GROWTH_DEFAULTS.alpha) / looks;
          }
          result = rankSnapshots(snapshots, poolsOf(pool), rule);
          if (result.decisive) break;
        }
        if (i >= samples && lastSample) break;
        await runFor(ctx, intervalMs);
      }
      const time = samples > 1 ? await targetClockMs(ctx) : { ms: 0, source: 'target' as const };
      if (time.source === 'host') clock = 'host';
      const reply = await kd(ctx, poolusedCommand(pool), { timeoutMs });
      let read: ReturnType<typeof readPoolused>;
      try {
        read = readPoolused(reply.output);
      } catch (error) {
        if (!(error instanceof KdParseError)) throw error;
        throw poolTagsUnavailable(ctx.facts, `it printed no tag table ("${reply.output.trim().split('\n')[0] ?? ''}")`);
      }
      const { counts, complete } = read;
      if (!complete) ctx.log.warn(`!poolused output was incomplete in sample ${i + 1}`);
      snapshots.push({ atMs: time.ms, counts });
      result = undefined;
      ctx.progress.update(i + 1, Math.max(samples, Math.min(maxSamples, snapshots.length + 1)), `sample ${i + 1}${i + 1 < samples ? `/${samples}` : ''}: ${counts.length} tag counters`);
    }
    if (snapshots.every((s) => s.counts.length === 0)) throw poolTagsUnavailable(ctx.facts, 'it listed no tags');
    if (looks === undefined && samples > 1) rule.alpha = params.alpha ?? GROWTH_DEFAULTS.alpha;
    result ??= rankSnapshots(snapshots, poolsOf(pool), rule);
    const base = snapshots[0]!.atMs;
    return {
      status: 'ok',
      outputs: {
        ranking: result.ranking.slice(0, params.top ?? 20),
        suspect: result.suspect,
        basis: result.basis,
        reason: result.reason,
        samples: snapshots.map((s) => ({ atMs: s.atMs - base, tags: s.counts.map(({ tag, pool: p, bytes, outstanding, frees }) => ({ tag, pool: p, bytes, allocs: outstanding, ...(frees !== undefined && { frees }) })) })),
        clock,
        ...(result.test && { test: result.test }),
        decisive: result.decisive ?? true,
        ...(result.undecided !== undefined && { undecided: result.undecided }),
        targetTimeMs: snapshots[snapshots.length - 1]!.atMs - base,
      },
      summary: result.reason,
    };
  },
});
