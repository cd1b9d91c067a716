// The scanned form of stacks (src/kd/stack-columns.ts) must give, for every output it keeps,
// exactly what parseStack gives (JSON key order included), and hand everything else back
// (FALLBACK) with nothing of it kept: on the real fixtures, on thousands of damaged copies of
// them, on the hostile inputs the reliability tests use, and with many results in one table.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FALLBACK } from '../../src/kd/columns.js';
import { parseStack } from '../../src/kd/stack.js';
import { StackTable } from '../../src/kd/stack-columns.js';
import { damaged, damages, embedder, equalOrFallback, referenceOf } from './columns-harness.js';
import { fixture, fixtureNames } from './fixture-b.js';

// A stack output placed in a log, between a process listing and the next stop.
const embedded = embedder('kd> !process 0 0\nPROCESS 89a5b020  SessionId: none  Cid: 0004\n0: kd> kb\n', '\n0: kd> g\nBreakpoint 0 hit\n00 8fb7f128 83e905f4 nt!Next+0x1\n');

// parseStack's answer as JSON, or undefined where it throws.
const reference = referenceOf(parseStack);

// Scan `text[from, to)` into `table` as a `kb` output and hold it to parseStack of the same output
// (equal, or FALLBACK where parseStack throws). Returns whether the table fell back.
function check(table: StackTable, text: string, from: number, to: number): boolean {
  return !equalOrFallback(table, { text, from, to }, 'kb', reference(text.slice(from, to)));
}

const STACK_FIXTURES = fixtureNames('k-', 'kb', 'kc', 'kn', 'kp', 'kv', 'thread', 'process', 'analyze');
const COMMAND_FIXTURES = fixtureNames('k-', 'kb', 'kc', 'kn', 'kp', 'kv');

// The outputs of the stack commands of a transcript (`k`, `kb`, `kvL`, also the last of
// `.thread ; .cxr ; kb`), as a log splits them: the lines after the prompt up to the next prompt.
// Text before the first prompt counts as the output of `kb` unless it is a stop, as the bench
// corpus takes it.
function stackOutputs(text: string): string[] {
  const prompt = /^\s{0,2}(?:\d{1,3}: ?)?kd> ?(.*)$|^\s{0,2}\d{1,3}:\d{3}> ?(.*)$/;
  const outputs: string[] = [];
  const leading = !prompt.test(text.split('\n')[0]!) && !/Fatal System Error|Break instruction exception|Breakpoint \d+ hit/.test(text.split(/\n\s{0,2}(?:\d+: )?kd> /)[0]!);
  let current: string[] | undefined = leading ? [] : undefined;
  for (const line of text.split('\n')) {
    const match = prompt.exec(line);
    if (match) {
      if (current && current.join('').trim() !== '') outputs.push(current.join('\n'));
      const command = (match[1] ?? match[2] ?? '').split(';').pop()!.trim();
      current = /^k[bcdfLmnpPv]*(?:\s|$)/.test(command) ? [] : undefined;
    } else current?.push(line);
  }
  if (current && current.join('').trim() !== '') outputs.push(current.join('\n'));
  return outputs;
}

