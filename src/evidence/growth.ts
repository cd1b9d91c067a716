/**
 * Does a pool tag grow? The growth test the ranking and the retag measurements share.
 *
 * For each tag, two least-squares lines over target time: outstanding allocations and bytes.
 * Each slope is tested against 0 (one-sided t test, with fewer degrees of freedom when the points
 * are autocorrelated: see fitLine); the tag's p-value is the smaller of the
 * two, doubled (Bonferroni over the two measures), so either rising significantly counts. Over
 * all tags tested at once, Holm's step-down procedure keeps the family-wise error rate (the
 * chance that any balanced tag is called growing) at `alpha` (default 1%). A significant tag
 * is growing only when the rise goes on: over the most recent half of the samples (at least 3)
 * the same measure still rises significantly (at `continueAlpha`, default 10%) and at no less
 * than `continueRatio` (default ½) of the whole window's slope — a cache that filled and
 * stopped is not a leak. A tag must also have gained `minGrowthAllocs` allocations (default 3).
 * Pure functions: no I/O.
 */
import { fitLine, holmThresholds, studentTQuantile, type LineFit } from './stats.js';

/** One measurement of one tag (or retagged site) at a point of target time. */
export interface GrowthPoint {
  atMs: number;
  /** Outstanding allocations (allocs − frees). */
  count: number;
  bytes: number;
}

/** The thresholds of the growth test. */
export interface GrowthRule {
  /** Family-wise error rate over all series tested at once (default 0.01). */
  alpha?: number;
  /** Level of the continued-growth test on the recent samples (default 0.1). */
  continueAlpha?: number;
  /** The recent slope must be at least this share of the whole window's (default 0.5). */
  continueRatio?: number;
  /** Allocations a growing count must have gained over the window (default 3). */
  minGrowthAllocs?: number;
  /**
   * How optimistic the projection of `couldStillGrow` is, in standard errors of the slope
   * (default 1): sampling goes on for a tag only while a slope this far above its estimate would
   * pass the test by the last sample the budget allows.
   */
  optimism?: number;
  /**
   * Take the points' autocorrelation into account (fitLine's effective number of points; default
   * false). The ranking turns it on: its snapshots' spacing is the user's, and may be shorter
   * than the tag's blocks live. A retag round's new tag starts from nothing and its count is the
   * leak's own staircase, whose residuals always run together; there it would discount the very
   * evidence of a leak (measured: 6 right verdicts of the accuracy suite lost).
   */
  autocorrelation?: boolean;
}

/** The defaults, for reports and docs. */
export const GROWTH_DEFAULTS: Required<GrowthRule> = { alpha: 0.01, continueAlpha: 0.1, continueRatio: 0.5, minGrowthAllocs: 3, optimism: 1, autocorrelation: false };

/** What the test found for one series. */
export interface SeriesGrowth {
  points: number;
  spanMs: number;
  /** Outstanding allocations per minute (least squares) and its test. */
  count: LineFit;
  /** Bytes per minute (least squares) and its test. */
  bytes: LineFit;
  /** Which measure carries the evidence (the smaller p). */
  measure: 'count' | 'bytes';
  /** The series' p-value: 2 × the smaller of the two one-sided p-values, at most 1. */
  p: number;
  gainedAllocs: number;
  gainedBytes: number;
  /** The recent half of the samples (at least 3), on the measure that carries the evidence. */
  recent?: { points: number; fit: LineFit; ratio: number };
  /** Significant after the correction over all series (set by testGrowth). */
  significant: boolean;
  /** The p-value this series had to be under at its rank in Holm's procedure (set by testGrowth). */
  threshold?: number;
  /** The rise goes on over the recent samples. */
  continuing: boolean;
  /** significant ∧ continuing ∧ gained enough: this series grows. */
  growing: boolean;
  /** Why it does or does not grow, in words. */
  why: string;
}

/**
 * A series as columns: the same measurements as GrowthPoint[], one array each. A ranking over
 * thousands of snapshots (an analyzed log) keeps its tags this way instead of an object per point.
 */
