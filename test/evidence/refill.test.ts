// A retagged site whose blocks live longer than the round refills its new tag from zero while its
// old blocks drain from the original tag: its new tag climbs faster than the tag with all its new
// tags together. That rise is not its leak; when another site's evidence matches the tag's rise,
// the verdict names that one.
import { describe, expect, test } from 'vitest';
import { testGrowth, type GrowthPoint, type SeriesGrowth } from '../../src/evidence/growth.js';
import { decideVerdict, growthStopped, retagCandidate, type RetaggedSiteEvidence, type TagGrowthEvidence } from '../../src/evidence/verdict.js';

const minute = 60_000;
const growth: TagGrowthEvidence = { tag: 'AvxS', pool: 'paged', allocsPerMinute: 5, bytesPerMinute: 1250, measure: 'count' };

// Twelve counts five minutes apart, rising `perMinute` with a small alternating wobble.
function series(start: number, perMinute: number, wobble = 2): GrowthPoint[] {
  return Array.from({ length: 12 }, (_, k) => {
    const count = Math.round(start + perMinute * 5 * k + (k % 2 === 0 ? wobble : -wobble));
    return { atMs: k * 5 * minute, count, bytes: count * 256 };
  });
}

function grown(points: GrowthPoint[]): SeriesGrowth {
  return testGrowth([{ key: 'x', points }]).entries[0]!.growth;
}

function site(fn: string, retag: string, points: GrowthPoint[]): RetaggedSiteEvidence {
  return { frame: `avxflt!${fn}+0x21`, module: 'avxflt', function: fn, offset: 0x21, retag, growth: grown(points) };
}

// The tag with its new tags: the leak alone, 5 a minute.
const family = grown(series(6000, 5, 20));
const cache = site('AvxInsertVerdictCache', 'Avx2', series(0, 16));
const stream = site('AvxCreateStreamContext', 'Avx3', series(0, 5));

describe('a retagged site\'s rise against the tag\'s while watched', () => {
  test('a new tag rising with the family carries no refill; one rising three times as fast does', () => {
    const plain = retagCandidate(stream, growth, family);
    expect(plain.explains).toBe(true);
    expect(plain.refill).toBeUndefined();
    const c = retagCandidate(cache, growth, family);
    expect(c.explains).toBe(true);
    expect(c.refill?.rate).toBeCloseTo(16, 0);
    expect(c.refill?.family).toBeCloseTo(5, 0);
  });

  test('with both claiming, the verdict names the site whose rise matches the tag\'s, and says why the other is set aside', () => {
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [cache, stream], family }] } });
    expect(decision.verdict).toBe('leak');
    expect(decision.culprit?.frame).toBe('avxflt!AvxCreateStreamContext+0x21');
    const setAside = decision.candidates.find((c) => c.frame === 'avxflt!AvxInsertVerdictCache+0x21')!;
    expect(setAside.explains).toBe(false);
    expect(setAside.why).toMatch(/faster than the tag with all its new tags together \(4\.\d+ allocations\/min\): the rise is partly a refill/);
  });

  test('a refilling site alone is still named when nothing else accounts for the rise (a leak with long-lived balanced blocks beside it)', () => {
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [cache], family }] } });
    expect(decision.verdict).toBe('leak');
    expect(decision.culprit?.frame).toBe('avxflt!AvxInsertVerdictCache+0x21');
  });
});

describe('a refill alone, while the tag with its new tags hardly rises', () => {
  // A cache filling since boot made the tag grow 5 a minute while it was ranked; by the retag
  // round it has nearly filled: the tag with its new tags rises 1 a minute, and the cache's new
  // tag climbs 16 a minute only because it refills while its old entries drain.
  const slowing = grown(series(6000, 1, 2));

  test('explains only as much as the family rises: not named, and the reason says so', () => {
    const c = retagCandidate(cache, growth, slowing);
    expect(c.explains).toBe(false);
    expect(c.why).toMatch(/the rise is mostly a refill of balanced blocks whose old ones drained from the original tag, and the tag with its new tags rose only 2\d% of the tag's growth$/);
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [cache], family: slowing }] } });
    expect(decision.verdict).toBe('inconclusive');
  });
});

