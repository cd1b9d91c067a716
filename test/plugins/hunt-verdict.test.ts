// The verdict: which evidence names a culprit, and report.json matches its published schema.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { factsForOs } from '../../src/core/versions.js';
import { buildHuntReport, stepsFromEvents, summarizeHunt, type CollectedSite, type HuntInputs } from '../../src/report/hunt.js';

const validate = createSchemaCompiler().compile(JSON.parse(readFileSync(new URL('../../schemas/report.schema.json', import.meta.url), 'utf8')));

const base: HuntInputs = {
  playbook: 'find-pool-leak',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1234,
  facts: factsForOs('winxp-sp3-x86'),
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

describe('buildHuntReport', () => {
  test('nothing grows: no-leak, no culprit', () => {
    const r = report({ ...base, rank: { basis: 'growth', ranking: [], suspect: null, reason: 'no tag grew steadily over 5 samples (60 s of target time)' } });
    expect(r).toMatchObject({ verdict: 'no-leak', culprit: null, suspect: null });
    expect(r.reason).toMatch(/no tag grew steadily/);
  });

  test('a growing tag with one allocation site: that site is the culprit', () => {
    const r = report({ ...base, rank: growing, collect: { method: 'pairing', sites: [site('abcflt!AbcAllocateContext+0x2a', 20, 15), { ...site('abcflt!AbcFreeContext+0x11', 0, 0), kind: 'free', frees: 15 }] } });
    expect(r.verdict).toBe('leak');
    expect(r.culprit).toEqual({ module: 'abcflt', function: 'AbcAllocateContext', offset: 0x2a, frame: 'abcflt!AbcAllocateContext+0x2a', tag: 'Abc ', pool: 'paged' });
    expect(r.sites).toHaveLength(1);
    expect(r.sites[0]).toMatchObject({ method: 'pairing', allocs: 20, frees: 15, outstanding: 5, outstandingBytes: 5 * 932 });
  });

  test('several sites and no retag: pairing names one only when it clearly dominates', () => {
    const clear = report({ ...base, rank: growing, collect: { method: 'pairing', sites: [site('a!Leaky+0x10', 20, 2), site('b!Fine+0x20', 20, 19)] } });
    expect(clear.culprit?.frame).toBe('a!Leaky+0x10');
    const close = report({ ...base, rank: growing, collect: { method: 'pairing', sites: [site('a!One+0x10', 20, 14), site('b!Two+0x20', 20, 12)] } });
    expect(close).toMatchObject({ verdict: 'inconclusive', culprit: null });
    expect(close.reason).toMatch(/retag/);
  });

  test('retagged counts decide over pairing', () => {
    const r = report({
      ...base,
      rank: growing,
      collect: { method: 'pairing', sites: [site('a!One+0x10', 20, 14), site('b!Two+0x20', 20, 12)] },
      retag: {
        durationMs: 120_000,
        sites: [
          { frame: 'a!One+0x10', module: 'a', function: 'One', offset: 0x10, retag: 'Abc1', patched: ['f8001234'], outstanding: 3, outstandingBytes: 2796, growthBytesPerMinute: 1398 },
          { frame: 'b!Two+0x20', module: 'b', function: 'Two', offset: 0x20, retag: 'Abc2', patched: ['f8005678'], outstanding: 240, outstandingBytes: 223680, growthBytesPerMinute: 111840 },
        ],
      },
    });
    expect(r.verdict).toBe('leak');
    expect(r.culprit).toMatchObject({ module: 'b', function: 'Two', frame: 'b!Two+0x20' });
    expect(r.sites.map((s) => [s.frame, s.method, s.retag])).toEqual([
      ['b!Two+0x20', 'retag', 'Abc2'],
      ['a!One+0x10', 'retag', 'Abc1'],
    ]);
  });

  test('a size-only suspect is not called a leak', () => {
    const r = report({ ...base, rank: { ...growing, basis: 'size', suspect: { ...growing.suspect, growthBytesPerMinute: null } }, collect: { method: 'pairing', sites: [site('a!One+0x10', 20, 14)] } });
    expect(r).toMatchObject({ verdict: 'inconclusive', culprit: null });
  });

  test('no ranking and no tag: inconclusive, and a failed step is named', () => {
    const r = report({ ...base, steps: [{ id: 'symbols', uses: 'symbols.reload', provider: 'symbols/reload', status: 'failed', durationMs: 3, error: { code: 'STEP_FAILED', message: 'nt has no usable symbols' } }] });
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/step "symbols" failed: nt has no usable symbols/);
  });

  test('the summary names the call site', () => {
    const r = buildHuntReport({ ...base, rank: growing, collect: { method: 'pairing', sites: [site('abcflt!AbcAllocateContext+0x2a', 20, 15)] } });
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
