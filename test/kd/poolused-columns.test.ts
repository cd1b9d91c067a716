// The scanned form of `!poolused` (src/kd/poolused-columns.ts) must give exactly what the object
// parser gives (src/kd/poolused.ts, JSON key order included) for every output it keeps, and must
// give up (FALLBACK, nothing kept) where it cannot — never a different answer, never a throw.
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FALLBACK } from '../../src/kd/columns.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { PoolusedTable } from '../../src/kd/poolused-columns.js';
import { damaged, damages, embedder, equalOrFallback, hostileInserts, inserted, referenceOf } from './columns-harness.js';
import { fixture, fixtureNames, preparedFixture } from './fixture-b.js';

const NAMES = fixtureNames('poolused');

// Every output is read in place between a process listing and the next prompt.
const embedded = embedder('kd> !process 0 0\nPROCESS 89a5b020  SessionId: none  Cid: 0004\n0: kd> !poolused 2\n', '\n0: kd> g\n 1234 Tag 99\tBreakpoint 0 hit\n');

// Any error of the object parser counts as a refusal here (not only KdParseError).
const reference = referenceOf(parsePoolused);

// Scan one output in place and compare with the object parser; returns whether it was kept.
function scanAndCompare(table: PoolusedTable, output: string): boolean {
  return equalOrFallback(table, embedded(output), '!poolused 2', reference(output));
}

// The `!poolused` outputs of a fixture as a log is cut into commands: the lines after each
// `!poolused` prompt up to the next prompt (the text before a first prompt counts as one too).
function autoOutputs(name: string): string[] {
  const outputs: string[] = [];
  let current: string[] | undefined = [];
  for (const line of preparedFixture(name).split('\n')) {
    if (/^ {0,2}(?:\d+: )?kd> /.test(line)) {
      if (current && current.join('').trim() !== '') outputs.push(current.join('\n'));
      current = /kd> !poolused\b/.test(line) ? [] : undefined;
    } else current?.push(line);
  }
  if (current && current.join('').trim() !== '') outputs.push(current.join('\n'));
  return outputs;
}

// Old-generation rows in the procedure's widths, descriptions glued onto the last number.
function oldRow(tag: string, values: readonly number[], description = ''): string {
  const [a, b, c, d] = values.map(String);
  return ` ${tag.padEnd(4)}${a!.padStart(9)}${b!.padStart(9)}${c!.padStart(10)}${d!.padStart(9)}${description}`;
}

const OLD_GENERATION = [
  '0: kd> !poolused 1',
  ' Sorting by Tag',
  '',
  ' Pool Used:',
  '             NonPaged            Paged',
  ' Tag    Allocs     Used    Allocs     Used',
  oldRow('1394', [1, 520, 0, 0], "UNKNOWN pooltag '1394', please update pooltag.txt"),
  oldRow('8042', [4, 3944, 0, 0], 'PS/2 kb and mouse , Binary: i8042prt.sys'),
  oldRow('Xyz', [0, 0, 3, 120], '1394 bus driver data'),
  oldRow('Big', [1, 0, 2, 0]).replace(/        0$/, ' 470000000'),
  oldRow('Ip s', [7, 4096, 0, 0]),
  oldRow('...X', [2, 64, 0, 0], 'Driver interrupted transfer buffers'),
  oldRow('kdNP', [-1, 8, 0, 0]),
  ' TOTAL      15     8792        5 470000120',
].join('\n');

// Hand-written shapes the fixtures do not show but the object parser reads: verbose TOTAL,
// rows with stripped blanks, prompts, interruptions, CRLF, odd sort words.
const SHAPES = [
  OLD_GENERATION,
  `${fixture('poolused-win11-x64-1.txt')}\n TOTAL        7496        3229      4267      1565976       109457      107115      2342       255952`,
  `${fixture('poolused-win10x-x64-1.txt')}\nTOTAL   7853608   3333233824       1601      6304608\n`,
  fixture('poolused-win10x-x64-1.txt').replace(/\n /g, '\n'),
  fixture('poolused-win10x-x64-1.txt').replace(/\n/g, '\r\n'),
  `${fixture('poolused-win10-x64-2.txt')}\n...terminating\n`,
  `${fixture('poolused-win10-x64-2.txt')}\n^C\n0: kd> g\n`,
  'kd> !poolused 2\n Sorting by Something Else\n Tag  Allocs Used Allocs Used\n Abcd 1 2 3 4\n [...]\n … more\n',
  ' Paged NonPaged\n Tag  Allocs Used Frees Diff Allocs Used\n Abcd 1 2 3 4 5 6\tsix numbers\nAb 1 2 3 4 5 6\t7 is a description\n',
  'interrupted by user\n',
  'Using a machine size of FFF7D pages to configure the kd cache\n..\n',
  "Couldn't resolve error at 'foo'\n",
  '',
];

