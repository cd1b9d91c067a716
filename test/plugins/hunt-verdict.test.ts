// The verdict: which evidence names a culprit, and report.json matches its published schema.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { factsForOs } from '../../src/core/versions.js';
import { findProfile } from '../../src/sim/profiles.js';
import { buildHuntReport, stepsFromEvents, summarizeHunt, type CollectedSite, type HuntInputs } from '../../src/report/hunt.js';
import { testGrowth } from '../../src/evidence/growth.js';
import { SeenAllocations, siteLeakRate, type SiteLeakRate } from '../../src/evidence/lifetimes.js';

const validate = createSchemaCompiler().compile(JSON.parse(readFileSync(new URL('../../schemas/report.schema.json', import.meta.url), 'utf8')));

const base: HuntInputs = {
  playbook: 'find-pool-leak',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1234,
  facts: factsForOs('winxp-sp3-x86', undefined, findProfile('winxp-sp3-x86')),
  steps: [{ id: 'rank', uses: 'pool.rank-tags', provider: 'pool/poolused', status: 'ok', durationMs: 10 }],
};
const growing = {
  basis: 'growth' as const,
  ranking: [{ tag: 'Abc ', pool: 'paged' as const, bytes: 33930272, allocs: 36405, growthBytesPerMinute: 111840, growthOutstanding: 480 }],
  suspect: { tag: 'Abc ', pool: 'paged' as const, bytes: 33930272, growthBytesPerMinute: 111840 },
  reason: 'tag "Abc " grew',
};

// A collected allocation site.
function site(frame: string, allocs: number, frees: number, size = 932): CollectedSite {
  const [module, rest] = frame.split('!') as [string, string];
  const [fn, offset] = rest.split('+0x') as [string, string];
  return { frame, module, function: fn, offset: parseInt(offset, 16), kind: 'alloc', allocs, frees, outstanding: allocs - frees, outstandingBytes: (allocs - frees) * size, addressed: allocs };
}

// Build, check against the schema, return.
function report(input: HuntInputs) {
  const built = buildHuntReport(input);
  const ok = validate(JSON.parse(JSON.stringify(built)));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
  return built;
}

// The lifetime-corrected leak rate of a site whose `leaked` of `judged` allocations outlived their
// normal lifetime, at `perMinute` allocations a minute of `size` bytes.
function leakRate(leaked: number, judged: number, perMinute: number, size = 932): SiteLeakRate {
  const allocations = [
    ...Array.from({ length: judged - leaked }, (_, i) => ({ hit: i + 1, size, freedAt: i + 3 })),
    ...Array.from({ length: leaked }, (_, i) => ({ hit: judged + i, size })),
  ];
  return siteLeakRate(SeenAllocations.of(allocations), { endHit: judged * 20, allocsInSpan: perMinute, spanMs: 60_000, hitsInSpan: judged * 2 });
}

// A retagged site whose new tag was counted at `counts` (one a minute).
function retagged(frame: string, retag: string, counts: number[]) {
  const [module, rest] = frame.split('!') as [string, string];
  const [fn, offset] = rest.split('+0x') as [string, string];
  const points = counts.map((count, i) => ({ atMs: 60_000 * (i + 1), count, bytes: count * 932 }));
  const growth = testGrowth([{ key: retag, points }]).entries[0]!.growth;
  return { frame, module, function: fn, offset: parseInt(offset, 16), retag, patched: ['f8001234'], outstanding: counts.at(-1)!, outstandingBytes: counts.at(-1)! * 932, growthBytesPerMinute: Math.round(growth.bytes.slope), points, growth };
}

const growingCount = { ...growing, suspect: { ...growing.suspect, growthAllocsPerMinute: 120, measure: 'count' as const } };