describe('old blocks still draining from the original tag', () => {
  // The same retagged site and family; the original tag, counted over the round, either keeps
  // falling to its end (blocks allocated before the retag still being freed, long after: a cache
  // that may be filling) or falls in the round's first minutes and then holds (a balanced site's
  // short-lived blocks gone, a leak's old blocks staying).
  const original = (fall: (k: number) => number) => grown(Array.from({ length: 12 }, (_, k) => {
    const count = Math.round(6000 - fall(k) + (k % 2 === 0 ? 3 : -3));
    return { atMs: k * 5 * minute, count, bytes: count * 256 };
  }));

  test('a site whose old blocks are still being freed at the round\'s end is not called a leak', () => {
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [stream], family, original: original((k) => 40 * k) }] } });
    expect(decision.verdict).toBe('inconclusive');
    expect(decision.reason).toMatch(/the blocks under the original tag are still being freed \(8(\.\d)? allocations\/min, p = [^)]+\) over the round's last half/);
    expect(decision.next).toMatch(/watch longer/);
  });

  test('in a round of several sites, another site\'s old blocks draining (its refill) do not stand in the named one\'s way', () => {
    // The cache's new tag outruns the family: the old blocks draining are its own; the stream
    // context's rise matches the tag's and is named.
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [cache, stream], family, original: original((k) => 55 * k) }] } });
    expect(decision.verdict).toBe('leak');
    expect(decision.culprit?.frame).toBe('avxflt!AvxCreateStreamContext+0x21');
  });

  test('old blocks that drained early and then held do not stand in the way', () => {
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [stream], family, original: original((k) => 300 * Math.min(k, 2)) }] } });
    expect(decision.verdict).toBe('leak');
    expect(decision.culprit?.frame).toBe('avxflt!AvxCreateStreamContext+0x21');
  });
});

describe('growth that stopped by the time the sites were counted apart', () => {
  // The tag grew 5 a minute while ranked (a cache filling after boot, or a leak). In the latest
  // retag round no retagged site explains it, and the tag with all its new tags together is
  // counted at 12 points: flat, or still rising within a noise that cannot rule the growth out.
  const flat = grown(series(6000, 0, 20));
  const noisy = grown(series(6000, 1, 60));
  const balanced = site('AvxCreateStreamContext', 'Avx3', series(40, 0, 3));
  const decide = (family: SeriesGrowth) => decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [balanced], family }] } });

  test('flat, with its slope\'s upper bound under a quarter of the ranked growth in both measures: no-leak, and the reason gives the bounds', () => {
    expect(growthStopped([{ round: 1, sites: [balanced], family: flat }], growth)).toMatch(/over retag round 1's 12 counts the tag with its new tags rose .* allocations\/min \(at most 0\.\d+, under 25% of the ranked 5\) and .* bytes\/min \(at most \d+, under 25% of the ranked 1250\)/);
    const decision = decide(flat);
    expect(decision.verdict).toBe('no-leak');
    expect(decision.reason).toMatch(/^tag "AvxS" grows 5 allocations\/min of paged pool while ranked, but the growth stopped: /);
    expect(decision.culprit).toBeUndefined();
  });

  test('a rise within the noise that could still be a quarter of the growth is not a stop: inconclusive', () => {
    expect(noisy.significant).toBe(false);
    expect(growthStopped([{ round: 1, sites: [balanced], family: noisy }], growth)).toBeUndefined();
    expect(decide(noisy).verdict).toBe('inconclusive');
  });

  test('too few counts (6) cannot show a stop, and a stop in an earlier round is not the latest evidence', () => {
    const short = grown(series(6000, 0, 20).slice(0, 6));
    expect(decide(short).verdict).toBe('inconclusive');
    const later = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [balanced], family: flat }, { round: 2, sites: [balanced], family: noisy }] } });
    expect(later.verdict).toBe('inconclusive');
  });

  test('a site that explains the growth is still named: the stop is weighed only when none does', () => {
    const decision = decideVerdict({ growth, paired: [], stacks: 80, retag: { finished: true, rounds: [{ round: 1, sites: [stream], family }] } });
    expect(decision.verdict).toBe('leak');
  });
});