describe('PoolusedTable on the real fixtures', () => {
  test.each(NAMES)('%s: the whole fixture, read in place, equals parsePoolused and takes the fast path', (name) => {
    const table = new PoolusedTable();
    expect(scanAndCompare(table, fixture(name))).toBe(true);
    expect(table.size).toBe(1);
  });

  test.each(NAMES)('%s: each output as a log scanner cuts it equals parsePoolused and takes the fast path', (name) => {
    const outputs = autoOutputs(name);
    expect(outputs.length).toBeGreaterThan(0);
    const table = new PoolusedTable();
    for (const output of outputs) expect(scanAndCompare(table, output)).toBe(true);
  });

  test('the rows read are the fixture values (not merely equal to the parser)', () => {
    const output = fixture('poolused-win11-x64-1.txt');
    const { text, from, to } = embedded(output);
    const table = new PoolusedTable();
    const result = table.result(text, table.scan(text, from, to, ''));
    expect(result.rows[3]).toEqual({
      tag: 'APpt',
      nonpaged: { allocs: 968, bytes: 124112, frees: 0 },
      paged: { allocs: 109457, bytes: 255952, frees: 107115 },
      description: "UNKNOWN pooltag 'APpt', please update pooltag.txt",
    });
    expect(result.rows).toHaveLength(4);
  });
});

describe('PoolusedTable on shapes beyond the fixtures', () => {
  test.each(SHAPES.map((text, index) => [index, text] as const))('shape %i equals parsePoolused or falls back', (_index, text) => {
    scanAndCompare(new PoolusedTable(), text);
  });

  test('the old generation (glued descriptions, a wide number, TOTAL) is kept, with the values it shows', () => {
    const table = new PoolusedTable();
    expect(scanAndCompare(table, OLD_GENERATION)).toBe(true);
    const { text, from, to } = embedded(OLD_GENERATION);
    const result = table.result(text, table.scan(text, from, to, ''));
    expect(result.rows[2]).toEqual({ tag: 'Xyz ', nonpaged: { allocs: 0, bytes: 0 }, paged: { allocs: 3, bytes: 120 }, description: '1394 bus driver data' });
    expect(result.rows[3]!.paged).toEqual({ allocs: 2, bytes: 470000000 });
    expect(result.total).toEqual({ nonpaged: { allocs: 15, bytes: 8792 }, paged: { allocs: 5, bytes: 470000120 } });
    expect(result.sortedBy).toBe('tag');
  });

  test('text that is not !poolused output, and text with non-ASCII characters, fall back', () => {
    const table = new PoolusedTable();
    for (const text of ["Couldn't resolve error at 'foo'", '', `${fixture('poolused-win10x-x64-1.txt')}\n Ünïc      1        2          3            4\tö`]) {
      const { text: log, from, to } = embedded(text);
      expect(table.scan(log, from, to, '')).toBe(FALLBACK);
    }
    expect(table.size).toBe(0);
  });

  test('an output opening with lines read before (a remembered prologue) reads as a fresh table reads it', () => {
    const table = new PoolusedTable();
    const output = autoOutputs('poolused-win10x-x64-1.txt')[0]!;
    const firstRow = output.indexOf('\n amda') + 1;
    expect(firstRow).toBeGreaterThan(0);
    // A NUL block (+0 as four code units) and a block equal to it as a number (-0), both in a `Sorting by` line.
    const nuls = `Sorting by Paged\0\0\0\0\n${output.slice(output.indexOf('\n', output.indexOf('Sorting')) + 1)}`;
    const variants = [output, nuls, nuls.replace('\0\0\0\0', '\0\0\0\u8000')];
    for (let at = 0; at < firstRow; at++) {
      for (const piece of ['x', ' ', '\u8000', '\0']) variants.push(output.slice(0, at) + piece + output.slice(at + 1));
    }
    variants.push(output.slice(0, firstRow), output.slice(0, firstRow - 1), `${output}\n${output}`);
    for (const variant of variants) {
      // The remembered prologue is read again between variants, so each variant is compared with it.
      for (const text of [output, nuls, variant]) {
        const kept = scanAndCompare(table, text);
        const { text: log, from, to } = embedded(text);
        expect(kept, JSON.stringify(text.slice(0, 200))).toBe(new PoolusedTable().scan(log, from, to, '') !== FALLBACK);
      }
    }
    expect(table.size).toBeGreaterThan(variants.length * 2);
  });

  test('a range outside the text falls back instead of throwing', () => {
    const table = new PoolusedTable();
    expect(table.scan('abc', 2, 1, '')).toBe(FALLBACK);
    expect(table.scan('abc', -1, 2, '')).toBe(FALLBACK);
    expect(table.scan('abc', 0, 9, '')).toBe(FALLBACK);
  });
});

