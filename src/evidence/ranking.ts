/**
 * Rank pool tags from `!poolused` snapshots: by size with one snapshot, by growth with several.
 * A tag is a suspect only when it passes the growth test of src/evidence/growth.ts (count or
 * bytes rising beyond the tag's own noise, corrected over all tags, and still rising), so a large
 * stable tag never outranks a small growing one and a busy but balanced system has no suspect.
 */
import { couldStillGrow, formatP, testGrowth, type GrowthRule } from './growth.js';
/** A pool of the ranking. */
export type PoolName = 'paged' | 'nonpaged';

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
  /** Outstanding allocations per minute over the samples (least squares). */
  growthAllocsPerMinute?: number;
  /** Slope of the outstanding count divided by its standard error (Infinity for a perfect line). */
  trend?: number;
  /** The tag's p-value (count or bytes rising), before the correction over all tags. */
  p?: number;
  /** Rising significantly after the correction over all tags tested. */
  significant?: boolean;
  /** Still rising over the recent samples. */
  continuing?: boolean;
  /** Does this tag grow beyond its own noise, and keep growing? */
  growing?: boolean;
  /** Which measure carries the evidence (the smaller p): the outstanding count or the bytes. */
  measure?: 'count' | 'bytes';
  /** Why it does or does not, in words. */
  why?: string;
}

/** What the ranking decides. */
export interface Ranking {
  basis: 'size' | 'growth';
  ranking: RankEntry[];
  suspect: { tag: string; pool: PoolName; bytes: number; growthBytesPerMinute: number | null; growthAllocsPerMinute?: number; p?: number; measure?: 'count' | 'bytes' } | null;
  /** Why the suspect was (or was not) chosen. */
  reason: string;
  /** The growth test: method, family-wise error rate, tags tested. */
  test?: { method: string; alpha: number; tested: number };
  /** Would more samples change nothing (a suspect found, or no tag that could still pass by the budget's last snapshot)? */
  decisive?: boolean;
  /** No suspect, and this tag was still undecided when sampling ended: a longer budget may decide it. */
  undecided?: string;
}

/** Thresholds of the growth test (src/evidence/growth.ts), and how far sampling may go. */
export interface GrowthOptions extends GrowthRule {
  /**
   * The most snapshots the budget allows (adaptive sampling). A tag keeps sampling going only
   * while it could still pass the test by then (`couldStillGrow`); without it, as many as taken.
   */
  horizon?: number;
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

  // Each tag's counts as columns, filled in one pass over the snapshots: a log's thousands of
  // snapshots make no map or point object per snapshot and tag.
  const n = snapshots.length;
  const atMs = Float64Array.from(snapshots, (s) => s.atMs);
  const byKey = new Map<string, { key: { tag: string; pool: PoolName }; count: Float64Array; bytes: Float64Array }>();
  snapshots.forEach((snapshot, i) => {
    for (const c of snapshot.counts) {
      if (!wanted(c)) continue;
      const k = keyOf(c);
      let column = byKey.get(k);
      if (!column) byKey.set(k, (column = { key: { tag: c.tag, pool: c.pool }, count: new Float64Array(n), bytes: new Float64Array(n) }));
      column.count[i] = c.outstanding;
      column.bytes[i] = c.bytes;
    }
  });
  const latestOf = new Map(last.counts.filter(wanted).map((c) => [keyOf(c), c]));
  const series = [...byKey].map(([k, column]) => ({ key: column.key, points: { atMs, count: column.count, bytes: column.bytes }, latest: latestOf.get(k) }));
  const test = testGrowth(series, { autocorrelation: true, ...options });
  const growthOf = new Map<RankEntry, (typeof test.entries)[number]['growth']>();
  const entries: RankEntry[] = test.entries.map(({ key, growth }, i) => {
    const latest = series[i]!.latest;
    const entry: RankEntry = {
      tag: key.tag,
      pool: key.pool,
      bytes: latest?.bytes ?? 0,
      allocs: latest?.outstanding ?? 0,
      ...(latest?.frees !== undefined && { frees: latest.frees }),
      growthBytesPerMinute: Math.round(growth.bytes.slope),
      growthAllocsPerMinute: Math.round(growth.count.slope * 100) / 100,
      growthOutstanding: growth.gainedAllocs,
      trend: growth.count.t,
      p: growth.p,
      significant: growth.significant,
      continuing: growth.continuing,
      growing: growth.growing,
      measure: growth.measure,
      why: growth.why,
    };
    growthOf.set(entry, growth);
    return entry;
  });
  entries.sort(
    (a, b) =>
      Number(b.growing) - Number(a.growing) ||
      (a.growing ? b.growthBytesPerMinute! - a.growthBytesPerMinute! : Number(b.significant) - Number(a.significant) || a.p! - b.p! || b.bytes - a.bytes) ||
      a.tag.localeCompare(b.tag),
  );
  const top = entries[0];
  const spanSeconds = Math.round((snapshots[snapshots.length - 1]!.atMs - snapshots[0]!.atMs) / 1000);
  const testSaid = { method: test.method, alpha: test.alpha, tested: test.tested };
  // More samples may decide a tag that rose significantly but stopped, or one that has not risen
  // beyond the correction yet but could by the last sample the budget allows (a slow leak in a
  // noisy tag); a tag that could not even at a slope a standard error above its estimate cannot.
  // With the budget spent (or none given), "more" is twice the samples: would a longer budget?
  const reach = (options.horizon ?? n) > n ? options.horizon! : 2 * n;
  const undecided = entries.filter((e) => !e.growing && (e.significant || couldStillGrow(growthOf.get(e)!, reach, growthOf.get(e)!.threshold!, options)));
  if (!top || !top.growing) {
    const stopped = undecided.find((e) => e.significant);
    // Sampling ended with a tag more samples could still decide: say which.
    const closest = undecided.filter((e) => !e.significant).sort((a, b) => a.p! - b.p!)[0];
    return {
      basis: 'growth',
      ranking: entries,
      suspect: null,
      test: testSaid,
      decisive: undecided.length === 0 && n >= 4,
      ...(!stopped && closest && { undecided: closest.tag }),
      reason: stopped
        ? `no tag kept growing over ${snapshots.length} samples (${spanSeconds} s of target time): tag "${stopped.tag}" ${stopped.why}`
        : `no tag grew steadily over ${snapshots.length} samples (${spanSeconds} s of target time; ${test.tested} tags tested, family-wise error rate ${formatP(test.alpha)})${closest ? `; the closest, tag "${closest.tag}", was still undecided when sampling ended (${closest.why}): a longer growth budget may decide it` : reach > n && n >= 4 ? `, and none could by the last of the ${reach} samples the growth budget allows` : ''}`,
    };
  }
  return {
    basis: 'growth',
    ranking: entries,
    suspect: { tag: top.tag, pool: top.pool, bytes: top.bytes, growthBytesPerMinute: top.growthBytesPerMinute!, growthAllocsPerMinute: top.growthAllocsPerMinute!, p: top.p!, measure: top.measure! },
    test: testSaid,
    decisive: true,
    reason: `tag "${top.tag}" grew by ${top.growthOutstanding} allocations (${top.growthBytesPerMinute} bytes/min of ${top.pool} pool) over ${snapshots.length} samples (${spanSeconds} s of target time): ${top.why}`,
  };
}