describe('buildHuntReport', () => {
  test('nothing grows: no-leak, no culprit', () => {
    const r = report({ ...base, rank: { basis: 'growth', ranking: [], suspect: null, reason: 'no tag grew steadily over 5 samples (60 s of target time)' } });
    expect(r).toMatchObject({ verdict: 'no-leak', culprit: null, suspect: null });
    expect(r.reason).toMatch(/no tag grew steadily/);
  });

  test('a ranking that ended with a tag still undecided is not a no-leak: inconclusive, rank longer', () => {
    const reason = 'no tag grew steadily over 7 samples (3600 s of target time; 8 tags tested, family-wise error rate 0.0025); the closest, tag "Nrv ", was still undecided when sampling ended (no significant rise (p = 6.4e-4, needs Holm-corrected 3.1e-4)): a longer growth budget may decide it';
    const r = report({ ...base, rank: { basis: 'growth', ranking: [], suspect: null, reason, decisive: false, undecided: 'Nrv ' } });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(r.reason).toBe(reason);
    expect(r.evidence?.next).toMatch(/a longer growth-budget/);
  });

  test('one site seen is not the culprit just for being the only one: its leak rate must explain the growth', () => {
    // Every allocation seen was freed in its normal lifetime: it explains none of 120 allocations/min.
    const balanced = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [{ ...site('abcflt!AbcAllocateContext+0x2a', 20, 20), leakRate: leakRate(0, 20, 2400) }] } });
    expect(balanced).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(balanced.reason).toMatch(/no site seen explains it/);
    expect(balanced.evidence?.next).toMatch(/retag/);
    // 5% of 2400 allocations a minute outlive their normal lifetime: 120/min, all of the growth.
    const leaking = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [{ ...site('abcflt!AbcAllocateContext+0x2a', 40, 38), leakRate: leakRate(2, 40, 2400) }] } });
    expect(leaking.verdict).toBe('leak');
    expect(leaking.culprit).toMatchObject({ module: 'abcflt', function: 'AbcAllocateContext', offset: 0x2a, frame: 'abcflt!AbcAllocateContext+0x2a', tag: 'Abc ', pool: 'paged', method: 'pairing' });
    expect(leaking.culprit!.explained).toBeCloseTo(1, 1);
    expect(leaking.sites[0]).toMatchObject({ method: 'pairing', allocs: 40, frees: 38, leaked: 2 });
  });

  test('in-flight allocations are not leaks', () => {
    const allocations = Array.from({ length: 20 }, (_, i) => ({ hit: i + 1, size: 932, ...(i < 6 && { freedAt: i + 10 }) }));
    // Collection stopped right after the allocations: the 14 alive ones are younger than the bound.
    const young = siteLeakRate(SeenAllocations.of(allocations), { endHit: 25, allocsInSpan: 20, spanMs: 60_000, hitsInSpan: 25 });
    expect(young.leaked).toBe(0);
    expect(young.status).not.toBe('measured');
  });

  test('retag rounds counted over time decide over pairing: a leaker keeps climbing, a long-lived balanced site levels off', () => {
    const r = report({
      ...base,
      rank: growingCount,
      collect: { method: 'pairing', sites: [site('a!One+0x10', 20, 14), site('b!Two+0x20', 20, 12)] },
      retag: {
        durationMs: 240_000,
        rounds: [{ round: 1, sites: [retagged('a!One+0x10', 'Abc1', [300, 310, 305, 309]), retagged('b!Two+0x20', 'Abc2', [118, 241, 359, 482])] }],
      },
    });
    expect(r.verdict).toBe('leak');
    expect(r.culprit).toMatchObject({ module: 'b', function: 'Two', frame: 'b!Two+0x20', method: 'retag' });
    expect(r.sites.filter((s) => s.method === 'retag').map((s) => [s.frame, s.retag])).toEqual([
      ['b!Two+0x20', 'Abc2'],
      ['a!One+0x10', 'Abc1'],
    ]);
    expect(r.evidence?.rounds[0]?.sites.find((s) => s.retag === 'Abc1')).toMatchObject({ growing: false, points: 4 });
  });

  test('a retagged site that does not explain the growth is not named', () => {
    const r = report({ ...base, rank: growingCount, retag: { rounds: [{ round: 1, sites: [retagged('a!One+0x10', 'Abc1', [10, 20, 30, 40])] }] } });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(r.reason).toMatch(/only 8% of the tag's growth/);
  });

  test('a size-only suspect is not called a leak', () => {
    const r = report({ ...base, rank: { ...growing, basis: 'size', suspect: { ...growing.suspect, growthBytesPerMinute: null } }, collect: { method: 'pairing', sites: [site('a!One+0x10', 20, 14)] } });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
  });

  test('an interrupted run is inconclusive, never leak, and counts what was collected', () => {
    const steps = [...base.steps, { id: 'retag', uses: 'pool.retag-sites', provider: 'pool/immediate-x86', status: 'failed' as const, durationMs: 3, error: { code: 'CANCELLED', message: 'interrupted' } }];
    const r = report({ ...base, steps, rank: growingCount, collect: { method: 'pairing', stacks: 40, sites: [{ ...site('abcflt!AbcAllocateContext+0x2a', 40, 38), leakRate: leakRate(2, 40, 2400) }] }, stacksOnDisk: 4000 });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(r.reason).toMatch(/step "retag" failed: CANCELLED interrupted.*collected 4000 stacks from 1 allocation site/);
  });

  test('a collection interrupted before it had sites counts its stacks on disk, and claims no sites', () => {
    const steps = [...base.steps, { id: 'collect', uses: 'pool.collect-stacks', provider: 'pool/classic', status: 'failed' as const, durationMs: 3, error: { code: 'RUN_ABORTED', message: 'Run aborted (signal)' } }];
    const r = report({ ...base, steps, rank: growingCount, stacksOnDisk: 10661 });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(r.reason).toMatch(/collected 10661 stacks$/);
    expect(r.reason).not.toMatch(/allocation site/);
  });

  test('no ranking and no tag: inconclusive, and a failed step is named', () => {
    const r = report({ ...base, steps: [{ id: 'symbols', uses: 'symbols.reload', provider: 'symbols/reload', status: 'failed', durationMs: 3, error: { code: 'STEP_FAILED', message: 'nt has no usable symbols' } }] });
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/step "symbols" failed: STEP_FAILED nt has no usable symbols/);
  });

  // A driver's own helper called from two functions of the driver: one site (one return address),
  // two calling paths compared by their own lifetime-corrected leak rates.
  describe('paths inside one driver', () => {
    const helper = 'mdkfs!MdkAllocatePool+0x30';
    const path = (frame: string, allocs: number, rate: SiteLeakRate) => {
      const [module, rest] = frame.split('!') as [string, string];
      return { culprit: { frame, module, function: rest.split('+')[0]!, offset: 0x3c }, allocs, frees: 0, outstanding: 0, outstandingBytes: 0, leakRate: rate };
    };
    const helperSite = (paths: ReturnType<typeof path>[]) => ({
      ...site(helper, 80, 70),
      leakRate: leakRate(8, 80, 2400),
      callerPaths: Object.fromEntries(paths.map((p) => [p.culprit.frame, p])),
    });

    test('the one path whose leak rate explains the growth is named with the site: "path → site" in every output', () => {
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [helperSite([path('mdkfs!MdkCreateFcb+0x3c', 40, leakRate(8, 40, 1200)), path('mdkfs!MdkReadWorker+0x3c', 40, leakRate(0, 40, 1200))])] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: helper, path: 'mdkfs!MdkCreateFcb+0x3c' } });
      expect(r.reason).toMatch(/of its 2 calling paths, mdkfs!MdkCreateFcb\+0x3c, leaks/);
      expect(summarizeHunt(r)).toContain('leaking call site: mdkfs!MdkCreateFcb+0x3c → mdkfs!MdkAllocatePool+0x30 (module mdkfs');
    });

    test('no path is named when the paths do not single one out: both explain (the site still is named)', () => {
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [helperSite([path('mdkfs!MdkCreateFcb+0x3c', 40, leakRate(4, 40, 1200)), path('mdkfs!MdkReadWorker+0x3c', 40, leakRate(4, 40, 1200))])] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: helper } });
      expect(r.culprit!.path).toBeUndefined();
      expect(summarizeHunt(r)).toContain(`leaking call site: ${helper} (module mdkfs`);
    });

    test('the only path seen carries the site\'s evidence, unless its own lifetimes show it balanced', () => {
      const retag = { rounds: [{ round: 1, sites: [retagged(helper, 'Mdk1', [0, 120, 240, 360, 480, 600])] }] };
      // Named by retag; its only path seen had 2 allocations and no free while watched: nothing contradicts.
      const unwatched = { ...site(helper, 2, 0), leakRate: siteLeakRate(SeenAllocations.of([{ hit: 1, size: 448 }, { hit: 2, size: 448 }]), { endHit: 40 }), callerPaths: { 'mdkfs!MdkCreateFcb+0x3c': path('mdkfs!MdkCreateFcb+0x3c', 2, siteLeakRate(SeenAllocations.of([{ hit: 1, size: 448 }, { hit: 2, size: 448 }]), { endHit: 40 })) } };
      const named = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [unwatched] }, retag });
      expect(named).toMatchObject({ verdict: 'leak', culprit: { frame: helper, method: 'retag', path: 'mdkfs!MdkCreateFcb+0x3c' } });
      expect(named.reason).toMatch(/all 2 of its allocations seen came through mdkfs!MdkCreateFcb\+0x3c \(its own lifetimes: none of its 2 allocations seen was freed/);
      // Named by retag while its only path seen (a hot one) frees what it allocates: a rarer path
      // through the same return address may leak, so no path is named.
      const balanced = { ...helperSite([path('mdkfs!MdkReadWorker+0x3c', 40, leakRate(0, 40, 2400))]), leakRate: leakRate(0, 40, 2400) };
      const retaggedOnly = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [balanced] }, retag });
      expect(retaggedOnly).toMatchObject({ verdict: 'leak', culprit: { frame: helper, method: 'retag' } });
      expect(retaggedOnly.culprit!.path).toBeUndefined();
      // Named by pairing: the only path's allocations are the site's, and their leak rate explains the growth.
      const paired = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [helperSite([path('mdkfs!MdkCreateFcb+0x3c', 80, leakRate(8, 80, 2400))])] } });
      expect(paired.culprit).toMatchObject({ frame: helper, path: 'mdkfs!MdkCreateFcb+0x3c' });
      expect(paired.reason).toMatch(/its only calling path seen, mdkfs!MdkCreateFcb\+0x3c, leaks/);
    });
    // One call site in a helper its driver calls from three callbacks; the retag shows the site
    // leaking, but every allocation seen on every path was freed in time: the leaking calls come
    // through a path too rare among the stacks to show, and the helper is not the code to fix.
    test('a retagged helper whose paths seen all free what they allocate: inconclusive, not the helper', () => {
      const retag = { rounds: [{ round: 1, sites: [retagged(helper, 'Mdk1', [0, 120, 240, 360, 480, 600])] }] };
      const quiet = { ...helperSite([path('mdkfs!MdkCreateFcb+0x3c', 40, leakRate(0, 40, 1200)), path('mdkfs!MdkReadWorker+0x3c', 40, leakRate(0, 40, 1200))]), leakRate: leakRate(0, 80, 2400) };
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [quiet] }, retag });
      expect(r.verdict).toBe('inconclusive');
      expect(r.culprit).toBeNull();
      expect(r.reason).toMatch(/but mdkfs calls it from 2 paths and none seen leaks: mdkfs!MdkCreateFcb\+0x3c \(40 seen, 40 freed\), mdkfs!MdkReadWorker\+0x3c \(40 seen, 40 freed\)/);
      expect(r.evidence?.next).toMatch(/collect more stacks/);
      // One path with an allocation that outlived the others: the site is named as before.
      const oneLeaks = { ...helperSite([path('mdkfs!MdkCreateFcb+0x3c', 40, leakRate(1, 40, 1200)), path('mdkfs!MdkReadWorker+0x3c', 40, leakRate(0, 40, 1200))]), leakRate: leakRate(1, 80, 2400) };
      expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [oneLeaks] }, retag })).toMatchObject({ verdict: 'leak', culprit: { frame: helper } });
    });
  });

  // A bus driver's one call site answers a query for two senders; the blocks are the senders' to
  // free (ownership passes with the answer): the PnP manager frees every answer in nt, a filter
  // frees two in three in its own code. Grouped by the frame where the caller chains part.
  describe('a site whose blocks belong to its callers', () => {
    const answer = 'vstbus!VsbPdoQueryTargetRelation+0x5a';
    const group = (frame: string, allocs: number, rate: SiteLeakRate, freedBy: Record<string, number>) => {
      const [module, rest] = frame.split('!') as [string, string];
      const [fn, offset] = rest.split('+0x') as [string, string];
      return { culprit: { frame, module, function: fn, offset: parseInt(offset, 16) }, allocs, frees: 0, outstanding: 0, outstandingBytes: 0, leakRate: rate, freedBy };
    };
    const answering = (groups: ReturnType<typeof group>[]) => ({
      ...site(answer, 60, 40, 16),
      leakRate: leakRate(8, 60, 2400, 16),
      requesters: Object.fromEntries(groups.map((g) => [g.culprit.frame, g])),
    });
    const fromPnp = (freedBy: Record<string, number> = { 'nt!IopGetRelatedTargetDevice+0x9e': 20 }) => group('nt!IopSynchronousCall+0xe5', 20, leakRate(0, 20, 100, 16), freedBy);
    const fromFilter = (freedBy: Record<string, number> = { 'bkvolflt!BvfIsOwnDisk+0x13b': 20 }) => group('bkvolflt!BvfIsOwnDisk+0xd4', 40, leakRate(8, 40, 1200, 16), freedBy);

    test('names the caller whose requests alone leak and who frees the rest of what it asked for, with the site it called', () => {
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([fromPnp(), fromFilter()])] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: 'bkvolflt!BvfIsOwnDisk+0xd4', module: 'bkvolflt', function: 'BvfIsOwnDisk', via: answer } });
      expect(r.sites[0]!.frame).toBe(answer);
      expect(r.reason).toMatch(/vstbus frees none of its blocks, its callers do \(nt 20, bkvolflt 20\): only the calls through bkvolflt!BvfIsOwnDisk\+0xd4 leak \(leaks .*\), not the allocations 20 through nt!IopSynchronousCall\+0xe5; bkvolflt does not free all it asked for/);
    });

    test('keeps the site when the site\'s own driver frees its blocks: code that leaks on one caller\'s requests', () => {
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([fromPnp({ 'vstbus!VsbFreeRelations+0x12': 20 }), fromFilter({ 'vstbus!VsbFreeRelations+0x12': 20 })])] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: answer } });
      expect(r.reason).not.toMatch(/its callers do/);
    });

    test('keeps the site when the leaking caller never frees any of its blocks (nothing shows they are its to free)', () => {
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([fromPnp(), fromFilter({ 'nt!IopGetRelatedTargetDevice+0x9e': 20 })])] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: answer } });
    });

    test('keeps the site when the callers\' chains do not part (one group), or the leaking one is the kernel\'s', () => {
      expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([fromFilter()])] } }).culprit).toMatchObject({ frame: answer });
      const kernelLeaks = [group('nt!IopSynchronousCall+0xe5', 40, leakRate(8, 40, 1200, 16), { 'nt!IopGetRelatedTargetDevice+0x9e': 20 }), group('bkvolflt!BvfIsOwnDisk+0xd4', 20, leakRate(0, 20, 100, 16), { 'bkvolflt!BvfIsOwnDisk+0x13b': 20 })];
      expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering(kernelLeaks)] } }).culprit).toMatchObject({ frame: answer });
    });

    test('one chain only, the blocks freed by another driver and never by the site\'s: inconclusive, both readings said', () => {
      const handed = { ...site(answer, 60, 40, 16), leakRate: leakRate(8, 60, 2400, 16), freedBy: { 'bkvolflt!BvfIsOwnDisk+0x13b': 40 } };
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [handed] } });
      expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
      expect(r.reason).toMatch(/but its blocks are handed over: freed by bkvolflt \(40\), vstbus none, so either bkvolflt does not free all it receives or vstbus drops some before handing them over, and the stacks cannot tell which$/);
      expect(r.evidence?.next).toMatch(/^read bkvolflt's free path \(bkvolflt!BvfIsOwnDisk\+0x13b\)/);
      // Freed by the kernel only (an IRP's buffer on completion), or by its own driver too: the site is named.
      for (const freedBy of [{ 'nt!IopCompleteRequest+0x3a': 40 }, { 'bkvolflt!BvfIsOwnDisk+0x13b': 30, 'vstbus!VsbFreeRelations+0x12': 10 }] as Record<string, number>[]) {
        expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [{ ...handed, freedBy }] } }).culprit).toMatchObject({ frame: answer });
      }
    });

    test('a leak that follows one of several paths inside the allocating driver is that driver\'s, whoever frees its blocks', () => {
      const pathOf = (frame: string, allocs: number, rate: SiteLeakRate) => ({ culprit: { frame, module: 'vstbus', function: frame.split('!')[1]!.split('+')[0]!, offset: 0x40 }, allocs, frees: 0, outstanding: 0, outstandingBytes: 0, leakRate: rate });
      const both = {
        ...answering([fromPnp(), fromFilter()]),
        freedBy: { 'nt!IopGetRelatedTargetDevice+0x9e': 20, 'bkvolflt!BvfIsOwnDisk+0x13b': 20 },
        callerPaths: { 'vstbus!VsbQueryLong+0x40': pathOf('vstbus!VsbQueryLong+0x40', 30, leakRate(8, 30, 1200, 16)), 'vstbus!VsbQueryShort+0x40': pathOf('vstbus!VsbQueryShort+0x40', 30, leakRate(0, 30, 1200, 16)) },
      };
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [both] } });
      expect(r).toMatchObject({ verdict: 'leak', culprit: { frame: answer, path: 'vstbus!VsbQueryLong+0x40' } });
    });

    // A port-monitor filter completes some close requests itself, so the serial driver never frees
    // those handles' contexts; the allocating driver's code is right. Every allocation seen down
    // the direct chain was freed, and the unfreed ones all came through the filter: the stacks
    // show the leak following the filter's requests, not whose code drops the blocks.
    test('the unfreed blocks all down one other driver\'s chain, every one down the others freed: inconclusive, both readings', () => {
      const direct = group('nt!IopParseDevice+0xed6', 19, leakRate(0, 19, 100, 16), { 'vstbus!VsbFreeRelations+0x12': 19 });
      const filtered = (n: number) => group('sermon!SmForwardAndWait+0x4e', n, leakRate(n, n, 100, 16), {});
      const r = report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([direct, filtered(4)])] } });
      expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
      expect(r.reason).toMatch(/but the blocks left unfreed all came through sermon!SmForwardAndWait\+0x4e \(4 of its 4 allocations seen\), while every one seen through the other chains was freed \(19 through nt!IopParseDevice\+0xed6; p = 1\.1e-4 .*\): either sermon keeps them from being freed .* or vstbus leaks only on its requests, and the stacks cannot tell which$/);
      expect(r.evidence?.next).toMatch(/^read what sermon does with the requests after sermon!SmForwardAndWait\+0x4e/);
      // One unfreed allocation among 20 could fall on that chain by chance (p = 0.05): named as before.
      expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering([direct, filtered(1)])] } })).toMatchObject({ verdict: 'leak', culprit: { frame: answer } });
    });

    test('keeps the site when another caller\'s requests leak too', () => {
      const both = [group('nt!IopSynchronousCall+0xe5', 20, leakRate(4, 20, 300, 16), { 'nt!IopGetRelatedTargetDevice+0x9e': 16 }), fromFilter()];
      expect(report({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [answering(both)] } }).culprit).toMatchObject({ frame: answer });
    });
  });

  test('the summary names the call site', () => {
    const r = buildHuntReport({ ...base, rank: growingCount, collect: { method: 'pairing', sites: [{ ...site('abcflt!AbcAllocateContext+0x2a', 40, 38), leakRate: leakRate(2, 40, 2400) }] } });
    expect(summarizeHunt(r)).toMatch(/^verdict: leak/);
    expect(summarizeHunt(r)).toMatch(/leaking call site: abcflt!AbcAllocateContext\+0x2a \(module abcflt, function AbcAllocateContext\)/);
  });
});

describe('stepsFromEvents', () => {
  test('pairs stepStart providers with stepEnd results', () => {
    const { steps, playbook } = stepsFromEvents([
      { event: 'runStart', time: '2026-01-01T00:00:00.000Z', playbook: 'find-pool-leak' },
      { event: 'stepStart', step: 'rank', uses: 'pool.rank-tags', plugin: 'pool', provider: 'poolused' },
      { event: 'stepEnd', step: 'rank', uses: 'pool.rank-tags', status: 'ok', durationMs: 42 },
      { event: 'stepEnd', step: 'retag', uses: 'pool.retag-sites', status: 'skipped', durationMs: 0 },
    ]);
    expect(playbook).toBe('find-pool-leak');
    expect(steps).toEqual([
      { id: 'rank', uses: 'pool.rank-tags', provider: 'pool/poolused', status: 'ok', durationMs: 42 },
      { id: 'retag', uses: 'pool.retag-sites', provider: 'none', status: 'skipped', durationMs: 0 },
    ]);
  });
});