// Near misses of the kd cache preamble and progress dots (read as one block before a header).
const PREAMBLE_LINES = [
  '*** CacheSize too low - increasing to 128 MB',
  '*** CacheSize too low - increasing to 128 MB.',
  '*** CacheSize too low - increasing to MB',
  'Max cache size is       : 134217728 bytes (0x20000 KB) ',
  'Max cache size is:',
  'Max cache size is \t x:',
  'Total memory in cache   : 157892 bytes (0x9b KB) ',
  'Total memory in cache',
  'Number of regions cached: 292',
  'Number of regions cached 292',
  '2257 full reads broken into 2626 partial reads',
  '2257 full reads broken into 2626 partial reads, more',
  '22: full reads broken into 2626 partial reads',
  '    counts: 2241 cached/385 uncached, 85.34% cached',
  'counts: 2241 cached/ uncached',
  'counts:  cached/385 uncached',
  '    bytes : 371524 cached/139204 uncached, 72.74% cached',
  'bytes: 371524 cached/139204 uncached',
  'bytes :371524 cached/139204 uncached',
  '** Transition PTEs are implicitly decoded',
  '** Prototype PTEs are implicitly decoded\r',
  '** Prototype PTEs are implicitly decoded now',
  '..',
  ' . ',
  '..x',
  '...terminating',
  'Using a machine size of fff7d pages to configure the kd cache',
  'USING A MACHINE SIZE OF FFF7D PAGES TO CONFIGURE THE KD CACHE',
  '',
  '   ',
  ' Sorting by NonPaged Pool Consumed',
  '0: kd> !poolused 2',
];

describe('PoolusedTable on preamble lines', () => {
  test('runs of preamble lines, near misses and blanks before (and after) a table equal parsePoolused', () => {
    const table = ' Tag     Allocs         Used     Allocs         Used\n Cont      1094      6525216          0            0\tContiguous';
    const tableObject = new PoolusedTable();
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PREAMBLE_LINES), { minLength: 1, maxLength: 8 }), fc.constantFrom(0, 1, 2), (lines, where) => {
        const preamble = lines.join('\n');
        const text = where === 0 ? preamble : where === 1 ? `${preamble}\n${table}` : `${table}\n${preamble}`;
        scanAndCompare(tableObject, text);
      }),
      { numRuns: 1500, seed: 0x9003 },
    );
  });
});

describe('several outputs in one table', () => {
  test('results stay independent, and a fallback between them keeps the earlier rows intact', () => {
    const outputs = [...NAMES.flatMap(autoOutputs), "Couldn't resolve error at 'foo'", ...autoOutputs('poolused-win11-x64-1.txt'), OLD_GENERATION];
    // One log holding every output, separated by prompts, as the log scanner sees it.
    let log = '';
    const spans: [number, number][] = [];
    for (const output of outputs) {
      log += '0: kd> !poolused 2\n';
      spans.push([log.length, log.length + output.length]);
      log += `${output}\n`;
    }
    const table = new PoolusedTable();
    const rows = spans.map(([from, to]) => table.scan(log, from, to, '!poolused 2'));
    expect(rows.filter((row) => row === FALLBACK)).toHaveLength(1);
    expect(rows.filter((row) => row >= 0)).toEqual([...Array(outputs.length - 1).keys()]);
    expect(table.size).toBe(outputs.length - 1);
    spans.forEach(([from, to], index) => {
      if (rows[index] === FALLBACK) return;
      expect(JSON.stringify(table.result(log, rows[index]!))).toBe(JSON.stringify(parsePoolused(log.slice(from, to))));
    });
  });
});

