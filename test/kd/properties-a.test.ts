import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { parsePoolfind } from '../../src/kd/poolfind.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { parseStack } from '../../src/kd/stack.js';
import { fixture } from './fixture-b.js';

// One damage done to a transcript, at positions taken modulo its size.
type Mutation =
  | { kind: 'drop' | 'duplicate' | 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'swap'; at: number; other: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const, 'truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('...', '……', ' : ', '`', '(', ')', '[', ' @ ', '!', '+0x', '\t', '\r\n', 'TOTAL ', 'Tag Allocs Used'),
    ),
  }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
);

// Apply damage: drop, duplicate or swap lines, cut the text, or insert random bytes.
function mutate(text: string, mutations: Mutation[]): string {
  let result = text;
  for (const change of mutations) {
    const lines = result.split('\n');
    const line = change.at % Math.max(lines.length, 1);
    if (change.kind === 'drop') lines.splice(line, 1);
    else if (change.kind === 'duplicate') lines.splice(line, 0, lines[line] ?? '');
    else if (change.kind === 'swap') {
      const other = change.other % Math.max(lines.length, 1);
      [lines[line], lines[other]] = [lines[other], lines[line]];
    } else if (change.kind === 'truncate') {
      result = result.slice(0, change.at % (result.length + 1));
      continue;
    } else if (change.kind === 'insert') {
      const at = change.at % (result.length + 1);
      result = result.slice(0, at) + change.text + result.slice(at);
      continue;
    }
    result = lines.join('\n');
  }
  return result;
}

interface ParserCase {
  name: string;
  parse: (text: string) => unknown;
  check: (result: unknown) => void;
  samples: string[];
  /** Real-shaped lines grown to 100 KB where a regular expression or a copy loop could go quadratic. */
  traps: string[];
}

const HEX = /^[0-9a-f]*$/;
const isCount = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

// Common shape of every result: a boolean `complete` and string lines in `unparsed`.
function checkBase(result: unknown): asserts result is { complete: boolean; unparsed: string[] } {
  const base = result as { complete: unknown; unparsed: unknown };
  expect(typeof base.complete).toBe('boolean');
  expect(Array.isArray(base.unparsed) && base.unparsed.every((line) => typeof line === 'string')).toBe(true);
}

const CASES: ParserCase[] = [
  {
    name: 'poolused',
    parse: parsePoolused,
    check(result) {
      checkBase(result);
      for (const row of (result as ReturnType<typeof parsePoolused>).rows) {
        expect(row.tag).toHaveLength(4);
        for (const counts of [row.nonpaged, row.paged]) {
          expect(isCount(counts.allocs) && isCount(counts.bytes)).toBe(true);
          if (counts.frees !== undefined) expect(isCount(counts.frees)).toBe(true);
        }
      }
    },
    samples: [
      'poolused-unknown-unknown-2.txt',
      'poolused-win10-x64-1.txt',
      'poolused-win10-x64-2.txt',
      'poolused-win10x-x64-1.txt',
      'poolused-win11-x64-1.txt',
    ].map(fixture),
    traps: [
      ` Tag     Allocs         Used     Allocs         Used\n Abc ${' 1'.repeat(50_000)}`,
      ` Tag     Allocs         Used     Allocs         Used\n Abc          0            0          1           16${'1'.repeat(100_000)}`,
      ` Tag     Allocs         Used     Allocs         Used\n${' TOTAL'.repeat(20_000)}`,
    ],
  },
  {
    name: 'poolfind',
    parse: parsePoolfind,
    check(result) {
      checkBase(result);
      for (const hit of (result as ReturnType<typeof parsePoolfind>).hits) {
        expect(hit.address).toMatch(HEX);
        expect(hit.tag).toHaveLength(4);
        expect(isCount(hit.size)).toBe(true);
      }
    },
    samples: ['poolfind-unknown-x86-1.txt', 'poolfind-win10-x64-1.txt', 'poolfind-win10x-x64-1.txt'].map(fixture),
    traps: [
      `826fa130 size:${' '.repeat(100_000)}c0`,
      `ffffd48ca040f340 : tag Proc, size${' '.repeat(100_000)}0xb70`,
      `Scanning large pool allocation table for tag 0x${'6'.repeat(100_000)}`,
    ],
  },
  {
    name: 'stack',
    parse: parseStack,
    check(result) {
      checkBase(result);
      const { frames, warnings } = result as ReturnType<typeof parseStack>;
      for (const frame of frames) {
        expect(typeof frame.module).toBe('string');
        for (const address of [frame.childSp, frame.childEbp, frame.retAddr, frame.address, ...(frame.args ?? [])]) {
          if (address !== undefined) expect(address).toMatch(HEX);
        }
        if (frame.offset !== undefined) expect(isCount(frame.offset)).toBe(true);
        if (frame.index !== undefined) expect(isCount(frame.index)).toBe(true);
      }
      for (const warning of warnings) expect(warning.beforeFrame).toBeLessThanOrEqual(frames.length);
    },
    samples: [
      'k-win10x-x64-1.txt',
      'k-win7-x86-1.txt',
      'kb-win10x-x64-1.txt',
      'kb-win2000xp-x86-1.txt',
      'kb-win7-x86-1.txt',
      'kc-win7-x64-1.txt',
      'kn-win10-x64-2.txt',
      'kn-win8-x64-1.txt',
      'kp-win7-x86-1.txt',
      'kv-nt4-x86-1.txt',
      'process-win8-x64-1.txt',
      'thread-win8-x86-1.txt',
      'analyze-win7-x64-1.txt',
    ].map(fixture),
    traps: [
      `ChildEBP RetAddr\n8013ed5c 801263ba nt!F${' (FPO: [0,0,0])'.repeat(7_000)}`,
      `ChildEBP RetAddr\n8013ed5c 801263ba nt!F${'('.repeat(50_000)}${')'.repeat(50_000)}+0x1`,
      `Child-SP RetAddr : Args to Child : Call Site\nfffff800\`00ba18a8 fffff800\`0446b43e :${' 00000000\`00000000'.repeat(5_000)}`,
      `ChildEBP RetAddr\n8013ed5c 801263ba nt!F${' [a @ 1'.repeat(15_000)}`,
      `ChildEBP RetAddr\n8013ed5c 801263ba nt!F${'+0x1'.repeat(25_000)}!`,
    ],
  },
];

