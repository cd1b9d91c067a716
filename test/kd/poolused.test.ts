import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { commandOutput, fixture } from './fixture-b.js';

// A row in the old generation's widths (the procedure's columns, indented one space like kdexts).
function oldRow(tag: string, values: [number, number, number, number], description = ''): string {
  const [a, b, c, d] = values.map(String);
  return ` ${tag.padEnd(4)}${a.padStart(9)}${b.padStart(9)}${c.padStart(10)}${d.padStart(9)}${description}`;
}

const OLD_HEADER = [
  ' Sorting by Tag',
  '',
  ' Pool Used:',
  '             NonPaged            Paged',
  ' Tag    Allocs     Used    Allocs     Used',
];

describe('parsePoolused on real transcripts', () => {
  test('the exact example of the procedure text (4-space indent, trailing blanks)', () => {
    const text = [
      '    kd> !poolused 4 ',
      '    Sorting by Paged Pool Consumed',
      '    Pool Used:',
      '                NonPaged            Paged     ',
      '    Tag    Allocs     Used    Allocs     Used ',
      '    Abc         0        0     36405 33930272 ',
      '    Tron        0        0       552  7863232 ',
      '    IoN7        0        0     10939   998432 ',
      '    Gla5        1      128      2222   924352 ',
      '    Ggb         0        0        22   828384 ',
    ].join('\n');
    const result = parsePoolused(text);
    expect(result.sortedBy).toBe('paged');
    expect(result.rows).toEqual([
      { tag: 'Abc ', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 36405, bytes: 33930272 } },
      { tag: 'Tron', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 552, bytes: 7863232 } },
      { tag: 'IoN7', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 10939, bytes: 998432 } },
      { tag: 'Gla5', nonpaged: { allocs: 1, bytes: 128 }, paged: { allocs: 2222, bytes: 924352 } },
      { tag: 'Ggb ', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 22, bytes: 828384 } },
    ]);
    expect(result.unparsed).toEqual([]);
  });

  test('poolused-unknown-unknown-2: the doc example with leading blanks stripped', () => {
    const result = parsePoolused(fixture('poolused-unknown-unknown-2.txt'));
    expect(result.sortedBy).toBe('paged');
    expect(result.rows.map((row) => row.tag)).toEqual(['Abc ', 'Tron', 'IoN7', 'Gla5', 'Ggb ']);
    expect(result.rows[0].paged).toEqual({ allocs: 36405, bytes: 33930272 });
    expect(result.rows[3].nonpaged).toEqual({ allocs: 1, bytes: 128 });
    expect(result.total).toBeUndefined();
    // The doc cut the table silently: nothing in the text says so, so it reads as complete.
    expect(result.complete).toBe(true);
    expect(result.unparsed).toEqual([]);
  });

  test('poolused-win10-x64-1, !poolused 2: cache preamble, dots, TAB descriptions, " ..." elision', () => {
    const result = parsePoolused(commandOutput(fixture('poolused-win10-x64-1.txt'), '!poolused 2'));
    expect(result.sortedBy).toBe('nonpaged');
    expect(result.rows).toHaveLength(5);
    expect(result.rows[0]).toEqual({
      tag: 'Cont',
      nonpaged: { allocs: 1094, bytes: 6525216 },
      paged: { allocs: 0, bytes: 0 },
      description: 'Contiguous physical memory allocations for device drivers',
    });
    expect(result.rows[1]).toMatchObject({ tag: 'EtwB', paged: { allocs: 4, bytes: 163840 }, description: 'Etw Buffer , Binary: nt!etw' });
    expect(result.rows[4]).toMatchObject({ tag: 'AmlH', nonpaged: { allocs: 3, bytes: 1572864 } });
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });

  test('poolused-win10-x64-1, !poolused 4: sorted by paged pool', () => {
    const result = parsePoolused(commandOutput(fixture('poolused-win10-x64-1.txt'), '!poolused 4'));
    expect(result.sortedBy).toBe('paged');
    expect(result.rows.map((row) => row.tag)).toEqual(['CM31', 'CM25', 'MmRe', 'MmSt', 'CcPD', 'CIcr', 'Ntff']);
    expect(result.rows[0].paged).toEqual({ allocs: 19797, bytes: 91705344 });
    expect(result.rows[6]).toEqual({
      tag: 'Ntff',
      nonpaged: { allocs: 5, bytes: 1600 },
      paged: { allocs: 2109, bytes: 2598288 },
      description: 'FCB_DATA , Binary: ntfs.sys',
    });
    expect(result.complete).toBe(false);
  });

  test('poolused-win10-x64-2: 20 tags, descriptions with runs of spaces', () => {
    const result = parsePoolused(fixture('poolused-win10-x64-2.txt'));
    expect(result.sortedBy).toBe('nonpaged');
    expect(result.rows).toHaveLength(20);
    expect(result.rows[0]).toEqual({
      tag: 'ConT',
      nonpaged: { allocs: 535, bytes: 5935104 },
      paged: { allocs: 0, bytes: 0 },
    });
    const ntxf = result.rows.find((row) => row.tag === 'NtxF');
    expect(ntxf?.description).toBe('FCB_NONPAGED                      NtfsFcbNonpagedDataLookasideList , Binary: ntfs.sys');
    expect(result.rows.find((row) => row.tag === 'Vad ')?.nonpaged).toEqual({ allocs: 13703, bytes: 2192480 });
    expect(result.rows[19]).toMatchObject({ tag: 'EtwG', nonpaged: { allocs: 2029, bytes: 908992 } });
    const nonpagedBytes = result.rows.reduce((sum, row) => sum + row.nonpaged.bytes, 0);
    expect(nonpagedBytes).toBe(47509152);
    expect(result.complete).toBe(true);
    expect(result.unparsed).toEqual([]);
  });

  test('poolused-win10x-x64-1: new generation, the leaking amda tag first', () => {
    const result = parsePoolused(fixture('poolused-win10x-x64-1.txt'));
    expect(result.sortedBy).toBe('nonpaged');
    expect(result.rows).toHaveLength(8);
    expect(result.rows[0]).toEqual({
      tag: 'amda',
      nonpaged: { allocs: 5768754, bytes: 1938325232 },
      paged: { allocs: 32, bytes: 9360 },
    });
    expect(result.rows[7]).toMatchObject({ tag: 'DAL2', nonpaged: { allocs: 877, bytes: 25073840 }, paged: { allocs: 1560, bytes: 6288352 } });
    expect(result.unparsed).toEqual([]);
  });

  test('poolused-win11-x64-1: verbose Allocs/Frees/Diff/Used columns', () => {
    const result = parsePoolused(fixture('poolused-win11-x64-1.txt'));
    expect(result.sortedBy).toBeNull();
    expect(result.rows.map((row) => row.tag)).toEqual(['-UMD', '.UMD', 'ALPC', 'APpt']);
    expect(result.rows[0].nonpaged).toEqual({ allocs: 2, frees: 1, bytes: 48 });
    expect(result.rows[2].nonpaged).toEqual({ allocs: 4528, frees: 2111, bytes: 1440624 });
    expect(result.rows[3]).toEqual({
      tag: 'APpt',
      nonpaged: { allocs: 968, frees: 0, bytes: 124112 },
      paged: { allocs: 109457, frees: 107115, bytes: 255952 },
    });
    expect(result.unparsed).toEqual([]);
  });
});

