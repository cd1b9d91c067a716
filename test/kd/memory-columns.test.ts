// The scanned form of memory dumps (src/kd/memory-columns.ts) must give exactly what parseMemory
// gives for the same output, with the unit the log takes from the command (db 1 … dq 8, dp from
// the cells): on every real dump, embedded in a larger log; on thousands of damaged dumps; on the
// reliability tests' hostile inputs; and with many outputs in one table.
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FALLBACK } from '../../src/kd/columns.js';
import { parseMemory, type MemoryUnit } from '../../src/kd/memory.js';
import { MemoryTable } from '../../src/kd/memory-columns.js';
import { matchPrompt } from '../../src/kd/prompt.js';
import { kindForCommand } from '../../src/kd/transcript.js';
import { damaged, damages, embedder, equalOrFallback, latin1Bytes, referenceOf, scanChecked } from './columns-harness.js';
import { fixture, fixtureNames } from './fixture-b.js';

// The unit src/kd/index.ts gives parseMemory for each memory kind.
const UNITS: Record<string, MemoryUnit | undefined> = { db: 1, dw: 2, dd: 4, dc: 4, dq: 8, memory: undefined };
const MEMORY_KINDS = new Set(Object.keys(UNITS));

// One command of a log and its output (the lines up to the next prompt, no final line break).
interface Output {
  command: string;
  output: string;
}

// The memory dump outputs of a kd text, split at its prompts as the log scanner splits them.
function dumps(text: string): Output[] {
  const found: Output[] = [];
  let current: { command: string; lines: string[] } | undefined;
  const close = (): void => {
    if (current && MEMORY_KINDS.has(kindForCommand(current.command) ?? '')) found.push({ command: current.command, output: current.lines.join('\n') });
  };
  for (const line of text.split('\n')) {
    const prompt = matchPrompt(line.trimStart());
    if (prompt) {
      close();
      current = { command: prompt.command, lines: [] };
    } else current?.lines.push(line);
  }
  close();
  return found;
}

// What the log's object parser gives for an output of `command`: the result's JSON, or undefined
// where it throws a KdParseError (any other error is a bug and fails the test).
const reference = referenceOf((output: string, command: string) => parseMemory(output, UNITS[kindForCommand(command)!]), { coded: true });

// A dump placed in a larger log, with hex lines on both sides.
const embedded = embedder('kd> !process 0 0\nPROCESS 89a5b020  SessionId: none  Cid: 0004\n0: kd> dq rsp\n', '\nfffff800`00000000  00000000`00000000\n0: kd> g\n');

// Scan an output embedded in a larger log into a new table; the result's JSON, or FALLBACK.
function scanned(output: string, command: string): string | typeof FALLBACK {
  return scanChecked(new MemoryTable(), embedded(output), command);
}

// The table agrees with the reference: equal JSON, or FALLBACK (always where the reference throws).
function agrees(output: string, command: string): boolean {
  return equalOrFallback(new MemoryTable(), embedded(output), command, reference(output, command));
}

const FIXTURE_NAMES = fixtureNames('db', 'dc', 'dd', 'dq', 'ed', 'kb-win10x', 'bphit-win7-x64', 'step');
const REAL = FIXTURE_NAMES.flatMap((name) => dumps(fixture(name)).map((dump) => ({ name, ...dump })));
// The same dumps read as every memory command, so that lines whose cells are not the command's unit are exercised.
const COMMANDS = ['db x', 'dw x', 'dd x', 'dc x', 'dq x', 'dp x'];

