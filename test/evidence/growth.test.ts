// The growth test: count or bytes rising, corrected over all tags, and still rising.
import { describe, expect, test } from 'vitest';
import { formatP, seriesGrowth, testGrowth, trendWords, type GrowthPoint } from '../../src/evidence/growth.js';
import { fitLine, holm, holmThresholds, studentTUpper, wilson } from '../../src/evidence/stats.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import { rankSnapshots } from '../../src/evidence/ranking.js';

// Points one interval (10 minutes) apart.
function points(counts: readonly number[], bytes?: readonly number[]): GrowthPoint[] {
  return counts.map((count, i) => ({ atMs: i * 600_000, count, bytes: bytes?.[i] ?? count * 100 }));
}

// A normal deviate (Box–Muller) from a seeded uniform stream.
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe('stats', () => {
  test("Student's t tail matches tables", () => {
    expect(studentTUpper(0, 5)).toBeCloseTo(0.5, 10);
    expect(studentTUpper(2.015, 5)).toBeCloseTo(0.05, 3);
    expect(studentTUpper(6.314, 1)).toBeCloseTo(0.05, 3);
    expect(studentTUpper(2.764, 10)).toBeCloseTo(0.01, 3);
    expect(studentTUpper(-2.015, 5)).toBeCloseTo(0.95, 3);
  });

  test('a perfect rising line has p = 0, a flat one p = 1', () => {
    expect(fitLine([0, 1, 2, 3], [1, 3, 5, 7])).toMatchObject({ slope: 2, pRising: 0 });
    expect(fitLine([0, 1, 2, 3], [4, 4, 4, 4])).toMatchObject({ slope: 0, pRising: 1 });
  });

  test('Holm rejects step-down', () => {
    expect(holm([0.001, 0.04, 0.03, 0.5], 0.05)).toEqual([true, false, false, false]);
    expect(holm([0.001, 0.012, 0.02, 0.5], 0.05)).toEqual([true, true, true, false]);
  });

  test('each series is told the Holm threshold it met or missed (not the family-wise rate)', () => {
    // Ranks 0..3 need 0.05/4, 0.05/3, 0.05/2, 0.05/1; 0.03 misses 0.05/3, so 0.04 stopped there too.
    const t = holmThresholds([0.001, 0.04, 0.03, 0.5], 0.05);
    expect(t[0]).toBeCloseTo(0.0125, 10);
    expect(t[2]).toBeCloseTo(0.05 / 3, 10);
    expect(t[1]).toBeCloseTo(0.05 / 3, 10);
    expect(t[3]).toBeCloseTo(0.05 / 3, 10);
    // A smallest p under the family-wise rate but over alpha/m is said so, with the number it needed.
    const points = (slope: number, wobble: number) => [0, 1, 2, 3, 4].map((k) => ({ atMs: k * 600_000, count: 1000 + slope * k + (k % 2 ? wobble : -wobble), bytes: 0 }));
    const tested = testGrowth([{ key: 'a', points: points(12, 4) }, ...Array.from({ length: 7 }, (_, i) => ({ key: `flat${i}`, points: points(0, 3) }))], { alpha: 0.01 });
    const a = tested.entries[0]!.growth;
    expect(a.p).toBeLessThan(0.01);
    expect(a.significant).toBe(false);
    expect(a.threshold).toBeCloseTo(0.01 / 8, 10);
    expect(a.why).toBe(`no significant rise (p = ${formatP(a.p)}, needs Holm-corrected 0.0013)`);
  });

  test('Wilson interval holds the proportion and stays in [0, 1]', () => {
    const w = wilson(3, 10);
    expect(w.low).toBeGreaterThan(0.1);
    expect(w.high).toBeLessThan(0.61);
    expect(wilson(0, 20).low).toBe(0);
    expect(wilson(20, 20).high).toBe(1);
  });
});