describe('parsePoolused on the shapes the fixtures describe', () => {
  test('old generation: descriptions glued onto the last number, even when they start with a digit', () => {
    const text = [
      ...OLD_HEADER,
      oldRow('1394', [1, 520, 0, 0], "UNKNOWN pooltag '1394', please update pooltag.txt"),
      oldRow('8042', [4, 3944, 0, 0], 'PS/2 kb and mouse , Binary: i8042prt.sys'),
      oldRow('Xyz', [0, 0, 3, 120], '1394 bus driver data'),
      oldRow('Ip s', [7, 4096, 0, 0]),
      oldRow('...X', [2, 64, 0, 0], 'Driver interrupted transfer buffers'),
    ].join('\n');
    const result = parsePoolused(text);
    expect(result.sortedBy).toBe('tag');
    expect(result.rows).toEqual([
      // kd's note for a tag pooltag.txt does not know is no description.
      { tag: '1394', nonpaged: { allocs: 1, bytes: 520 }, paged: { allocs: 0, bytes: 0 } },
      { tag: '8042', nonpaged: { allocs: 4, bytes: 3944 }, paged: { allocs: 0, bytes: 0 }, description: 'PS/2 kb and mouse , Binary: i8042prt.sys' },
      { tag: 'Xyz ', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 3, bytes: 120 }, description: '1394 bus driver data' },
      { tag: 'Ip s', nonpaged: { allocs: 7, bytes: 4096 }, paged: { allocs: 0, bytes: 0 } },
      { tag: '...X', nonpaged: { allocs: 2, bytes: 64 }, paged: { allocs: 0, bytes: 0 }, description: 'Driver interrupted transfer buffers' },
    ]);
    expect(result.complete).toBe(true);
  });

  test('a number wider than its column shifts the rest instead of being split', () => {
    const text = [...OLD_HEADER, oldRow('Big', [1, 0, 2, 0]).replace(/        0$/, ' 470000000')].join('\n');
    const [row] = parsePoolused(text).rows;
    expect(row.paged).toEqual({ allocs: 2, bytes: 470000000 });
    expect(row.description).toBeUndefined();
  });

  test('a TOTAL line is the total, never a row', () => {
    const body = fixture('poolused-win10x-x64-1.txt');
    const text = `${body} TOTAL   7853608   3333233824       1601      6304608\n`;
    const result = parsePoolused(text);
    expect(result.rows).toHaveLength(8);
    expect(result.rows.some((row) => row.tag.startsWith('TOT'))).toBe(false);
    expect(result.total).toEqual({ nonpaged: { allocs: 7853608, bytes: 3333233824 }, paged: { allocs: 1601, bytes: 6304608 } });
  });

  test('output cut in the middle of a row is incomplete, and the piece is kept', () => {
    const body = fixture('poolused-win10x-x64-1.txt');
    const cut = body.slice(0, body.indexOf('NxRx') + 20);
    const result = parsePoolused(cut);
    expect(result.rows.map((row) => row.tag)).toEqual(['amda', 'IoWI', 'EtwB', 'HalD', 'DAL3']);
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([' NxRx    131587     8']);
  });

  test('interrupted during the progress dots: no table, incomplete', () => {
    const result = parsePoolused('0: kd> !poolused 2\n....................\n');
    expect(result).toEqual({ complete: false, unparsed: [], sortedBy: null, rows: [] });
  });

  test('lines it does not understand are kept in order', () => {
    const text = [...OLD_HEADER, oldRow('Abc', [0, 0, 1, 16]), 'unable to read PoolTrackTable entry', oldRow('Def', [1, 8, 0, 0])].join('\n');
    const result = parsePoolused(text);
    expect(result.rows.map((row) => row.tag)).toEqual(['Abc ', 'Def ']);
    expect(result.unparsed).toEqual(['unable to read PoolTrackTable entry']);
    expect(result.complete).toBe(true);
  });

  test('text that is not !poolused output is a KdParseError', () => {
    expect(() => parsePoolused('Couldn\'t resolve error at \'foo\'\n')).toThrow(KdParseError);
    expect(() => parsePoolused('')).toThrow(expect.objectContaining({ code: 'KD_PARSE_ERROR', kind: 'poolused' }));
  });
});