describe('real transcripts', () => {
  test.each(STACK_FIXTURES)('%s: the whole transcript, embedded, equals parseStack', (name) => {
    const { text, from, to } = embedded(fixture(name));
    check(new StackTable(), text, from, to);
  });

  test.each(COMMAND_FIXTURES)('%s: every stack command output takes the fast path and equals parseStack', (name) => {
    const outputs = stackOutputs(fixture(name));
    expect(outputs.length).toBeGreaterThan(0);
    const table = new StackTable();
    for (const output of outputs) {
      const { text, from, to } = embedded(output);
      expect(check(table, text, from, to), output).toBe(false);
    }
  });

  test.each(fixtureNames('k-', 'kb', 'kc', 'kn', 'kp', 'kv', 'thread', 'process', 'analyze-win7'))('%s: the whole transcript does not fall back', (name) => {
    const text = fixture(name);
    expect(new StackTable().scan(text, 0, text.length, 'kb')).not.toBe(FALLBACK);
  });

  test('the fields of a frame are read from their columns', () => {
    const text = fixture('kv-nt4-x86-1.txt');
    const table = new StackTable();
    const output = stackOutputs(text)[1]!;
    const row = table.scan(output, 0, output.length, 'kv');
    const frames = table.result(output, row).frames;
    expect(frames[2]).toEqual({
      module: 'NT',
      childEbp: '8013eecc',
      retAddr: '00000000',
      args: ['0000000a', '00000000', '0000001c'],
      notes: ['FPO: [0,0] TrapFrame @ 8013eee8'],
      trapFrame: '8013eee8',
      offset: 0x256,
      function: '_KiTrap0E',
    });
  });

  test('CRLF line ends, a line break at the end and TABs read as parseStack reads them', () => {
    const base = fixture('k-win10x-x64-1.txt');
    for (const output of [base.replace(/\n/g, '\r\n'), `${base}\n`, `${base}\r\n`, base.replace(/ {5}/g, '\t'), base.replace(/\n/g, '\r')]) {
      const { text, from, to } = embedded(output);
      check(new StackTable(), text, from, to);
    }
  });
});

// Fragments of stack output and of the text kd prints around it, for the damage to insert.
const PIECES = [
  '...',
  '[...]',
  '…',
  '`',
  '0x',
  '+0x',
  '+0x1f',
  '!',
  ':',
  ' : ',
  '(',
  ')',
  '"',
  '[',
  ']',
  ' @ ',
  ' @ 12]',
  '[x.c @ 7]',
  '(FPO: [0,0,0])',
  ' (TrapFrame @ 8013eee8)',
  '(Inline Function) --------`--------',
  'operator',
  '\t',
  '\r',
  '\u00a0',
  '\u2028',
  '\u0000',
  '0: kd> ',
  'kd> kb',
  'C:\\>',
  'WARNING: Frame IP not in any known module. Following frames may be wrong.',
  '*** ERROR: Module load completed but symbols could not be loaded for x.sys',
  '  *** Stack trace for last set context - .thread/.cxr resets it',
  'Unable to load image x.sys, Win32 error 0n2',
  'STACK_TEXT:',
  ' # Child-SP          RetAddr               Call Site',
  'ChildEBP RetAddr  Args to Child',
  ' # RetAddr           : Args to Child                                                           : Call Site',
  '#   Memory  Child-SP          RetAddr           Call Site',
  ' # Call Site',
  'ffffffff`ffffffff',
  '9'.repeat(40),
  'f'.repeat(20),
  '-'.repeat(17),
];

// Line damage (drop, duplicate, blank, a line inserted) and character damage (cut, case flip,
// digits changed, spaces or a piece inserted).
const damage = damages(
  { ops: ['drop', 'duplicate', 'blank', 'truncate', 'flip', 'bumpDigit', 'mirrorHex', 'spaces'] },
  { ops: ['insert', 'line'], text: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 12 })) },
);

describe('damaged transcripts', () => {
  const seeds = COMMAND_FIXTURES.flatMap((name) => stackOutputs(fixture(name))).concat(STACK_FIXTURES.map(fixture));

  test('thousands of seeded mutations: every kept row equals parseStack, the rest falls back', () => {
    let kept = 0;
    let fellBack = 0;
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(damage, { minLength: 1, maxLength: 5 }), (index, changes) => {
        const { text, from, to } = embedded(damaged(seeds[index]!, changes));
        if (check(new StackTable(), text, from, to)) fellBack++;
        else kept++;
      }),
      { numRuns: 4000, seed: 8 },
    );
    // The damage must leave most outputs on the fast path, or the test would prove little.
    expect(kept).toBeGreaterThan(fellBack * 3);
  });
});