describe('growth test', () => {
  test('a rising count counts even when the bytes of large, varied blocks hide it', () => {
    const random = seededRandom(4);
    const counts = [100, 160, 221, 279, 341, 400];
    // Bytes: a large stable population swinging by megabytes, plus the small growing blocks.
    const bytes = counts.map((c) => 50_000_000 + Math.round((random() - 0.5) * 8_000_000) + c * 64);
    const g = testGrowth([{ key: 'Leak', points: points(counts, bytes) }]).entries[0]!.growth;
    expect(g.measure).toBe('count');
    expect(g.bytes.pRising).toBeGreaterThan(0.01);
    expect(g.growing).toBe(true);
  });

  test('a cache that filled and stopped is not growing', () => {
    const g = testGrowth([{ key: 'Cach', points: points([100, 200, 300, 400, 500, 502, 499]) }]).entries[0]!.growth;
    expect(g.significant).toBe(true);
    expect(g.continuing).toBe(false);
    expect(g.growing).toBe(false);
    expect(g.why).toMatch(/rise stopped/);
  });

  test('with more points, the bend of a filled cache already refuses the whole-window rise', () => {
    // Residuals of a line through a rise that levelled off run in long runs of one sign: the
    // points are worth fewer independent ones, and the rise is not significant at all.
    const g = testGrowth([{ key: 'Cach', points: points([100, 200, 300, 400, 500, 600, 700, 702, 699, 701]) }], { autocorrelation: true }).entries[0]!.growth;
    expect(g.count.lag1).toBeGreaterThan(0.3);
    expect(g.count.effectiveN).toBeLessThan(10);
    expect(g.significant).toBe(false);
    expect(g.growing).toBe(false);
    expect(g.why).toMatch(/move together .* independent ones of 10/);
  });

  test('a steady leak keeps growing', () => {
    const g = testGrowth([{ key: 'Leak', points: points([100, 130, 162, 191, 220, 251]) }]).entries[0]!.growth;
    expect(g).toMatchObject({ significant: true, continuing: true, growing: true });
  });

  test('three points cannot show that a rise goes on', () => {
    const g = seriesGrowth(points([100, 200, 300]));
    expect(g.recent).toBeUndefined();
    expect(g.continuing).toBe(false);
  });

  test('over many balanced noisy tags, the chance that any is called growing stays near alpha', () => {
    const random = seededRandom(12);
    let falseAlarms = 0;
    const trials = 300;
    for (let trial = 0; trial < trials; trial++) {
      const series = Array.from({ length: 40 }, (_, tag) => ({
        key: tag,
        points: points(Array.from({ length: 5 }, () => Math.round(1000 + 30 * gaussian(random)))),
      }));
      if (testGrowth(series, { alpha: 0.01 }).entries.some((e) => e.growth.growing)) falseAlarms++;
    }
    // Holm keeps the family-wise rate at 1%; 300 trials give a few at most.
    expect(falseAlarms / trials).toBeLessThan(0.03);
  });

  test('snapshots closer together than the blocks live are not taken as independent', () => {
    // Balanced populations whose blocks outlive the interval between snapshots: each interval
    // replaces a share 1 − φ of the population (AR(1) with coefficient φ), 30 snapshots, five tags
    // tested at once. The counts wander in long swings; taking the 30 points as independent called
    // some tag growing in 10% of trials at φ = 0.5 and 62% at φ = 0.9 (1% wanted). With the
    // effective number of points, 2% and 9%: much nearer, not all the way, for a short, strongly
    // autocorrelated series.
    const falseAlarmRate = (phi: number, autocorrelation = true) => {
      const random = seededRandom(21);
      let falseAlarms = 0;
      const trials = 300;
      for (let trial = 0; trial < trials; trial++) {
        const series = Array.from({ length: 5 }, (_, tag) => {
          let level = 0;
          const counts = Array.from({ length: 30 }, () => (level = phi * level + 10 * gaussian(random)));
          return { key: tag, points: points(counts.map((c) => Math.round(1000 + c))) };
        });
        if (testGrowth(series, { alpha: 0.01, autocorrelation }).entries.some((e) => e.growth.significant)) falseAlarms++;
      }
      return falseAlarms / trials;
    };
    expect(falseAlarmRate(0.5)).toBeLessThan(0.04);
    expect(falseAlarmRate(0.9)).toBeLessThan(0.15);
    expect(falseAlarmRate(0.9, false)).toBeGreaterThan(0.5);
  });

  test('a leak under autocorrelated noise is still found', () => {
    const random = seededRandom(5);
    let level = 0;
    const counts = Array.from({ length: 30 }, (_, i) => Math.round(1000 + 6 * i + (level = 0.9 * level + 10 * gaussian(random))));
    const g = testGrowth([{ key: 'Leak', points: points(counts) }], { autocorrelation: true }).entries[0]!.growth;
    expect(g.count.lag1).toBeGreaterThan(0);
    expect(g.growing).toBe(true);
  });

  test('a slow leak in a noisy tag shows with more samples', () => {
    const random = seededRandom(7);
    const leak = (n: number) => points(Array.from({ length: n }, (_, i) => Math.round(1000 + 8 * i + 20 * gaussian(random))));
    const others = (n: number) => Array.from({ length: 20 }, (_, k) => ({ key: `B${k}`, points: points(Array.from({ length: n }, () => Math.round(500 + 20 * gaussian(random)))) }));
    const few = testGrowth([{ key: 'Slow', points: leak(4) }, ...others(4)]).entries[0]!.growth;
    const many = testGrowth([{ key: 'Slow', points: leak(30) }, ...others(30)]).entries[0]!.growth;
    expect(few.growing).toBe(false);
    expect(many.growing).toBe(true);
  });
});

