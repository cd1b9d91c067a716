// The scanned form of stop outputs (BreakTable) must give exactly what tryParseBreak gives for the
// same output (JSON, key order included), fall back only on shapes it does not hold, and never
// fall back on the real fixtures' stops (the bench corpus is made of them).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { BreakTable } from '../../src/kd/break-columns.js';
import { tryParseBreak } from '../../src/kd/break.js';
import { FALLBACK, NO_RESULT } from '../../src/kd/columns.js';
import { damaged, embedder } from './columns-harness.js';
import { fixtureNames, preparedFixture } from './fixture-b.js';

// Every output is read in place between a process listing and the next stop.
const embedded = embedder('kd> !process 0 0\nPROCESS 89a5b020  SessionId: none  Cid: 0004\n0: kd> g\n', '\n0: kd> g\nBreakpoint 0 hit\nnt!Foo+0x1:\n');

interface Output {
  name: string;
  /** From a fixture the bench corpus is built of (its stops must take the fast path). */
  bench: boolean;
  output: string;
  command: string;
}

// The fixtures bench/parse-throughput.mjs builds its corpus of (and the PoolHitTag stop).
const BENCH_FIXTURES = /^(?:poolused|k|kb|kc|kn|kp|kv|bphit|break|breakin|step|poolhittag)-/;

// Every stop output of every fixture, split as parseAuto splits a log (a fixture that starts with
// a stop rather than a prompt gets the `g` that printed it, as the bench corpus does).
function stopOutputs(): Output[] {
  const outputs: Output[] = [];
  for (const name of fixtureNames('')) {
    if (!name.endsWith('.txt')) continue;
    let body = preparedFixture(name).replace(/\r\n/g, '\n').trimEnd();
    if (!/^\s{0,2}(?:\d+: )?kd> /.test(body)) body = `kd> g\n${body}`;
    let entries;
    try {
      entries = parseAuto(body).entries;
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.kind === 'break' && entry.output.trim() !== '') outputs.push({ name, bench: BENCH_FIXTURES.test(name), output: entry.output, command: entry.command || 'g' });
    }
  }
  return outputs;
}

// What the table makes of an output embedded in a larger text: 'fallback', or the JSON of its result (or of undefined).
function scanned(table: BreakTable, output: string, command: string): string {
  const { text, from, to } = embedded(output);
  const row = table.scan(text, from, to, command);
  if (row === FALLBACK) return 'fallback';
  if (row === NO_RESULT) return JSON.stringify(undefined);
  const result = table.result(text, row);
  expect(table.complete(row)).toBe(result.complete);
  expect(table.unparsed(text, row)).toEqual(result.unparsed);
  return JSON.stringify(result);
}

// The reference's answer for the same output.
function reference(output: string, command: string): string {
  return JSON.stringify(tryParseBreak(output, { command }));
}

// Shapes the table leaves to the reference on purpose (reboot banners with their version block).
const FALLS_BACK_ON_PURPOSE = /^(?:Shutdown occurred at|Waiting to reconnect|Kernel Debugger connection established)/m;

const OUTPUTS = stopOutputs();

describe('real stop outputs', () => {
  test('the fixtures hold the stop shapes the bench corpus is made of', () => {
    const names = new Set(OUTPUTS.map((output) => output.name));
    for (const name of fixtureNames('bphit', 'break', 'breakin', 'step', 'poolhittag')) expect(names.has(name), name).toBe(true);
    expect(OUTPUTS.length).toBeGreaterThanOrEqual(20);
  });

  test.each(OUTPUTS.map((output, index) => [`${output.name} #${index} (${output.command})`, output] as const))('%s: equals tryParseBreak (bench fixtures: without falling back)', (_label, { output, command, bench }) => {
    const got = scanned(new BreakTable(), output, command);
    if (!bench || FALLS_BACK_ON_PURPOSE.test(output)) {
      expect(['fallback', reference(output, command)]).toContain(got);
      return;
    }
    expect(got).not.toBe('fallback');
    expect(got).toBe(reference(output, command));
  });

  test('the results carry the fixtures’ values (spot checks)', () => {
    const table = new BreakTable();
    const step = OUTPUTS.find((output) => output.name.startsWith('step') && output.output.includes('KeQueryIntervalProfile+0x7:'))!;
    const { text, from, to } = embedded(step.output);
    const row = table.scan(text, from, to, 't');
    const event = table.result(text, row).events[0]!;
    expect(event.kind).toBe('step');
    expect(event.location).toEqual({ module: 'nt', offset: 7, function: 'KeQueryIntervalProfile', symbol: 'nt!KeQueryIntervalProfile+0x7' });
    expect(event.instruction).toEqual({ address: 'fffff80110bb1417', bytes: '7430', mnemonic: 'je', operands: 'nt!KeQueryIntervalProfile+0x39 (fffff801`10bb1449)', target: 'fffff80110bb1449' });
  });
});