// Run the parser; only its typed error may escape, and a result must be well-formed.
function parseTolerantly(parserCase: ParserCase, text: string): void {
  let result: unknown;
  try {
    result = parserCase.parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(KdParseError);
    return;
  }
  parserCase.check(result);
}

// Repeat text until it is at least `size` characters long.
function grow(text: string, size: number): string {
  return text.repeat(Math.ceil(size / Math.max(text.length, 1)));
}

describe.each(CASES)('$name parser under damage', (parserCase) => {
  test('mutated real transcripts: a well-formed result or KdParseError, nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...parserCase.samples), fc.array(mutation, { minLength: 1, maxLength: 8 }), (sample, changes) => {
        parseTolerantly(parserCase, mutate(sample, changes));
      }),
      { numRuns: 300 },
    );
  });

  test('random text: a well-formed result or KdParseError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc.array(fc.constantFrom('kd> ', ' # ', 'Child-SP', 'RetAddr', ' : ', 'Call Site', 'Tag', 'Allocs', 'Used', 'fffff800`00ba18a8', '8013ed5c', '00', ' ', '\n', 'nt!Foo+0x1', '(FPO: [0,0,0])', '[a.c @ 1]', '0x1f', 'size:', ', Nonpaged pool', '\t'), { maxLength: 80 }).map((parts) => parts.join('')),
        ),
        (text) => parseTolerantly(parserCase, text),
      ),
      { numRuns: 300 },
    );
  });
});

// Size and shape, not speed: each input below is read whole (a well-formed result or KdParseError).
// How the parsers' time grows with size is measured by `npm run bench` (the scaling figures), not
// here: no test depends on how fast the machine is. A parser that backtracked catastrophically on
// one of these would not finish within the test's timeout.
describe.each(CASES)('$name parser on large and hostile input', (parserCase) => {
  const realistic = grow(parserCase.samples.join('\n'), 100_000);
  // Inputs built to trip backtracking regular expressions: long runs of one character.
  const adversarial = ['(', ')', ' ', '0', 'f', '+', '[', ' @ ', '`', ':', '.', '\t', 'a!'].map((unit) => grow(unit, 100_000));

  test('100 KB and 1 MB of real output', () => {
    parseTolerantly(parserCase, realistic);
    parseTolerantly(parserCase, grow(realistic, 1_000_000));
  });

  test('100 KB lines shaped to trap a backtracking parser', () => {
    for (const input of parserCase.traps) parseTolerantly(parserCase, input);
  });

  test('100 KB single-line and repetitive inputs', () => {
    for (const text of adversarial) {
      parseTolerantly(parserCase, text);
      parseTolerantly(parserCase, grow(`${text.slice(0, 200)}\n`, 100_000));
    }
  });
});