describe('a no-leak ranking that ran out of samples with a tag still undecided', () => {
  // Seven snapshots ten minutes apart: "Stag" climbs in uneven steps (a few large blocks), not
  // beyond the correction; "Flat" does not move.
  const stag = [100, 104, 103, 109, 108, 113, 112];
  const snapshots = stag.map((count, k) => ({
    atMs: k * 600_000,
    counts: [
      { tag: 'Stag', pool: 'paged' as const, outstanding: count, bytes: count * 64 },
      { tag: 'Flat', pool: 'paged' as const, outstanding: 500 + (k % 2), bytes: (500 + (k % 2)) * 32 },
    ],
  }));

  test('says which tag was closest and that a longer growth budget may decide it', () => {
    const ranking = rankSnapshots(snapshots, ['paged'], { alpha: 1e-4 });
    expect(ranking.suspect).toBeNull();
    expect(ranking.decisive).toBe(false);
    expect(ranking.reason).toMatch(/; the closest, tag "Stag", was still undecided when sampling ended \(no significant rise \(p = [^,]+, needs Holm-corrected 5.0e-5\)\): a longer growth budget may decide it$/);
  });
});

describe('adaptive sampling goes on only for a tag that could still pass by the budget', () => {
  // Four snapshots ten minutes apart; 20 balanced tags wobble around 500; the budget allows 7.
  const random = seededRandom(11);
  const wobble = () => Array.from({ length: 4 }, () => Math.round(500 + 20 * gaussian(random)));
  const balanced = Array.from({ length: 20 }, (_, k) => ({ tag: `B${k}`, counts: wobble() }));
  const snapshotsWith = (extra: { tag: string; counts: number[] }) =>
    [0, 1, 2, 3].map((k) => ({
      atMs: k * 600_000,
      counts: [...balanced, extra].map((t) => ({ tag: t.tag, pool: 'paged' as const, outstanding: t.counts[k]!, bytes: t.counts[k]! * 64 })),
    }));

  test('a tag drifting up within its noise (p ≈ 0.1 on its own) does not keep sampling going', () => {
    const drift = { tag: 'Drft', counts: [500, 515, 510, 530] };
    const ranking = rankSnapshots(snapshotsWith(drift), ['paged'], { alpha: 0.0025, horizon: 7 });
    const entry = ranking.ranking.find((e) => e.tag === 'Drft')!;
    expect(entry.p).toBeGreaterThan(0.05);
    expect(entry.p).toBeLessThan(0.2);
    expect(ranking.suspect).toBeNull();
    expect(ranking.decisive).toBe(true);
    expect(ranking.reason).toMatch(/, and none could by the last of the 7 samples the growth budget allows$/);
  });

  test('a slow steady rise not yet beyond the correction keeps it going', () => {
    const rise = { tag: 'Slow', counts: [500, 510, 512, 524] };
    const ranking = rankSnapshots(snapshotsWith(rise), ['paged'], { alpha: 0.0025, horizon: 7 });
    expect(ranking.suspect).toBeNull();
    expect(ranking.ranking.find((e) => e.tag === 'Slow')!.significant).toBe(false);
    expect(ranking.decisive).toBe(false);
    // With the budget spent, the verdict names it as the tag a longer budget may decide.
    const spent = rankSnapshots(snapshotsWith(rise), ['paged'], { alpha: 0.0025, horizon: 4 });
    expect(spent.decisive).toBe(false);
    expect(spent.reason).toMatch(/the closest, tag "Slow", was still undecided .*a longer growth budget may decide it$/);
  });
});

// A retag round's one-line summary: a leak's new tag whose rise is still within the noise must
// not read as a balanced site's ("levels off"), or a reader clears the leaking site.
describe('trend words', () => {
  const tested = (counts: number[], bytesPer = 100) => testGrowth([{ key: 't', points: counts.map((count, i) => ({ atMs: i * 60_000, count, bytes: count * bytesPer })) }]).entries[0]!.growth;
  const words = (g: ReturnType<typeof tested>) => trendWords({ ...g, allocsPerMinute: g.count.slope, bytesPerMinute: g.bytes.slope });
  test('a steady climb grows; a flat count levels off', () => {
    expect(words(tested([0, 10, 20, 30, 40, 50]))).toBe('grows');
    expect(words(tested([7, 8, 7, 8, 7, 8, 7]))).toBe('levels off');
  });
  test('a rise that stopped, and a rise within the noise, say so', () => {
    expect(words(tested([0, 10, 20, 30, 40, 40, 40, 40, 40, 40]))).toBe('rose, then stopped');
    expect(words(tested([5, 1, 9, 2, 8, 4, 9]))).toBe('rises, not significantly');
  });
});