describe('real dumps', () => {
  test('the fixtures hold dumps of every width kd shows', () => {
    expect(new Set(REAL.map((dump) => kindForCommand(dump.command)))).toEqual(new Set(['db', 'dc', 'dd', 'dq']));
    expect(REAL.length).toBeGreaterThanOrEqual(11);
  });

  test.each(REAL.map((dump) => [`${dump.name}: ${dump.command}`, dump] as const))('%s: read without falling back, equal to parseMemory', (_name, dump) => {
    const got = scanned(dump.output, dump.command);
    expect(got).not.toBe(FALLBACK);
    expect(got).toBe(reference(dump.output, dump.command));
  });

  test('known values come through: bytes and ASCII of db, dwords of dd, qwords of dq, a gap', () => {
    const db = JSON.parse(scanned(dumps(fixture('db-unknown-x86-1.txt'))[0]!.output, 'db nt!poolhittag L4') as string);
    expect(db).toMatchObject({ address: '820f2ba4', unit: 1, bytes: [0x41, 0x62, 0x63, 0x20], ascii: 'Abc ', lines: 1, complete: true });
    const mz = JSON.parse(scanned(dumps(fixture('db-winxp-x86-1.txt'))[0]!.output, 'db f8da6000') as string);
    expect(mz.bytes.slice(0, 2)).toEqual([0x4d, 0x5a]);
    expect(mz.ascii.slice(0x4e, 0x4e + 22)).toBe('This program cannot be');
    const dq = JSON.parse(scanned('fffff800`9c1907d8  fffff800`9be61090 FFFFF800`9BE66D20', 'dq x L2') as string);
    expect(dq).toMatchObject({ address: 'fffff8009c1907d8', unit: 8, values: ['fffff8009be61090', 'fffff8009be66d20'], complete: true });
    const gap = JSON.parse(scanned('82997760  00000000 bad0b0b0\n82997770  84f46598 84fedf48', 'dd x') as string);
    expect(gap).toMatchObject({ values: ['00000000', 'bad0b0b0', '84f46598', '84fedf48'], lines: 2, complete: false });
  });

  test.each(COMMANDS)('every real dump read as `%s` agrees with parseMemory of that unit', (command) => {
    for (const dump of REAL) agrees(dump.output, command);
  });

  test('shapes beside the fixtures: 8- and 16-digit addresses, dp, one-space and mismatched ASCII columns, tabs, a carry past 2^32', () => {
    const cases: [string, string][] = [
      ['dq x', '00000000`002cfd40  42424242`42424242 43434343`43434343\n00000000`002cfd50  01882514`8b486550'],
      ['dq x', '002cfd40  4242424242424242 4343434343434343\n002cfd50  0188251400000000'],
      ['dq x', 'fffff800ffffffff  00000000`00000001\nfffff80100000007  00000000`00000002'],
      ['dq x', 'ffffffff`fffffff8  00000000`00000001\n00000000`00000000  00000000`00000002'],
      ['dp x', 'ffffa60c`f91a0ec0  ffffa60c`f8df82e0 fffff805`7ed31910\nffffa60c`f91a0ed0  fffff805`7ed31930'],
      ['dp x', '82997760  00000000 bad0b0b0 84f46728 84f46660\n82997770  84f46598'],
      ['dp x', 'junk line\n82997760  0000 bad0 8467 8466  ..'],
      ['dw x', '82997760  0000 bad0 8467 8466 0000 bad0 8467 8466\n82997770  0000'],
      ['dc x', 'ffffbd06`d46e0000  41414141 42424242 00000000 20202020  AAAABBBB....    '],
      ['dc x', 'ffffbd06`d46e0000  41414141 42424242 00000000 20202020  AAAAxBBB........'],
      ['dc x', 'ffffbd06`d46e0000  41414141 42424242 20202020 20202020   AAAA'],
      ['dc x', 'ffffbd06`d46e0000  41414141 42424242 20202020 20202020 zz'],
      ['db x', '820f2ba4  41 62 63 20 Abc'],
      ['db x', '820f2ba4  41 62 63 20\t\tAbc '],
      ['db x', '820f2ba4  41 62 63 20-41 62 63 20  Abc Abc \n820f2bac  41-62'],
      ['db x', '820f2ba4  41 62 63 20  Abcd\n820f2ba8  4 62\n820f2ba8  41`62'],
      ['db x', '820f2ba4   41 62\n820f2ba4  \t41\n 820f2ba4  41\n820f2ba4  x1 62'],
      ['dd x', '82997760  00000000 bad0b0b0 84f46728 84f46660 \n\n  \t \n82997770  84f46598 1234567 84fedd40\nsome warning'],
      ['dd x', '82997760  00000000`\n82997764  1`2345678 9abc`def0'],
      ['dq x', '^ Syntax error in \'dq x\'\nfffff800`00000000  00000000`00000001'],
      ['dq x', ''],
      ['dq x', '\n\n'],
      ['dq x', 'No dump here'],
    ];
    let fast = 0;
    for (const [command, output] of cases) if (agrees(output, command)) fast++;
    expect(fast).toBeGreaterThanOrEqual(cases.length - 6);
  });

  test('shapes left to parseMemory fall back: unreadable memory, a prompt, CR, non-ASCII, a second backtick', () => {
    for (const [command, output] of [
      ['db x', 'fffff800`00001000  cc eb ?? ?? ?? ?? ?? ??-?? ?? ?? ?? ?? ?? ?? ??  ..??????????????'],
      ['db x', "00007ff9`850bd78d  cc eb\nMemory access error at '00007ff9`850bd78f'"],
      ['db x', "00007ff9`850bd78d  cc eb\n    ^ Memory access error in 'db 00007ff9`850bd78f'"],
      ['dd x', '0: kd> dd x\n82997760  00000000'],
      ['dd x', '82997760  00000000\r\n82997770  00000000'],
      ['dc x', 'ffffbd06`d46e0000  41414141  AAAA\u00e9'],
      ['dd x', '82997760  00000000\nwarnung \u00fc'],
      ['dq x', 'fffff800`00000000  0000`0000`00000000'],
      ['dq x', 'L1 of nothing'],
    ]) {
      expect(scanned(output!, command!)).toBe(FALLBACK);
      agrees(output!, command!);
    }
  });
});

