import { describe, expect, test } from 'vitest';
import { SeenAllocations, siteLeakRate, stillInFlight } from '../../src/evidence/lifetimes.js';

describe('SeenAllocations', () => {
  test('keeps every allocation as its columns grow past their first size', () => {
    const seen = new SeenAllocations();
    // 1,000 allocations one hit apart; every other one freed 10 hits later; sizes known for the first half only.
    const indexes = Array.from({ length: 1000 }, (_, i) => seen.add(i + 1, i < 500 ? 100 + i : undefined));
    expect(indexes).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (let i = 0; i < 1000; i += 2) seen.free(i, i + 11);
    expect(seen.length).toBe(1000);
    expect(seen.freed).toBe(500);
    expect(seen.hit(999)).toBe(1000);
    expect(seen.alive(998)).toBe(false);
    expect(seen.alive(999)).toBe(true);
    expect(seen.lifetimes()).toEqual(Array.from({ length: 500 }, () => 10));
    // The mean of 100..599.
    expect(seen.meanSize).toBe(349.5);
  });

  test('of() reads a list of allocations as the book adds them', () => {
    const seen = SeenAllocations.of([{ hit: 3, size: 64, freedAt: 9 }, { hit: 5 }]);
    expect([seen.length, seen.freed, seen.hit(1), seen.alive(0), seen.alive(1), seen.meanSize]).toEqual([2, 1, 5, false, true, 64]);
    expect(seen.lifetimes()).toEqual([6]);
    expect(new SeenAllocations().meanSize).toBeUndefined();
  });
});

describe('siteLeakRate over columns', () => {
  // 20 allocations at hits 1..20 of 64 bytes; the first 10 freed 4 hits later; the watch ends at hit 100.
  const site = (): SeenAllocations => SeenAllocations.of(Array.from({ length: 20 }, (_, i) => ({ hit: i + 1, size: 64, ...(i < 10 && { freedAt: i + 5 }) })));

  test('alive allocations older than twice the longest lifetime are leaked', () => {
    const rate = siteLeakRate(site(), { endHit: 100, allocsInSpan: 20, spanMs: 60_000, hitsInSpan: 100 });
    expect(rate).toMatchObject({ status: 'measured', seen: 20, freed: 10, leaked: 10, inFlight: 0, normalLifetimeHits: 8, meanSize: 64, allocsPerMinute: 20 });
    expect(rate.fraction!.estimate).toBe(0.5);
    expect(stillInFlight(site(), 100)).toBe(false);
  });

  test('a watch shorter than twice the bound for the typical allocation is not trusted', () => {
    // Ages at hit 24 are 4..23, typical 14 < 2 × 8.
    expect(siteLeakRate(site(), { endHit: 24 })).toMatchObject({ status: 'too-few', leaked: 0, inFlight: 10, normalLifetimeHits: 8 });
    expect(stillInFlight(site(), 24)).toBe(true);
  });
});
