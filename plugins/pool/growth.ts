/**
 * Rank pool tags from `!poolused` snapshots: by size with one snapshot, by growth with several.
 * A tag is a suspect only when its outstanding count rises steadily (a slope that stands out
 * from the tag's own fluctuation), so a large stable tag never outranks a small growing one and
 * a busy but balanced system has no suspect.
 */
import type { PoolName } from './params.js';

/** One tag's counters in one snapshot and pool. */
export interface TagCount {
  tag: string;
  pool: PoolName;
  bytes: number;
  /** Outstanding allocations (allocs − frees). */
  outstanding: number;
  allocs?: number;
  frees?: number;
}

/** One `!poolused` snapshot at a point of target time. */
export interface Snapshot {
  atMs: number;
  counts: TagCount[];
}

/** One entry of the ranking. */
export interface RankEntry {
  tag: string;
  pool: PoolName;
  bytes: number;
  allocs: number;
  frees?: number;
  /** Bytes per minute over the samples (least squares); absent with one snapshot. */
  growthBytesPerMinute?: number;
  /** Outstanding allocations gained between the first and the last snapshot. */
  growthOutstanding?: number;
  /** Slope of the outstanding count divided by its standard error (Infinity for a perfect line). */
  trend?: number;
  /** Does this tag grow beyond its own noise? */
  growing?: boolean;
}

/** What the ranking decides. */
export interface Ranking {
  basis: 'size' | 'growth';
  ranking: RankEntry[];
  suspect: { tag: string; pool: PoolName; bytes: number; growthBytesPerMinute: number | null } | null;
  /** Why the suspect was (or was not) chosen. */
  reason: string;
}

/** Thresholds of the growth test. */
export interface GrowthOptions {
  /** Minimum slope/standard-error of the outstanding count (default 4). */
  minTrend?: number;
  /** Minimum outstanding allocations gained over the samples (default 3). */
  minGrowthAllocs?: number;
  /** Minimum growth in bytes per minute (default 1). */
  minBytesPerMinute?: number;
}

// Least-squares slope of y over x, and its t statistic (slope / standard error).
function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; trend: number } {
  const n = xs.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - meanX) ** 2;
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
  }
  if (sxx === 0) return { slope: 0, trend: 0 };
  const slope = sxy / sxx;
  if (n < 3) return { slope, trend: slope > 0 ? Infinity : slope < 0 ? -Infinity : 0 };
  let residual = 0;
  for (let i = 0; i < n; i++) residual += (ys[i]! - (meanY + slope * (xs[i]! - meanX))) ** 2;
  const standardError = Math.sqrt(residual / (n - 2) / sxx);
  if (standardError === 0) return { slope, trend: slope > 0 ? Infinity : slope < 0 ? -Infinity : 0 };
  return { slope, trend: slope / standardError };
}

// The key of a tag in one pool.
function keyOf(count: { tag: string; pool: PoolName }): string {
  return `${count.pool}\u0000${count.tag}`;
}

/** Rank tags of the given pools from one or more snapshots (oldest first). */
export function rankSnapshots(snapshots: readonly Snapshot[], pools: readonly PoolName[], options: GrowthOptions = {}): Ranking {
  if (snapshots.length === 0) return { basis: 'size', ranking: [], suspect: null, reason: 'no snapshot was taken' };
  const last = snapshots[snapshots.length - 1]!;
  const wanted = (c: TagCount) => pools.includes(c.pool);
  if (snapshots.length === 1) {
    const ranking = last.counts
      .filter((c) => wanted(c) && c.bytes > 0)
      .sort((a, b) => b.bytes - a.bytes || a.tag.localeCompare(b.tag))
      .map((c) => ({ tag: c.tag, pool: c.pool, bytes: c.bytes, allocs: c.outstanding, ...(c.frees !== undefined && { frees: c.frees }) }));
    const top = ranking[0];
    return {
      basis: 'size',
      ranking,
      suspect: top ? { tag: top.tag, pool: top.pool, bytes: top.bytes, growthBytesPerMinute: null } : null,
      reason: top
        ? `one snapshot: tag "${top.tag}" uses the most ${top.pool} pool (${top.bytes} bytes); take several samples to rank by growth`
        : 'one snapshot and no tag uses the asked pool',
    };
  }

  const minTrend = options.minTrend ?? 4;
  const minGrowthAllocs = options.minGrowthAllocs ?? 3;
  const minBytesPerMinute = options.minBytesPerMinute ?? 1;
  const keys = new Map<string, { tag: string; pool: PoolName }>();
  for (const snapshot of snapshots) for (const c of snapshot.counts) if (wanted(c)) keys.set(keyOf(c), { tag: c.tag, pool: c.pool });
  const minutes = snapshots.map((s) => (s.atMs - snapshots[0]!.atMs) / 60_000);

  const entries: RankEntry[] = [];
  for (const [key, { tag, pool }] of keys) {
    const series = snapshots.map((s) => s.counts.find((c) => keyOf(c) === key));
    const bytes = series.map((c) => c?.bytes ?? 0);
    const outstanding = series.map((c) => c?.outstanding ?? 0);
    const bytesLine = fitLine(minutes, bytes);
    const countLine = fitLine(minutes, outstanding);
    const growthOutstanding = outstanding[outstanding.length - 1]! - outstanding[0]!;
    const growing =
      countLine.trend >= minTrend && growthOutstanding >= minGrowthAllocs && bytesLine.slope >= minBytesPerMinute;
    const latest = series[series.length - 1];
    entries.push({
      tag,
      pool,
      bytes: bytes[bytes.length - 1]!,
      allocs: outstanding[outstanding.length - 1]!,
      ...(latest?.frees !== undefined && { frees: latest.frees }),
      growthBytesPerMinute: Math.round(bytesLine.slope),
      growthOutstanding,
      trend: countLine.trend,
      growing,
    });
  }
  entries.sort(
    (a, b) =>
      Number(b.growing) - Number(a.growing) ||
      (a.growing ? b.growthBytesPerMinute! - a.growthBytesPerMinute! : b.bytes - a.bytes) ||
      a.tag.localeCompare(b.tag),
  );
  const top = entries[0];
  const spanSeconds = Math.round((snapshots[snapshots.length - 1]!.atMs - snapshots[0]!.atMs) / 1000);
  if (!top || !top.growing) {
    return {
      basis: 'growth',
      ranking: entries,
      suspect: null,
      reason: `no tag grew steadily over ${snapshots.length} samples (${spanSeconds} s of target time)`,
    };
  }
  return {
    basis: 'growth',
    ranking: entries,
    suspect: { tag: top.tag, pool: top.pool, bytes: top.bytes, growthBytesPerMinute: top.growthBytesPerMinute! },
    reason: `tag "${top.tag}" grew by ${top.growthOutstanding} allocations (${top.growthBytesPerMinute} bytes/min of ${top.pool} pool) over ${snapshots.length} samples (${spanSeconds} s of target time)`,
  };
}