// Hand-made shapes around the edges of what the table holds.
const SHAPES: readonly [string, string, string][] = [
  ['registers merged, a name repeated', 'Breakpoint 2 hit\neax=00000001 ebx=2\neax=00000003 ecx=ff\nnt!A+0x1:\n82b2f88c cc int 3', 'g'],
  ['register line before any stop', 'eax=00000001 ebx=2\nBreakpoint 2 hit', 'g'],
  ['iopl only and cs line', 'Break instruction exception - code 80000003 (first chance)\niopl=0 nv up\ncs=001b  ss=0023 zz=1\nntdll!DbgBreakPoint:\n77f7e098 cc int 3', 'g'],
  ['prefix, segment, effective address', 'Breakpoint 0 hit\nnt!X+0x10:\n0033:00000000`002cfd40 f3a4 rep movsb byte ptr [rdi],byte ptr [rsi] ds:002b:00000000`002cfd40=42', 'g'],
  ['lock prefix without word', 'Breakpoint 0 hit\nnt!X+0x10:\n82b2f88c f0 lock', 'g'],
  ['second chance exception', 'Access violation - code c0000005 (second chance)\nnt!Y:\n82b2f88c 8b00 mov eax,dword ptr [eax]', 'g'],
  ['break-in by command', 'Break instruction exception - code 80000003 (first chance)\nnt!RtlpBreakWithStatusInstruction:\n80528bec cc int 3', '.breakin'],
  ['int 3 after t is a step', 'nt!DbgBreakPoint:\n80528bec cc int 3', 't'],
  ['int 3 after g is a breakpoint', 'nt!DbgBreakPoint:\n80528bec cc int 3', 'g'],
  ['box without CTRL+C', 'Break instruction exception - code 80000003 (first chance)\n********************\n* hello *\n********************\nnt!A:\n80528bec cc int 3', 'g'],
  ['bugcheck code and arguments lines', 'Bugcheck code 000000D1\nArguments 00000000`00000001 00000002 0000000a  fffff800`1234abcd', 'g'],
  ['arguments line twice', '*** Fatal System Error: 0x000000c4\n(0x1,0x2`00000003)\nArguments 1 2', 'g'],
  ['bad argument list then break', '*** Fatal System Error: 0x1\n(0x1,,0x2)\nBreak instruction exception - code 80000003 (first chance)', 'g'],
  ['connected line, then noise and a location', 'Connected to Windows 10 19041 x64 target at (Mon Jan  1 00:00:00.000 2024 (UTC + 0:00)), ptr64 TRUE\nLoading Kernel Symbols\n....\nnt!DbgBreakPointWithStatus:\nfffff801`107c7300 cc int 3', 'g'],
  ['connected line without at or ptr64', 'Connected to Windows XP 2600 x86 compatible target\nnt!A+4:\n80528bec cc int 3', 'g'],
  ['label with trailing blank and no bang', 'Break instruction exception - code 80000003 (first chance)\nfoo+0x10 :\n#   00000000 :', 'g'],
  ['label forms', 'Breakpoint 1 hit\nHEVD!:\nnt!a b+1f:\nDriver+11b1:\n00000003`2b2f0000 4831c0 xor rax,rax', 'g'],
  ['label without an instruction at the end', 'Breakpoint 007 hit\nnt!KiSwapContext+0x7a:', 'g'],
  ['bare instruction on the current stop', 'Breakpoint 3 hit\n82b2f88c int 3\n82b2f88d 90 nop', 'g'],
  ['noise lines', 'For analysis of this file, run !analyze -v\n*** Path validation summary ***\nDeferred   srv*\nOK x\nSymbol search path is: srv*\n...Unable to read image header for x\nBreakpoint 1 hit', 'g'],
  ['no stop at all', '[+] Triggering Arbitrary Overwrite\n****** HACKSYS ******', 'g'],
  ['tabs and odd spacing', '\tBreakpoint 4 hit  \n  nt!Foo+0x2:\t\n\t82b2f88c  cc\t\tint 3  ', 'p'],
  ['empty output', '', 'g'],
  ['blank lines only', '\n  \n', 'g'],
  ['output ending in a line break', 'Breakpoint 1 hit\nnt!A:\n', 'g'],
  ['reboot banner (left to the reference)', 'Shutdown occurred at (Wed Jul 25 21:34:14.874 2018 (UTC + 8:00))...unloading all symbol tables.\nWaiting to reconnect...', '.reboot'],
  ['a prompt inside (left to the reference)', 'Breakpoint 1 hit\n0: kd> r\neax=1', 'g'],
  ['non-breaking space (left to the reference)', 'Breakpoint 1 hit\u00a0\nnt!A:\n80528bec cc int 3', 'g'],
  ['carriage return (left to the reference)', 'Breakpoint 1 hit\r\nnt!A:\r\n80528bec cc int 3', 'g'],
];