export interface GrowthColumns {
  atMs: ArrayLike<number>;
  count: ArrayLike<number>;
  bytes: ArrayLike<number>;
}

// The columns of a list of points.
function columnsOf(points: readonly GrowthPoint[] | GrowthColumns): GrowthColumns {
  if (!Array.isArray(points)) return points as GrowthColumns;
  const list = points as readonly GrowthPoint[];
  return { atMs: list.map((p) => p.atMs), count: list.map((p) => p.count), bytes: list.map((p) => p.bytes) };
}

// Minutes since the first point, of the points from `from` on.
function minutesOf(atMs: ArrayLike<number>, from = 0): number[] {
  const first = atMs[from] ?? 0;
  return Array.from({ length: Math.max(0, atMs.length - from) }, (_, i) => (atMs[from + i]! - first) / 60_000);
}

// The values of a column from `from` on.
function tailOf(column: ArrayLike<number>, from: number): number[] {
  return Array.from({ length: Math.max(0, column.length - from) }, (_, i) => column[from + i]!);
}

/** Test one series (points, or the same as columns) without the multiple-testing correction (testGrowth applies it). */
export function seriesGrowth(series: readonly GrowthPoint[] | GrowthColumns, rule: GrowthRule = {}): SeriesGrowth {
  const r = { ...GROWTH_DEFAULTS, ...rule };
  const columns = columnsOf(series);
  const n = columns.atMs.length;
  const minutes = minutesOf(columns.atMs);
  const fit = { autocorrelation: r.autocorrelation };
  const count = fitLine(minutes, columns.count, fit);
  const bytes = fitLine(minutes, columns.bytes, fit);
  const measure = count.pRising <= bytes.pRising ? 'count' : 'bytes';
  const p = Math.min(1, 2 * Math.min(count.pRising, bytes.pRising));
  const gainedAllocs = n > 0 ? columns.count[n - 1]! - columns.count[0]! : 0;
  const gainedBytes = n > 0 ? columns.bytes[n - 1]! - columns.bytes[0]! : 0;
  let recent: SeriesGrowth['recent'];
  const recentPoints = Math.max(3, Math.ceil(n / 2));
  if (n >= 4) {
    const from = n - recentPoints;
    const tail = fitLine(minutesOf(columns.atMs, from), tailOf(measure === 'count' ? columns.count : columns.bytes, from), fit);
    const whole = measure === 'count' ? count : bytes;
    recent = { points: recentPoints, fit: tail, ratio: whole.slope > 0 ? tail.slope / whole.slope : 0 };
  }
  const continuing = recent !== undefined && recent.fit.pRising < r.continueAlpha && recent.ratio >= r.continueRatio;
  return {
    points: n,
    spanMs: n > 0 ? columns.atMs[n - 1]! - columns.atMs[0]! : 0,
    count,
    bytes,
    measure,
    p,
    gainedAllocs,
    gainedBytes,
    ...(recent && { recent }),
    significant: false,
    continuing,
    growing: false,
    why: '',
  };
}

/**
 * Could more samples still make this series significant? Projects each measure's t statistic to
 * `points` equally spaced samples over the same interval, as if the slope were `optimism` standard
 * errors above its estimate and the noise stayed as it is: t grows with the spread of the sample
 * times, √(N(N²−1) / n(n²−1)). True when either measure's projected p would get under
 * `threshold` (the series' p is twice the smaller one). A line with no noise at all cannot
 * rise unless it already does; a series with fewer than 3 points has no estimate yet, so it can.
 */
export function couldStillGrow(g: SeriesGrowth, points: number, threshold: number, rule: GrowthRule = {}): boolean {
  const z = rule.optimism ?? GROWTH_DEFAULTS.optimism;
  const n = g.points;
  if (n < 3) return true;
  if (points <= n) return false;
  const spread = Math.sqrt((points * (points * points - 1)) / (n * (n * n - 1)));
  // Autocorrelated points stay as far from independent at the horizon: its degrees of freedom
  // shrink in the same proportion.
  const needed = (fit: LineFit) => studentTQuantile(threshold / 2, Math.max(1, points * ((fit.effectiveN ?? n) / n) - 2));
  return [g.count, g.bytes].some((fit) => (fit.standardError === 0 ? fit.slope > 0 : (fit.t + z) * spread >= needed(fit)));
}