describe('hostile inputs', () => {
  // The shapes parsers-under-attack and properties-b build to catch quadratic or explosive reading.
  const size = 100 * 1024;
  const repeat = (unit: string): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const realistic = `${STACK_FIXTURES.map(fixture).join('\n')}\n`;
  const inputs: Record<string, string> = {
    realistic: repeat(realistic),
    hexRun: repeat('a'),
    hexWithBackticks: `fffff800\`00000000  ${repeat('0`')}Z`,
    promptLike: repeat('0: kd> '),
    symbols: `${repeat('a!b+0x1')}:`,
    spaces: `x${repeat(' ')}y`,
    dots: repeat('.'),
    manyLines: repeat('fffff801`10bb1410 4883ec48        sub     rsp,48h\n'),
    sourceWithoutBracket: ` # ChildEBP RetAddr\n${repeat('00 8fb7f128 83e905f4 nt!F+0x1 x @ 1]\n')}`,
    unbalancedNotes: ` # ChildEBP RetAddr\n${repeat('00 8fb7f128 83e905f4 nt!F ((((FPO: [0]) ')}`,
    parameters: ` # ChildEBP RetAddr\n00 8fb7f128 83e905f4 nt!F(${repeat('int a = 0x1, ')})+0x1`,
    colonArgs: ` # Child-SP          RetAddr           : Args to Child : Call Site\n00 00000000\`0015eed0 00000000\`77732ef5 : ${repeat('00000000`00000000 ')}: nt!F`,
    noHeaderFrames: repeat('8fb7f128 83e905f4 00000001 00000002 00000003 nt!F+0x1\n'),
  };

  test.each(Object.keys(inputs))('%s: equals parseStack or falls back, in linear time', (shape) => {
    const output = inputs[shape]!;
    const { text, from, to } = embedded(output);
    const started = performance.now();
    check(new StackTable(), text, from, to);
    // 100 KB of anything: a few milliseconds when linear, seconds when quadratic.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test('realistic bulk takes the fast path', () => {
    const { text, from, to } = embedded(inputs.realistic!);
    expect(check(new StackTable(), text, from, to)).toBe(false);
  });
});

describe('several results in one table', () => {
  test('rows stay independent, and a fallback between them keeps the earlier rows intact', () => {
    const outputs = COMMAND_FIXTURES.flatMap((name) => stackOutputs(fixture(name)));
    // One log: every output after a prompt, with a few that must fall back in between.
    const pieces: string[] = [];
    const spans: { from: number; to: number; output: string }[] = [];
    let length = 0;
    const add = (output: string): void => {
      const prompt = '0: kd> kb\n';
      pieces.push(prompt, output, '\n');
      spans.push({ from: length + prompt.length, to: length + prompt.length + output.length, output });
      length += prompt.length + output.length + 1;
    };
    outputs.forEach((output, index) => {
      add(output);
      if (index % 5 === 2) add('not a stack at all');
      if (index % 7 === 3) add(`${output}\n99 8fb7f128 83e905f4 nt!Huge+0x${'f'.repeat(12)}`);
    });
    const log = pieces.join('');
    const table = new StackTable();
    const rows = spans.map(({ from, to }) => table.scan(log, from, to, 'kb'));
    spans.forEach(({ output }, index) => {
      if (output === 'not a stack at all') expect(rows[index]).toBe(FALLBACK);
    });
    // An offset too big for a column falls back (where the line is a frame under its header).
    expect(spans.some(({ output }, index) => output.includes('Huge') && rows[index] === FALLBACK)).toBe(true);
    const kept = rows.filter((row) => row !== FALLBACK);
    expect(kept).toEqual(kept.map((_, index) => index));
    expect(table.size).toBe(kept.length);
    rows.forEach((row, index) => {
      if (row === FALLBACK) return;
      expect(JSON.stringify(table.result(log, row))).toBe(JSON.stringify(parseStack(spans[index]!.output)));
    });
  });
});