describe('hand-made shapes', () => {
  test.each(SHAPES)('%s', (_label, output, command) => {
    const got = scanned(new BreakTable(), output, command);
    if (got !== 'fallback') expect(got).toBe(reference(output, command));
    else expect(_label).toMatch(/left to the reference/);
  });
});

// Damage done to a real output, line-wise or character-wise, as kd logs get damaged.
type Change =
  | { op: 'drop' | 'duplicate' | 'blank' | 'indent' | 'elide' | 'truncate' | 'digit' | 'hex' | 'case'; at: number }
  | { op: 'replace' | 'insert'; at: number; text: string };

const INSERTS = [
  ' ',
  '  ',
  '\t',
  '...',
  ':',
  '!',
  '+0x',
  '`',
  '=',
  ' - code 80000003 (first chance)',
  'Breakpoint 12 hit',
  '*** Fatal System Error: 0x000000d1',
  '(0x1,0x2)',
  'Arguments 1 2 3',
  'Bugcheck code 1e',
  '*** WARNING: Unable to verify checksum for x.sys',
  '********************',
  'CTRL+C',
  'eax=00000000 ebx=00000001',
  'iopl=0',
  'cs=0010  ss=0018',
  'Connected to Windows 7 7601 x86 compatible target at (x), ptr64 FALSE',
  'Kernel Version 7601',
  'nt!Foo+0x1a:',
  'fffff801`10bb1410 4883ec48        sub     rsp,48h',
  '82b2f88c cc int 3',
  'A fatal system error has occurred.',
  '\u00a0',
  '\r',
  'é',
];

