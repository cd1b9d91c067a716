// One model behind every output: stdout's summary, report.md, report.html and junit.xml show the
// same numbers, from report.json, with pairing and retag numbers kept apart.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { factsForOs } from '../../src/core/versions.js';
import { findProfile } from '../../src/sim/profiles.js';
import { testGrowth } from '../../src/evidence/growth.js';
import { SeenAllocations, siteLeakRate } from '../../src/evidence/lifetimes.js';
import { siteNumbers } from '../../src/report/format.js';
import { buildHuntReport, summarizeHunt } from '../../src/report/hunt.js';
import { renderReports } from '../../src/report/render.js';
import { formatSummary } from '../../src/report/text.js';

// A hunt where pairing saw a hot balanced site and the retag named the leaker.
function hunt() {
  const points = [118, 241, 359, 482].map((count, i) => ({ atMs: 60_000 * (i + 1), count, bytes: count * 932 }));
  const growth = testGrowth([{ key: 'Abc2', points }]).entries[0]!.growth;
  const balanced = Array.from({ length: 40 }, (_, i) => ({ hit: i + 1, size: 64, freedAt: i + 2 }));
  return buildHuntReport({
    playbook: 'find-pool-leak',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5000,
    facts: factsForOs('winxp-sp3-x86', undefined, findProfile('winxp-sp3-x86')),
    steps: [],
    rank: {
      basis: 'growth',
      ranking: [{ tag: 'Abc ', pool: 'paged', bytes: 9_000_000, allocs: 9000, growthBytesPerMinute: 111_840, growthOutstanding: 480 }],
      suspect: { tag: 'Abc ', pool: 'paged', bytes: 9_000_000, growthBytesPerMinute: 111_840, growthAllocsPerMinute: 120, measure: 'count' },
      test: { method: 'holm', alpha: 0.01, tested: 30 },
      decisive: true,
      targetTimeMs: 1_800_000,
    },
    collect: {
      method: 'pairing',
      stacks: 80,
      targetTimeMs: 4000,
      sites: [{ frame: 'a!Hot+0x10', module: 'a', function: 'Hot', offset: 0x10, kind: 'alloc', allocs: 40, frees: 40, outstanding: 0, outstandingBytes: 0, addressed: 40, leakRate: siteLeakRate(SeenAllocations.of(balanced), { endHit: 400, allocsInSpan: 40, spanMs: 1000, hitsInSpan: 80 }) }],
    },
    retag: {
      targetTimeMs: 240_000,
      rounds: [
        { round: 1, sites: [{ frame: 'a!Hot+0x10', module: 'a', function: 'Hot', offset: 0x10, retag: 'Abc1', patched: ['f8001000'], outstanding: 20, outstandingBytes: 1280, allocs: 9000, frees: 8980, growthBytesPerMinute: 0, growth: testGrowth([{ key: 'Abc1', points: [20, 21, 19, 20].map((count, i) => ({ atMs: 60_000 * (i + 1), count, bytes: count * 64 })) }]).entries[0]!.growth }] },
        { round: 2, unmasked: ['b!Rare+0x20'], stacks: 40, sites: [{ frame: 'b!Rare+0x20', module: 'b', function: 'Rare', offset: 0x20, retag: 'Abc2', patched: ['f8002000'], outstanding: 482, outstandingBytes: 482 * 932, allocs: 500, frees: 18, growthBytesPerMinute: Math.round(growth.bytes.slope), points, growth }] },
      ],
    },
  });
}

test('every output shows the culprit with the same numbers, pairing and retag apart', async () => {
  const report = hunt();
  expect(report.verdict).toBe('leak');
  expect(report.culprit).toMatchObject({ frame: 'b!Rare+0x20', method: 'retag' });
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-one-model-'));
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
  await renderReports(dir);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const culprit = report.sites.find((s) => s.frame === 'b!Rare+0x20')!;
  const hot = report.sites.find((s) => s.frame === 'a!Hot+0x10' && s.method === 'pairing')!;
  // The retag row carries the new tag's own counts, never pairing's allocations.
  expect(culprit).toMatchObject({ method: 'retag', retag: 'Abc2', outstanding: 482, allocs: 500 });
  const numbers = siteNumbers(culprit);
  expect(numbers).toContain("retagged as 'Abc2': 482 outstanding");
  expect(numbers).toContain('explains 101%');
  expect(siteNumbers(hot)).toMatch(/^40 allocations seen, 40 freed, 0 alive at the end .*\[pairing\]$/);
  const stdout = summarizeHunt(report);
  const summary = formatSummary(report);
  const markdown = read('report.md');
  const html = read('report.html');
  const junit = read('junit.xml');
  for (const [name, text] of [['stdout', stdout], ['summary', summary], ['report.html', html.replace(/&#39;/g, "'")], ['junit.xml', junit.replace(/&apos;/g, "'")]] as const) {
    expect(text, name).toContain(numbers);
  }
  // report.md: its own columns per method, the same figures.
  expect(markdown).toMatch(/\| b!Rare\+0x20 \| 'Abc ' \| retag \| {2}\| {2}\| {2}\| {2}\| 'Abc2' \| 482 \(439 KiB\) \| \+?121(\.\d+)?\/min, [^|]+ \| 101% \|/);
  expect(markdown).toMatch(/\| a!Hot\+0x10 \| 'Abc ' \| pairing \| 40 \| 40 \| 0 \/ 0 \| 0\/min \(95%: [^|]+\) \| {2}\| {2}\| {2}\| n\/a \|/);
  // How it was decided, the same lines everywhere.
  for (const line of ['target time to verdict: 34 min 04 s (ranking 30 min 00 s, stacks 4.0 s, retag 4 min 00 s)', 'retag round 2 (unmasked 1 site(s)): b!Rare+0x20 as "Abc2" grows']) {
    expect(stdout).toContain(line);
    expect(markdown).toContain(line.replace(/"/g, '"'));
  }
});