describe('fixed columns', () => {
  // Frame lines in kd's padding under each header, then the same lines moved off their columns:
  // the positional reading and the general reading must give parseStack's answer either way.
  const x64 = ' # Child-SP          RetAddr           Call Site\n00 fffff801`6b2d7a80 fffff801`6b3c1b2f     nt!KiSwapContext+0x76\n01 fffff801`6b2d7bc0 fffff801`6b3c0f10     nt!KiSwapThread+0x17d [minkernel\\ntos\\ke\\thredsup.c @ 912]\n02 (Inline Function) --------`--------     nt!KiCommitThreadWait+0x14f';
  const colon = ' # Child-SP          RetAddr           : Args to Child                                                           : Call Site\n00 fffff801`6b2d7a80 fffff801`6b3c1b2f : 00000000`00000001 00000000`00000002 00000000`00000003 00000000`00000004 : nt!KeBugCheckEx\n01 fffff801`6b2d7bc0 fffff801`6b3c0f10 : 00000000`00000001 00000000`00000002 00000000`00000003 00000000`00000004 : nt!KiPageFault+0x3e9 (TrapFrame @ fffff801`6b2d7c00)';
  const retOnly = ' # RetAddr               : Args to Child                                                           : Call Site\n00 fffff801`6b3c1b2f     : 00000000`00000001 00000000`00000002 00000000`00000003 00000000`00000004 : nt!KeBugCheckEx';
  const x86 = 'ChildEBP RetAddr  Args to Child              \n8fb7f128 83e905f4 00000001 00000002 00000003 nt!KiTrap0E+0xdc (FPO: [0,0] TrapFrame @ 8fb7f140)\n8fb7f1a8 83e9ab6c 8fb7f1c0 00000000 00000000 nt!MmAccessFault+0x104\n8fb7f228 83e905f4 00000001 00000002 00000003\n8fb7f2a8 83e9ab6c 00000001 nt!Short+0x1';
  const x86Numbered = ' # ChildEBP RetAddr  \n00 8fb7f128 83e905f4 nt!KiTrap0E+0xdc\n01 8fb7f1a8 83e9ab6c nt!MmAccessFault+0x104 [d:\\x\\y.c @ 12]';
  const callSite = ' # Call Site\n00 nt!KiSwapContext+0x76\n01 nt!KiSwapThread+0x17d\n02 (Inline Function) nt!Inlined';
  const layouts = [x64, colon, retOnly, x86, x86Numbered, callSite];
  const moves: [RegExp, string][] = [
    [/ /, '\t'],
    [/ (?=[0-9a-f]{8})/, '  '],
    [/`/, ''],
    [/[0-9a-f]`[0-9a-f]/, '0000'],
    [/^0(?=\d )/m, '10'],
    [/^0(?=\d )/m, ''],
    [/$/m, '   '],
    [/$/m, '\t'],
    [/[a-f]/, 'G'],
    [/[a-f]/, 'F'],
    [/ : /, ' :  '],
    [/ : /, ':'],
    [/ (?=[0-9a-f]{8}`[0-9a-f]{8} :)/, ' 00000000`00000005 '],
    [/ [0-9a-f]{8}`[0-9a-f]{8} (?=:)/, ' '],
    [/--------`--------/, '--------'],
    [/\(Inline Function\)/, '(Inline Functio)'],
    [/nt!/, 'nt! '],
    [/nt!/, 'ñt!'],
    [/\+0x/, '+0x\u00a0'],
    [/\+0x[0-9a-f]+/, '+0x123456789'],
    [/ nt!/, ' \u2003nt!'],
    [/ (?=[0-9a-f]{8} nt)/, ''],
    [/ nt!/, ' (nt!'],
    [/ @ /, '_Y_Y_Y @ '],
    [/ @ /, '] @ '],
    [/\[/, '[a[b_'],
    [/\[/, ''],
    [/\+0x[0-9a-f]+/, '+0x0000000012'],
    [/\+0x[0-9a-f]+/, '+0x7ffffff'],
    [/\+0x[0-9a-f]+/, '+0x80000000'],
    [/\+0x[0-9a-f]+/, '+0x00000000000000001'],
  ];

  test.each(layouts.map((layout, index) => [index, layout] as const))('layout %i: kd padding takes the fast path, every move off it equals parseStack', (_, layout) => {
    const { text, from, to } = embedded(layout);
    expect(check(new StackTable(), text, from, to)).toBe(false);
    for (const [pattern, replacement] of moves) {
      // Each move applied to every frame line in turn.
      const lines = layout.split('\n');
      for (let line = 1; line < lines.length; line++) {
        const moved = [...lines];
        moved[line] = moved[line]!.replace(pattern, replacement);
        const { text, from, to } = embedded(moved.join('\n'));
        check(new StackTable(), text, from, to);
      }
    }
  });

  test('characters beyond ASCII, in the output or only around it, give the same result', () => {
    const outputs = [
      x64.replace('KiSwapThread', 'KiSwäpThread'),
      x64.replace('nt!KiSwapThread', 'nt!\u3000KiSwapThread'),
      x64.replace('KiSwapContext+0x76', 'KiSwapContext+0x76\u00a0'),
      x86.replace('nt!MmAccessFault', 'n\u2003t!MmAccessFault'),
      x86Numbered.replace('y.c', 'ÿ\u0130.c'),
    ];
    for (const output of outputs) {
      const { text, from, to } = embedded(output);
      check(new StackTable(), text, from, to);
    }
    // A log that holds `…` elsewhere (a string of two-byte characters) around plain outputs.
    const table = new StackTable();
    for (const layout of layouts) {
      const { text, from, to } = embedded(layout);
      const wide = `… ${text}`;
      expect(check(table, wide, from + 2, to + 2)).toBe(false);
    }
  });
});

describe('many frames in one table', () => {
  test('frame records across many blocks, with large outputs falling back across block ends', () => {
    const outputs = COMMAND_FIXTURES.flatMap((name) => stackOutputs(fixture(name)));
    const pieces: string[] = [];
    const spans: { from: number; to: number; output: string }[] = [];
    let length = 0;
    const add = (output: string): void => {
      pieces.push(output, '\n');
      spans.push({ from: length, to: length + output.length, output });
      length += output.length + 1;
    };
    // A long x64 stack (thousands of frames) whose last line has an offset too big for a column.
    const frame = (index: number): string => `${(index & 0xff).toString(16).padStart(2, '0')} fffff801\`6b2d${(index & 0xffff).toString(16).padStart(4, '0')} fffff801\`6b3c1b2f     nt!F${index}+0x${index.toString(16)}`;
    const long = (count: number, huge: boolean): string =>
      [' # Child-SP          RetAddr           Call Site', ...Array.from({ length: count }, (_, index) => frame(index)), ...(huge ? [`ff fffff801\`6b2d0000 fffff801\`6b3c1b2f     nt!Huge+0x${'f'.repeat(12)}`] : [])].join('\n');
    for (let round = 0; round < 12; round++) {
      outputs.forEach((output) => add(output));
      add(long(3000, round % 3 === 1));
    }
    const log = pieces.join('');
    const table = new StackTable();
    const rows = spans.map(({ from, to }) => table.scan(log, from, to, 'kb'));
    const kept = rows.filter((row) => row !== FALLBACK);
    expect(rows.filter((row) => row === FALLBACK).length).toBe(4);
    expect(kept).toEqual(kept.map((_, index) => index));
    let frames = 0;
    rows.forEach((row, index) => {
      if (row === FALLBACK) return;
      const result = table.result(log, row);
      frames += result.frames.length;
      expect(JSON.stringify(result)).toBe(JSON.stringify(parseStack(spans[index]!.output)));
    });
    // Enough frames for several blocks of records.
    expect(frames).toBeGreaterThan(3 * 8192);
  });
});