const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ op: fc.constantFrom('drop' as const, 'duplicate' as const, 'blank' as const, 'indent' as const, 'elide' as const, 'truncate' as const, 'digit' as const, 'hex' as const, 'case' as const), at: fc.nat() }),
  fc.record({ op: fc.constantFrom('replace' as const, 'insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...INSERTS), fc.string({ maxLength: 6 })) }),
);

// Apply the changes in order, positions taken modulo the current size (drop, duplicate, blank and truncate mean what they mean in the harness, so it does them).
function damage(text: string, changes: readonly Change[]): string {
  let result = text;
  for (const item of changes) {
    const lines = result.split('\n');
    const line = item.at % lines.length;
    const at = item.at % (result.length + 1);
    switch (item.op) {
      case 'drop':
      case 'duplicate':
      case 'blank':
      case 'truncate':
        result = damaged(result, [{ op: item.op, at: item.at }]);
        continue;
      case 'indent':
        lines[line] = `   ${lines[line]}  `;
        break;
      case 'elide':
        lines.splice(line, 0, '...');
        break;
      case 'digit':
      case 'hex': {
        // Change one digit (or hex letter) of the text into another of its kind.
        const pattern = item.op === 'digit' ? /\d/g : /[0-9a-fA-F]/g;
        const found = [...result.matchAll(pattern)];
        if (found.length === 0) continue;
        const index = found[item.at % found.length]!.index!;
        const pool = item.op === 'digit' ? '0123456789' : '0123456789abcdefABCDEF';
        result = result.slice(0, index) + pool[item.at % pool.length] + result.slice(index + 1);
        continue;
      }
      case 'case':
        lines[line] = item.at % 2 === 0 ? lines[line]!.toUpperCase() : lines[line]!.toLowerCase();
        break;
      case 'replace':
        result = result.slice(0, at) + item.text + result.slice(at + 1);
        continue;
      case 'insert':
        if (item.at % 3 === 0) lines.splice(line, 0, item.text);
        else {
          result = result.slice(0, at) + item.text + result.slice(at);
          continue;
        }
        break;
    }
    result = lines.join('\n');
  }
  return result;
}

describe('damaged real outputs', () => {
  test('thousands of seeded mutations: equal to tryParseBreak wherever the table does not fall back', () => {
    let held = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.nat(OUTPUTS.length - 1), fc.array(change, { minLength: 1, maxLength: 5 }), fc.constantFrom('g', 't', 'p', '.breakin', 'gu'), (index, changes, command) => {
        const output = damage(OUTPUTS[index]!.output, changes);
        const got = scanned(new BreakTable(), output, command);
        total++;
        if (got === 'fallback') return;
        held++;
        expect(got).toBe(reference(output, command));
      }),
      { numRuns: 3000, seed: 8 },
    );
    // Most damage leaves a shape the table holds: the comparisons above are not vacuous.
    expect(held).toBeGreaterThan(total * 0.6);
  });

  test('whole fixtures (several prompts and outputs in one) fall back or agree', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fixtureNames('bphit', 'break', 'breakin', 'step', 'poolhittag')), fc.array(change, { maxLength: 3 }), (name, changes) => {
        const output = damage(preparedFixture(name), changes);
        const got = scanned(new BreakTable(), output, 'g');
        if (got !== 'fallback') expect(got).toBe(reference(output, 'g'));
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});

// The reliability suite's attacks on the break parser (test/reliability/parsers-under-attack.test.ts,
// test/kd/properties-b.test.ts): raw bytes, huge numbers, prompts, lone CRs, long runs.
describe('hostile inputs', () => {
  const attacks: Record<string, string> = {
    bytes: Buffer.from(Array.from({ length: 256 }, (_, index) => index)).toString('latin1'),
    hugeBreakpoint: `Breakpoint ${'9'.repeat(40)} hit`,
    hugeOffset: `Breakpoint 1 hit\nnt!Foo+0x${'f'.repeat(20)}:\n82b2f88c cc int 3`,
    hugeBuild: `Connected to Windows 7 ${'9'.repeat(30)} x86 compatible target`,
    promptLike: '0: kd> '.repeat(50),
    crlf: 'Breakpoint 1 hit\r\n\r\nnt!A:\r\n',
    nul: 'Breakpoint 1 hit\u0000\nnt!A:\n82b2f88c cc int 3',
    replacement: '\uFFFDBreakpoint 1 hit',
    hexRun: 'a'.repeat(5000),
    hexWithBackticks: `fffff800\`00000000  ${'0`'.repeat(2000)}Z`,
    versionWords: `Windows ${'Kernel Version 1 '.repeat(500)}`,
    connected: `Connected to Windows ${'10 '.repeat(2000)} targ`,
    digitsAndSpaces: `Arguments ${'0 '.repeat(2000)}Z`,
    bugcheckArgs: `*** Fatal System Error: 0x1\n(${'0x1,'.repeat(2000)}`,
    symbols: `${'a!b+0x1'.repeat(1000)}:`,
    spaces: `x${' '.repeat(5000)}y`,
    dotsAndText: '.Unable to read image header for x at 1 - NTSTATUS 0x1\n'.repeat(200),
    manyLines: 'fffff801`10bb1410 4883ec48        sub     rsp,48h\n'.repeat(500),
  };

  test.each(Object.entries(attacks))('%s: never throws, equal to tryParseBreak unless it falls back', (_name, output) => {
    for (const command of ['g', 't', '.breakin']) {
      const got = scanned(new BreakTable(), output, command);
      if (got !== 'fallback') expect(got).toBe(reference(output, command));
    }
  });

  test('out-of-range spans fall back instead of throwing', () => {
    const table = new BreakTable();
    expect(table.scan('Breakpoint 1 hit', -1, 5, 'g')).toBe(FALLBACK);
    expect(table.scan('Breakpoint 1 hit', 3, 100, 'g')).toBe(FALLBACK);
    expect(table.scan('Breakpoint 1 hit', 5, 3, 'g')).toBe(FALLBACK);
    expect(table.size).toBe(0);
  });

  test('1 MB of stops costs about ten times 100 KB (linear)', () => {
    const unit = `${OUTPUTS.map((output) => output.output).join('\n')}\n`;
    const time = (size: number): number => {
      const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
      let best = Infinity;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        new BreakTable().scan(text, 0, text.length, 'g');
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const small = time(100_000);
    const large = time(1_000_000);
    expect(large).toBeLessThan(Math.max(small, 2) * 30);
  });
});

describe('several rows in one table', () => {
  test('results stay independent, and a fallback or an output without a stop leaves earlier rows intact', () => {
    const table = new BreakTable();
    const held = OUTPUTS.filter((output) => output.bench && !FALLS_BACK_ON_PURPOSE.test(output.output));
    const pieces: string[] = [];
    const spans: { from: number; to: number; command: string; expected: string }[] = [];
    let at = 0;
    const add = (output: string, command: string): void => {
      pieces.push(output);
      spans.push({ from: at, to: at + output.length, command, expected: reference(output, command) });
      at += output.length + 1;
    };
    held.forEach((output, index) => {
      add(output.output, output.command);
      // Between real outputs: one the table leaves to the reference, and one without a stop.
      if (index % 3 === 0) add('Breakpoint 1 hit\n0: kd> r\neax=00000001', 'g');
      if (index % 3 === 1) add('[+] no stop here', 'g');
    });
    const text = pieces.join('\n');
    const rows = spans.map(({ from, to, command }) => table.scan(text, from, to, command));
    let results = 0;
    rows.forEach((row, index) => {
      const { expected } = spans[index]!;
      if (row === FALLBACK) {
        expect(text.slice(spans[index]!.from, spans[index]!.to)).toMatch(/kd> /);
        return;
      }
      if (row === NO_RESULT) {
        expect(expected).toBe(JSON.stringify(undefined));
        return;
      }
      expect(row).toBe(results++);
      expect(JSON.stringify(table.result(text, row))).toBe(expected);
    });
    expect(table.size).toBe(results);
    expect(results).toBeGreaterThan(held.length / 2);
    // Reading a result twice, or out of order, gives the same answer.
    const first = rows.find((row) => row >= 0)!;
    expect(JSON.stringify(table.result(text, first))).toBe(JSON.stringify(table.result(text, first)));
  });
});

describe('lines found by a remembered search', () => {
  // Near misses of the exact lines the table finds by search (noise lines, the 79-asterisk box edge,
  // the common break line) placed before the real ones, so a search that looked past the line asked
  // about would wrongly say yes.
  const EDGE = '*'.repeat(79);
  const NEAR_MISSES = [
    `A fatal system error has occurreX\nBreak instruction exception - code 80000003 (first chancE)\nnt!Foo+0x1:\nA fatal system error has occurred.`,
    `Break instruction exception - code 80000003 (first chance)x\nBreak instruction exception - code 80000003 (first chance)\n${EDGE.slice(0, 40)}-${EDGE.slice(41)}\n${EDGE}\n*  CTRL+C  *\n${EDGE}`,
    `Break instruction exception - code 80000003 (first chance)\n${EDGE}\n*  CTRL+C  *\n${EDGE.slice(1)}+\n${EDGE}\nnt!Foo:\nDebugger entered on first try; Bugcheck callbacks have not been invokeD.\nDebugger entered on first try; Bugcheck callbacks have not been invoked.`,
    'Breakpoint 0 hit\nKDTARGET: Refreshing KD connectioN\nLoading Kernel SymbolS\nLoading User Symbols\nKDTARGET: Refreshing KD connection',
    'Connected to Windows 10 19041 x64 target at (Mon Jan 1 00:00:00.000 2024 (UTC + 0:00)), ptr64 TRUE\nLoading Kernel Symbols\nLoaded Kernel Versions, Kernel Version\nnt!Foo:',
  ];

  test('near misses are told from the real lines', () => {
    for (const output of NEAR_MISSES) {
      const got = scanned(new BreakTable(), output, 'g');
      expect(got).not.toBe('fallback');
      expect(got).toBe(reference(output, 'g'));
    }
  });

  test('outputs read backwards, then forwards again, in one table give the reference results', () => {
    const outputs = [...NEAR_MISSES, ...OUTPUTS.filter((output) => output.bench).map((output) => output.output)];
    const text = outputs.join('\n');
    const spans: [number, number][] = [];
    let at = 0;
    for (const output of outputs) {
      spans.push([at, at + output.length]);
      at += output.length + 1;
    }
    const table = new BreakTable();
    let compared = 0;
    for (const [from, to] of [...spans.slice().reverse(), ...spans]) {
      const row = table.scan(text, from, to, 'g');
      const expected = reference(text.slice(from, to), 'g');
      if (row === NO_RESULT) expect(expected).toBe(JSON.stringify(undefined));
      else if (row !== FALLBACK) {
        expect(JSON.stringify(table.result(text, row))).toBe(expected);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(spans.length);
  });

  test('an output that ends inside a line reads only up to its end', () => {
    // The character after the output is `=`: a register word must not take it for its own.
    const text = 'Breakpoint 1 hit\neax=12 ebx=3';
    for (const to of [text.length - 1, text.length - 2, text.length]) {
      const table = new BreakTable();
      const row = table.scan(text, 0, to, 'g');
      expect(row).toBeGreaterThanOrEqual(0);
      expect(JSON.stringify(table.result(text, row))).toBe(reference(text.slice(0, to), 'g'));
    }
  });
});

describe('the copy of the log the table reads from', () => {
  test('a go command is read as the reference reads it (trimmed; `.breakin` as a word; `t`/`p` first)', () => {
    const outputs = ['Break instruction exception - code 80000003 (first chance)\nnt!A:\n80528bec cc int 3', 'nt!DbgBreakPoint:\n80528bec cc int 3'];
    const commands = [' .breakin', '.breakin ', '\t.breakin\u00a0', '.breakinx', '.breakin_1', '.breakin9', '.breakin;g', '.breakin-', '.break', 'T', ' t', 'p 3', '\u00a0t', 'tc', '', 'g'];
    const table = new BreakTable();
    for (const output of outputs) {
      for (const command of commands) {
        // In one table (the command remembered between scans) and in a fresh one.
        expect(scanned(table, output, command), JSON.stringify(command)).toBe(reference(output, command));
        expect(scanned(new BreakTable(), output, command), JSON.stringify(command)).toBe(reference(output, command));
      }
    }
  });

  test('another log with the same spans is read afresh, not from the copy of the last one', () => {
    const first = 'Breakpoint 1 hit\nnt!A+0x1:\n80528bec cc int 3\n0: kd> t\nnt!B+0x2:\n80528bed 90 nop';
    const second = 'Breakpoint 7 hit\nnt!C+0x9:\n80528bef cc int 3\n0: kd> t\nnt!D+0x4:\n80528bf0 90 nop';
    const spans: [number, number, string][] = [
      [0, first.indexOf('\n0: kd>'), 'g'],
      [first.indexOf('nt!B'), first.length, 't'],
    ];
    const table = new BreakTable();
    for (const text of [first, second, first]) {
      for (const [from, to, command] of spans) {
        const row = table.scan(text, from, to, command);
        expect(row).toBeGreaterThanOrEqual(0);
        expect(JSON.stringify(table.result(text, row))).toBe(reference(text.slice(from, to), command));
      }
    }
  });

  test('outputs far apart, near each other and at the very end of a long log read the same', () => {
    const filler = 'PROCESS 89a5b020  SessionId: none  Cid: 0004\n'.repeat(300);
    const outputs = OUTPUTS.filter((output) => output.bench).slice(0, 12);
    const pieces: string[] = [];
    const spans: [number, number, string][] = [];
    let at = 0;
    outputs.forEach((output, index) => {
      // Every other output right after the last one, the rest after a long stretch of other text.
      const gap = index % 2 === 0 ? filler : '0: kd> t\n';
      pieces.push(gap, output.output, '\n');
      at += gap.length;
      spans.push([at, at + output.output.length, output.command]);
      at += output.output.length + 1;
    });
    const text = pieces.join('').slice(0, -1);
    const table = new BreakTable();
    for (const [from, to, command] of spans) {
      const row = table.scan(text, from, to, command);
      expect(row).not.toBe(FALLBACK);
      if (row >= 0) expect(JSON.stringify(table.result(text, row))).toBe(reference(text.slice(from, to), command));
    }
    expect(spans[spans.length - 1]![1]).toBe(text.length);
  });
});