// One damage done to a dump: what a pasted, cut or garbled log does to it (lines dropped, repeated,
// cut or blank; columns respaced; digits changed; pieces inserted or written over).
const damage = damages(
  { ops: ['drop', 'duplicate', 'truncate', 'spaceLine', 'respace', 'digit', 'hex'], value: true },
  {
    ops: ['insert', 'overwrite'],
    value: true,
    text: fc.oneof(
      fc.constantFrom('...', '`', '??', '-', ' ', '  ', '\t', 'x', 'G', '.', '\n', '\r', '\u00e9', 'WARNING: Unable to verify checksum for foo.sys', '0: kd> ', "Memory access error at 'ffff'", '    ^ Syntax error', '0000', 'ffffffff', '12'),
      fc.string({ maxLength: 6 }),
    ),
  },
);

// What the table leaves to parseMemory whatever else the output holds: unreadable memory, CR,
// non-ASCII text, something that may be a prompt, a second backtick in a cell.
const LEFT_TO_REFERENCE = /[\r\u0080-\uffff?]|Memory access error|(?:^|\n)\s*(?:\d{1,3}:|[kK]d>|l.d>)|[0-9a-fA-F]`[0-9a-fA-F]*`/;

describe('damaged dumps', () => {
  test('3,000 seeded damages of the real dumps (as their own and other units): equal to parseMemory or FALLBACK, never a wrong result', () => {
    let fast = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.nat(REAL.length - 1), fc.constantFrom('own', ...COMMANDS), fc.array(damage, { minLength: 1, maxLength: 4 }), (index, command, changes) => {
        const dump = REAL[index]!;
        const output = damaged(dump.output, changes);
        const used = command === 'own' ? dump.command : command;
        const held = agrees(output, used);
        // The share of fast reads counts the outputs parseMemory accepts with no shape the table leaves to it.
        if (reference(output, used) === undefined || LEFT_TO_REFERENCE.test(output)) return;
        runs++;
        if (held) fast++;
        else if (process.env.SHOW_FALLBACK) console.log(JSON.stringify(used), JSON.stringify(output));
      }),
      { seed: 8, numRuns: 3000 },
    );
    // A test that only ever fell back would prove nothing.
    expect(runs).toBeGreaterThan(500);
    expect(fast / runs).toBeGreaterThan(0.95);
  });

  test('damaged dumps read one after another into one table each equal parseMemory of their own output', () => {
    const table = new MemoryTable();
    let text = '';
    const kept: { from: number; to: number; row: number; want: string | undefined }[] = [];
    const random = fc.sample(fc.tuple(fc.nat(REAL.length - 1), fc.array(damage, { maxLength: 3 })), { seed: 9, numRuns: 300 });
    const spans: { from: number; to: number; command: string; output: string }[] = [];
    for (const [index, changes] of random) {
      const dump = REAL[index]!;
      const output = damaged(dump.output, changes);
      text += `0: kd> ${dump.command}\n`;
      spans.push({ from: text.length, to: text.length + output.length, command: dump.command, output });
      text += `${output}\n`;
    }
    for (const span of spans) {
      const before = table.size;
      const row = table.scan(text, span.from, span.to, span.command);
      if (row === FALLBACK) {
        expect(table.size).toBe(before);
        continue;
      }
      expect(row).toBe(before);
      kept.push({ from: span.from, to: span.to, row, want: reference(span.output, span.command) });
    }
    expect(kept.length).toBeGreaterThan(100);
    for (const { row, want } of kept) expect(JSON.stringify(table.result(text, row))).toBe(want);
  });
});

