// The growth ranking's decisions and the retag helpers (stack classification: test/evidence/classify.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { rankSnapshots, type Snapshot } from '../../src/evidence/ranking.js';
import { chooseTags } from '../../plugins/pool/retag-sites.js';
import { endsAt } from '../../plugins/pool/immediate.js';
import { parseDisasm } from '../../src/kd/disasm.js';

// A fixture's kd text (below its `# ---` header).
function fixture(name: string): string {
  const text = readFileSync(new URL(`../fixtures/kd/${name}`, import.meta.url), 'utf8');
  return text.slice(text.indexOf('# ---\n') + 6);
}

// Snapshots of named tags: counts[tag] = [outstanding, bytes] per sample, one minute apart.
function series(tags: Record<string, [number, number][]>): Snapshot[] {
  const n = Object.values(tags)[0]!.length;
  return Array.from({ length: n }, (_, i) => ({
    atMs: i * 60_000,
    counts: Object.entries(tags).map(([tag, points]) => ({ tag, pool: 'paged' as const, outstanding: points[i]![0], bytes: points[i]![1] })),
  }));
}

describe('rankSnapshots', () => {
  test('one snapshot ranks by size, as the procedure does', () => {
    const r = rankSnapshots(series({ 'Abc ': [[36405, 33930272]], Tron: [[552, 7863232]] }), ['paged']);
    expect(r.basis).toBe('size');
    expect(r.ranking.map((e) => e.tag)).toEqual(['Abc ', 'Tron']);
    expect(r.suspect).toEqual({ tag: 'Abc ', pool: 'paged', bytes: 33930272, growthBytesPerMinute: null });
  });

  test('a small growing tag outranks a large stable one', () => {
    const r = rankSnapshots(
      series({
        Big: [[9000, 90_000_000], [9003, 90_003_000], [8998, 89_998_000], [9001, 90_001_000], [8999, 89_999_000]],
        Leak: [[10, 1000], [130, 13_000], [252, 25_200], [371, 37_100], [490, 49_000]],
      }),
      ['paged'],
    );
    expect(r.basis).toBe('growth');
    expect(r.ranking[0]!.tag).toBe('Leak');
    expect(r.suspect?.tag).toBe('Leak');
    expect(r.suspect?.growthBytesPerMinute).toBeGreaterThan(11_000);
    expect(r.suspect?.growthBytesPerMinute).toBeLessThan(13_000);
    expect(r.ranking.find((e) => e.tag === 'Big')!.growing).toBe(false);
  });

  test('a busy but balanced system has no suspect', () => {
    const r = rankSnapshots(
      series({
        Aaa: [[100, 10_000], [104, 10_400], [97, 9_700], [102, 10_200], [99, 9_900]],
        Bbb: [[50, 5_000], [51, 5_100], [53, 5_300], [52, 5_200], [55, 5_500]],
      }),
      ['paged'],
    );
    expect(r.suspect).toBeNull();
    expect(r.reason).toMatch(/no tag grew steadily over 5 samples/);
  });

  test('only the asked pool is ranked', () => {
    // Four snapshots: the fewest that can show a rise goes on.
    const snapshots: Snapshot[] = [0, 1, 2, 3].map((i) => ({
      atMs: i * 60_000,
      counts: [
        { tag: 'Np  ', pool: 'nonpaged', outstanding: 10 + 100 * i, bytes: 1000 + 10_000 * i },
        { tag: 'Pg  ', pool: 'paged', outstanding: 10, bytes: 1000 },
      ],
    }));
    expect(rankSnapshots(snapshots, ['paged']).suspect).toBeNull();
    expect(rankSnapshots(snapshots, ['nonpaged']).suspect?.tag).toBe('Np  ');
  });
});

describe('retag helpers', () => {
  test('new tags keep the stem, skip used ones and the original', () => {
    expect(chooseTags('Abc', 3, new Set(['Abc1', 'Abc3']))).toEqual(['Abc2', 'Abc4', 'Abc5']);
  });

  test('a decoding is usable only when an instruction ends at the return address', () => {
    const instructions = parseDisasm(fixture('step-win10-x64-1.txt').split('0: kd> u 00000003`2b2f0000\n')[1]!.split('0: kd> t')[0]!).instructions;
    expect(instructions.length).toBe(8);
    expect(endsAt(instructions, 0x32b2f0003n)).toBe(true);
    expect(endsAt(instructions, 0x32b2f0004n)).toBe(false);
  });
});