const PIECES = ['...', '……', '[...]', ' : ', '\t', '\r\n', '\r', '-', '0', '99999999999999999', 'TOTAL ', ' TOTAL', 'Tag Allocs Used', 'kd> ', '0: kd> ', '!', '^C', 'terminating', '\u00a0', '\u2028', 'é'];
const LINES = [
  '...',
  '',
  '   ',
  'WARNING: Unable to verify timestamp for nt',
  '*** ERROR: Symbol file could not be found.',
  ' TOTAL   7853608   3333233824       1601      6304608',
  ' TOTAL        7496        3229      4267      1565976       109457      107115      2342       255952',
  ' Tag     Allocs         Used     Allocs         Used',
  ' Tag       Allocs       Frees      Diff         Used       Allocs       Frees      Diff         Used',
  '            NonPaged            Paged',
  ' Paged NonPaged',
  ' Sorting by Tag',
  ' Sorting by Paged Pool Consumed',
  ' Pool Used:',
  '0: kd> !poolused 4',
  'Ab 1 2 3 4\tloose row',
  ' Abcd         1        2          3            4\t',
  ' Abcd         1        2          3           4999',
  '...terminating',
  '^C',
  'interrupted',
  '** Prototype PTEs are implicitly decoded',
  'Number of regions cached: 12',
];

// Line edits, character edits and the insertions kd logs show.
const damage = damages(
  { weight: 3, ops: ['drop', 'duplicate', 'blank', 'strip', 'tabs', 'widen', 'crlf'] },
  { weight: 4, ops: ['truncateAtValue', 'printable', 'decimalDigit', 'lowerHexDigit'], value: true },
  { weight: 2, ops: ['insert'], text: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 }), fc.stringMatching(/^[ \d-]{1,12}$/)) },
  { weight: 2, ops: ['line'], text: fc.constantFrom(...LINES) },
  { weight: 1, ops: ['swap'], other: true },
);

const SEEDS = [...NAMES.map(fixture), ...NAMES.flatMap(autoOutputs), OLD_GENERATION];

describe('PoolusedTable on mutated fixtures', () => {
  test('thousands of seeded mutations: equal to parsePoolused wherever kept, and mostly kept', () => {
    const table = new PoolusedTable();
    let kept = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(damage, { minLength: 1, maxLength: 4 }), (seed, changes) => {
        runs++;
        if (scanAndCompare(table, damaged(seed, changes))) kept++;
      }),
      { numRuns: 4000, seed: 0x9001 },
    );
    // Most damage keeps the table shape; a regression to falling back on everything shows here.
    expect(kept / runs).toBeGreaterThan(0.6);
  });

  test('the hostile edits of the reliability tests (random bytes, graphemes, control characters): equal or fallback', () => {
    const table = new PoolusedTable();
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), hostileInserts, (seed, inserts) => {
        scanAndCompare(table, inserted(seed, inserts));
      }),
      { numRuns: 800, seed: 0x9002 },
    );
  });

  test('long lines (the parser traps) are read in linear time and equal the parser', () => {
    const header = ' Tag     Allocs         Used     Allocs         Used\n';
    const traps = (size: number): string[] => [
      `${header} Abc ${' 1'.repeat(size / 2)}`,
      `${header} Abc          0            0          1           16${'1'.repeat(size)}`,
      `${header}${' TOTAL'.repeat(size / 6)}`,
      `${header}${` Abcd ${' 7'.repeat(8)}\n`.repeat(size / 24)}`,
    ];
    const table = new PoolusedTable();
    for (const trap of traps(20_000)) scanAndCompare(table, trap);
    const time = (size: number): number => {
      const texts = traps(size).map(embedded);
      const started = performance.now();
      for (const { text, from, to } of texts) table.scan(text, from, to, '');
      return performance.now() - started;
    };
    time(100_000);
    const small = Math.min(time(100_000), time(100_000));
    const large = Math.min(time(1_000_000), time(1_000_000));
    // Linear is 10×; quadratic would be 100×.
    expect(large).toBeLessThan(Math.max(small, 5) * 30);
  });
});