describe('several outputs in one table', () => {
  test('rows stay independent, and a fallback in between leaves earlier rows as they were', () => {
    const table = new MemoryTable();
    const parts = [
      { command: 'dq rcx', output: 'ffffa60c`f91a0ec0  ffffa60c`f8df82e0 fffff805`7ed31910\nffffa60c`f91a0ed0  fffff805`7ed31930 fffff805`7ed31b10' },
      { command: 'db x', output: '820f2ba4  41 62 ?? ??  Ab..' },
      { command: 'db nt!poolhittag L4', output: '820f2ba4  41 62 63 20           Abc ' },
      { command: 'dd x', output: 'not a dump at all' },
      { command: 'dc x', output: 'ffffbd06`d46e0000  41414141 41414141 00000000 00000000  AAAAAAAA........\nwarning' },
      { command: '!poolused 4', output: '82997760  00000000' },
    ];
    let text = '';
    const spans = parts.map((part) => {
      text += `kd> ${part.command}\n`;
      const span = { ...part, from: text.length, to: text.length + part.output.length };
      text += `${part.output}\n`;
      return span;
    });
    const rows = spans.map((span) => table.scan(text, span.from, span.to, span.command));
    expect(rows).toEqual([0, FALLBACK, 1, FALLBACK, 2, FALLBACK]);
    expect(table.size).toBe(3);
    for (const [index, row] of rows.entries()) {
      if (row < 0) continue;
      expect(JSON.stringify(table.result(text, row))).toBe(reference(spans[index]!.output, spans[index]!.command));
    }
    expect(table.unparsed(text, 2)).toEqual(['warning']);
    expect(table.complete(0)).toBe(true);
  });

  test('a range outside the text or reversed falls back instead of throwing', () => {
    const table = new MemoryTable();
    expect(table.scan('82997760  00000000', -1, 5, 'dd x')).toBe(FALLBACK);
    expect(table.scan('82997760  00000000', 5, 100, 'dd x')).toBe(FALLBACK);
    expect(table.scan('82997760  00000000', 9, 3, 'dd x')).toBe(FALLBACK);
    expect(table.size).toBe(0);
  });
});

// The reliability tests' attack (test/reliability/parsers-under-attack.test.ts) on the table:
// whole transcripts, damaged at random, as one output.
describe('hostile inputs', () => {
  const bodies = fixtureNames('db', 'dd', 'dc', 'dq', 'ed', 'poolused-win10-x64-1', 'kb-win7-x86-1').map((name) => fixture(name));

  test('damaged whole transcripts and random text: never a throw, and equal to parseMemory whenever not a FALLBACK', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constantFrom(...bodies), fc.array(damage, { minLength: 1, maxLength: 6 })).map(([body, changes]) => damaged(body, changes)),
          fc.string({ maxLength: 400 }),
          latin1Bytes(200),
        ),
        fc.constantFrom(...COMMANDS),
        (text, command) => {
          agrees(text, command);
        },
      ),
      { seed: 10, numRuns: 600 },
    );
  });

  test('1 MB costs about ten times 100 KB, as many dump lines and as one long line', () => {
    const line = 'ffffa60c`f91a0ec0  ffffa60c`f8df82e0 fffff805`7ed31910\n';
    const long = `ffffa60c\`f91a0ec0  ${'41 '.repeat(20)}${'4'.repeat(40)}`;
    for (const [unit, command] of [
      [line, 'dq x'],
      [line, 'db x'],
      [long, 'db x'],
      ['82997760  00000000 bad0b0b0 84f46728 84f46660  ....\n', 'dc x'],
    ] as const) {
      const time = (size: number): number => {
        const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
        let best = Infinity;
        for (let run = 0; run < 3; run++) {
          const started = performance.now();
          new MemoryTable().scan(text, 0, text.length, command);
          best = Math.min(best, performance.now() - started);
        }
        return best;
      };
      const small = time(100_000);
      const large = time(1_000_000);
      expect(large, `${command}: 100 KB ${small.toFixed(1)} ms, 1 MB ${large.toFixed(1)} ms`).toBeLessThan(Math.max(small, 5) * 30);
    }
  });
});