/** The outcome of testing many series at once. */
export interface GrowthTest<K> {
  method: 'holm';
  alpha: number;
  /** Series tested (the family the correction covers). */
  tested: number;
  entries: { key: K; growth: SeriesGrowth }[];
}

/** Test every series, correct over all of them (Holm), then apply the continued-growth rule. */
export function testGrowth<K>(series: readonly { key: K; points: readonly GrowthPoint[] | GrowthColumns }[], rule: GrowthRule = {}): GrowthTest<K> {
  const r = { ...GROWTH_DEFAULTS, ...rule };
  const entries = series.map((s) => ({ key: s.key, growth: seriesGrowth(s.points, r) }));
  // Holm's procedure: each series is significant when under the threshold its rank met or missed.
  const thresholds = holmThresholds(entries.map((e) => e.growth.p), r.alpha);
  entries.forEach((e, i) => {
    const g = e.growth;
    g.threshold = thresholds[i]!;
    g.significant = g.p <= g.threshold;
    const enough = g.measure === 'bytes' ? g.gainedBytes > 0 : g.gainedAllocs >= r.minGrowthAllocs;
    g.growing = g.significant && g.continuing && enough;
    g.why = whyOf(g, r);
  });
  return { method: 'holm', alpha: r.alpha, tested: entries.length, entries };
}

// Words for one series' outcome.
function whyOf(g: SeriesGrowth, r: Required<GrowthRule>): string {
  const rate = g.measure === 'count' ? `${round(g.count.slope)} allocations/min` : `${round(g.bytes.slope)} bytes/min`;
  if (g.points < 3) return `${g.points} point(s): a trend needs at least 3`;
  if (!g.significant) {
    const fit = g.measure === 'count' ? g.count : g.bytes;
    const together = fit.lag1 === undefined ? '' : `; its points move together (lag-1 autocorrelation ${round(fit.lag1)}), as good as ${round(fit.effectiveN ?? g.points)} independent ones of ${g.points}`;
    return `no significant rise (p = ${formatP(g.p)}, needs Holm-corrected ${formatP(g.threshold ?? r.alpha)}${together})`;
  }
  if (g.measure === 'count' && g.gainedAllocs < r.minGrowthAllocs) return `rise of ${g.gainedAllocs} allocation(s) only`;
  if (!g.recent) return `rises ${rate} (p = ${formatP(g.p)}) but ${g.points} points cannot show the rise goes on (needs 4)`;
  if (!g.continuing) {
    return `rose ${rate} (p = ${formatP(g.p)}) but the rise stopped: the last ${g.recent.points} points climb ${round(g.recent.ratio * 100)}% of that (p = ${formatP(g.recent.fit.pRising)}); a cache filling is not a leak`;
  }
  return `grows ${rate} (p = ${formatP(g.p)}), still rising over the last ${g.recent.points} points`;
}

/**
 * A series' outcome in two or three words, for one-line summaries: `grows`; `rose, then stopped`
 * (significant, but the rise did not go on); `rises, not significantly` (the count or the bytes
 * rise within the noise: not evidence of a balanced site either); `levels off`.
 */
export function trendWords(g: { growing?: boolean; significant?: boolean; allocsPerMinute?: number; bytesPerMinute?: number }): string {
  if (g.growing) return 'grows';
  if (g.significant) return 'rose, then stopped';
  return (g.allocsPerMinute ?? 0) > 0 || (g.bytesPerMinute ?? 0) > 0 ? 'rises, not significantly' : 'levels off';
}

/** A p-value or threshold for people, two significant digits below 0.01: `0.003`, `0.0012`, `3.1e-4`, `< 1e-6`. */
export function formatP(p: number): string {
  if (p < 1e-6) return '< 1e-6';
  if (p < 0.001) return p.toExponential(1);
  if (p < 0.01) return String(Number(p.toPrecision(2)));
  return String(Math.round(p * 1000) / 1000);
}

// Three significant figures.
function round(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
