// The scanned form of disassembly (src/kd/disasm-columns.ts) must give exactly what parseDisasm
// gives (src/kd/disasm.ts, JSON key order included) for every output it keeps, and must give up
// (FALLBACK, nothing kept) where it cannot or where parseDisasm throws — never a different
// answer, never a throw: on the real `u` outputs, embedded in a larger log; on instruction lines
// from every fixture; on thousands of damaged outputs; on the reliability tests' hostile inputs;
// and with many outputs in one table.
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FALLBACK } from '../../src/kd/columns.js';
import { isSymbolLabel, parseDisasm, parseInstructionLine } from '../../src/kd/disasm.js';
import { DisasmTable } from '../../src/kd/disasm-columns.js';
import { matchPrompt } from '../../src/kd/prompt.js';
import { kindForCommand } from '../../src/kd/transcript.js';
import { damaged, damages, embedder, equalOrFallback, hostileInserts, inserted, referenceOf, scanChecked } from './columns-harness.js';
import { fixture, fixtureNames } from './fixture-b.js';

// The `u` outputs of a kd text, split at its prompts as the log scanner splits them.
function disassemblies(text: string): string[] {
  const found: string[] = [];
  let current: string[] | undefined;
  const close = (): void => {
    if (current) found.push(current.join('\n'));
  };
  for (const line of text.split('\n')) {
    const prompt = matchPrompt(line.trimStart());
    if (prompt) {
      close();
      current = kindForCommand(prompt.command) === 'u' ? [] : undefined;
    } else current?.push(line);
  }
  close();
  return found;
}

// What parseDisasm gives for an output: the result's JSON, or undefined where it throws a
// KdParseError (any other error is a bug and fails the test).
const reference = referenceOf(parseDisasm, { coded: true });

// A disassembly placed in a larger log, with instructions on both sides.
const embedded = embedder('kd> !process 0 0\nfffff801`10bb1410 4883ec48        sub     rsp,48h\n0: kd> u rip\n', '\nfffff801`10bb1414 83f901          cmp     ecx,1\n0: kd> g\n');

// Scan an output embedded in a larger log; the result's JSON, or FALLBACK.
function scanned(output: string, table = new DisasmTable()): string | typeof FALLBACK {
  return scanChecked(table, embedded(output), 'u rip');
}

// The table agrees with the reference: equal JSON, or FALLBACK (always where the reference throws).
function agrees(output: string, table = new DisasmTable()): boolean {
  return equalOrFallback(table, embedded(output), 'u rip', reference(output));
}

const ALL_FIXTURES = fixtureNames('');
const REAL = ALL_FIXTURES.flatMap((name) => disassemblies(fixture(name)).map((output) => ({ name, output })));

// Runs of consecutive instruction and label lines in every fixture (stops, steps, `u`), each read
// as a disassembly: the shapes kd prints (segments, effective addresses, targets, labels) in bulk.
const BLOCKS = ALL_FIXTURES.flatMap((name) => {
  const blocks: string[] = [];
  let block: string[] = [];
  for (const line of fixture(name).split('\n')) {
    if (line.trim() !== '' && !matchPrompt(line.trim()) && (parseInstructionLine(line) || isSymbolLabel(line.trim()))) block.push(line);
    else if (block.length > 0) {
      blocks.push(block.join('\n'));
      block = [];
    }
  }
  if (block.length > 0) blocks.push(block.join('\n'));
  return blocks;
});

// Shapes beside the fixtures, each with the reading it tests.
const SHAPES: string[] = [
  // no opcode column, a branch target of 8 digits, a prefix joined by one space
  'a04c305c cmp     dword ptr [Sample!g_RegistryPath+0x4 (a04c500c)],0\n82a89110 int     3\n82a89111 rep movs dword ptr es:[edi],dword ptr [esi]',
  // a segment, an effective address, a long target, lock
  '0033:00007ffc`f604ba9c 85c0            test    eax,eax\nfffff880`03398b9b 498b1c24        mov     rbx,qword ptr [r12] ds:002b:00000000`002cfd40=4242424242424242\nfffff801`10bb1417 7430            je      nt!KeQueryIntervalProfile+0x39 (fffff801`10bb1449)\nfffff801`10bb1419 f0480fb10a      lock cmpxchg qword ptr [rdx],rcx',
  // labels of every kind, one left at the end (incomplete)
  'nt!KeQueryIntervalProfile:\nfffff801`10bb1410 4883ec48        sub     rsp,48h\nDriver+0x11b1:\n8a2b11b1 cc              int     3\nntoskrnl!_DbgBreakPointWithStatus+4:',
  // near-labels and near-instructions, kept as unparsed lines
  '!Foo:\nDriver+0x:\nDriver+0xg:\n+0x10:\nab:\nfffff801`10bb141 4883ec48 sub rsp,48h\nfffff801`10bb1410  sub rsp,48h\n0033:fffff801 cc int 3\nfffff801 cc byte ptr\nfffff801 cc\nfffff801 9090 ptr x\nwarning: something\n8a2b11b1 cc              int     3',
  // operand words, odd spacing, an upper-case bytes column, an instruction ending in a colon
  '8a2b11b1 cc byte ptr [eax],al\n8a2b11b2 CC int 3\n8a2b11b3   cc     int     3    \n8a2b11b4 cc nop    \n8a2b11b5 3e ds:\n8a2b11b6 6a50 push 50h ds:0023:00000000=??\n8a2b11b7 e8 call x (8a2b11b7) ds:0023:00000000`00000000=ff\n8a2b11b8 8b00 mov eax,dword ptr [eax] ds:0023:0=1\n8a2b11ba 8b00 mov eax,[eax] ds:0023:=1\n8a2b11bc 8b00 mov eax,[eax]  ds:0023:1=',
  // a prefix set apart by two spaces (left to the reference), a label with a blank
  '82a89111 rep  movs dword ptr es:[edi],dword ptr [esi]',
  'nt! Foo:\n82a89110 int     3',
  // what the fast path does not read
  'fffff801`10bb1410 4883ec48        sub     rsp,48h\r\nfffff801`10bb1414 83f901          cmp     ecx,1',
  'fffff801`10bb1410 4883ec48\tsub     rsp,48h',
  'fffff801`10bb1410 4883ec48        sub     rsp,48h ; é',
  '0: kd> u rip\nfffff801`10bb1410 4883ec48        sub     rsp,48h',
  // nothing disassembled
  "Couldn't resolve error at 'nt!Nope'",
  '',
  '\n  \n',
  'nt!Foo:',
];

describe('real disassembly', () => {
  test('the fixtures hold `u` outputs with and without labels', () => {
    expect(REAL.length).toBeGreaterThanOrEqual(2);
    expect(REAL.some(({ output }) => /!\w+\+0x8:/.test(output))).toBe(true);
    expect(BLOCKS.length).toBeGreaterThanOrEqual(20);
  });

  test.each(REAL.map(({ name, output }, index) => [`${name} #${index}`, output] as const))('%s: read without falling back, equal to parseDisasm', (_name, output) => {
    const got = scanned(output);
    expect(got).not.toBe(FALLBACK);
    expect(got).toBe(reference(output));
  });

  test('known values come through: label, bytes, the 9-byte opcode, a normalised address', () => {
    const step = REAL.find(({ name }) => name.startsWith('step'))!.output;
    const result = JSON.parse(scanned(step) as string);
    expect(result.instructions).toHaveLength(8);
    expect(result.instructions[3]).toEqual({ address: '000000032b2f0009', bytes: '65488b042588010000', mnemonic: 'mov', operands: 'rax,qword ptr gs:[188h]' });
    const dq = REAL.find(({ name }) => name.startsWith('dq'))!.output;
    expect(JSON.parse(scanned(dq) as string).instructions[0]).toEqual({ address: 'fffff8009c1907d8', bytes: '90', mnemonic: 'nop', operands: '', symbol: 'nt!HalDispatchTable+0x8' });
  });

  test('instruction blocks from every fixture (stops, steps) agree, and nearly all are read', () => {
    let fast = 0;
    for (const block of BLOCKS) if (agrees(block)) fast++;
    expect(fast).toBeGreaterThanOrEqual(BLOCKS.length * 0.9);
  });

  test('the shapes beside the fixtures agree, with the values they show', () => {
    let fast = 0;
    for (const shape of SHAPES) if (agrees(shape)) fast++;
    expect(fast).toBeGreaterThanOrEqual(6);
    const second = JSON.parse(scanned(SHAPES[1]!) as string).instructions;
    expect(second[0]).toEqual({ address: '00007ffcf604ba9c', bytes: '85c0', mnemonic: 'test', operands: 'eax,eax', segment: '0033' });
    expect(second[1]).toMatchObject({ operands: 'rbx,qword ptr [r12]', effectiveAddress: 'ds:002b:00000000`002cfd40=4242424242424242' });
    expect(second[2]).toMatchObject({ target: 'fffff80110bb1449' });
    expect(second[3]).toMatchObject({ mnemonic: 'lock cmpxchg', operands: 'qword ptr [rdx],rcx' });
    const labels = JSON.parse(scanned(SHAPES[2]!) as string);
    expect(labels.complete).toBe(false);
    expect(labels.instructions.map((instruction: { symbol?: string }) => instruction.symbol)).toEqual(['nt!KeQueryIntervalProfile', 'Driver+0x11b1']);
    for (const index of [7, 8, 9, 10, 11, 12, 13, 14]) expect(scanned(SHAPES[index]!)).toBe(FALLBACK);
  });

  test('a range outside the text falls back instead of throwing', () => {
    const table = new DisasmTable();
    expect(table.scan('abc', 2, 1, 'u')).toBe(FALLBACK);
    expect(table.scan('abc', -1, 2, 'u')).toBe(FALLBACK);
    expect(table.scan('abc', 0, 9, 'u')).toBe(FALLBACK);
    expect(table.size).toBe(0);
  });
});

describe('several outputs in one table', () => {
  test('results stay independent, and a fallback between them keeps the earlier ones intact', () => {
    const outputs = [...REAL.map(({ output }) => output), SHAPES[1]!, "Couldn't resolve error at 'nt!Nope'", SHAPES[2]!, ...BLOCKS.filter((block) => reference(block) !== undefined).slice(0, 20), SHAPES[7]!, REAL[0]!.output];
    let log = '';
    const spans: [number, number][] = [];
    for (const output of outputs) {
      log += '0: kd> u\n';
      spans.push([log.length, log.length + output.length]);
      log += `${output}\n`;
    }
    const table = new DisasmTable();
    const rows = spans.map(([from, to]) => table.scan(log, from, to, 'u'));
    expect(rows.filter((row) => row === FALLBACK)).toHaveLength(2);
    expect(rows.filter((row) => row >= 0)).toEqual([...Array(outputs.length - 2).keys()]);
    spans.forEach(([from, to], index) => {
      if (rows[index] === FALLBACK) return;
      expect(JSON.stringify(table.result(log, rows[index]!))).toBe(JSON.stringify(parseDisasm(log.slice(from, to))));
    });
  });
});

// Pieces and whole lines kd logs show, for the damage to insert.
const PIECES = ['`', ' ', '  ', ':', '!', '+0x', '+', '(', ')', '(fffff801`10bb1449)', '(8a2b11b7)', ' ds:002b:00000000`002cfd40=42', '=', '?', 'rep ', 'lock ', 'ptr ', 'byte ', '0033:', 'kd> ', '0: kd> ', '\t', '\r', 'é', 'A', '9'];
const LINES = [
  '',
  '   ',
  'nt!KeQueryIntervalProfile+0x4:',
  'Driver+0x11b1:',
  'HEVD!TriggerArbitraryWrite:',
  '0033:00007ffc`f604ba9c 85c0            test    eax,eax',
  'fffff880`03398b9b 498b1c24        mov     rbx,qword ptr [r12] ds:002b:00000000`002cfd40=4242424242424242',
  'fffff801`10bb1417 7430            je      nt!KeQueryIntervalProfile+0x39 (fffff801`10bb1449)',
  '82a89111 rep movs dword ptr es:[edi],dword ptr [esi]',
  '82a89110 int     3',
  'WARNING: Unable to verify timestamp for nt',
  '^ Syntax error in \'u foo\'',
];

// One damage done to an output: line edits, character edits and the insertions kd logs show.
const damage = damages(
  { weight: 3, ops: ['drop', 'duplicate', 'blank', 'strip', 'widen', 'crlf'] },
  { weight: 4, ops: ['truncateAtValue', 'printable', 'hex'], value: true },
  { weight: 3, ops: ['insert'], text: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 })) },
  { weight: 2, ops: ['line'], text: fc.constantFrom(...LINES) },
  { weight: 1, ops: ['swap'], other: true },
);

const SEEDS = [...REAL.map(({ output }) => output), ...BLOCKS.filter((block) => block.includes('\n')).slice(0, 40), ...SHAPES.slice(0, 6)];

describe('damaged and hostile disassembly', () => {
  test('thousands of seeded mutations: equal to parseDisasm wherever kept, and mostly kept', () => {
    const table = new DisasmTable();
    let kept = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(damage, { minLength: 1, maxLength: 4 }), (seed, changes) => {
        runs++;
        if (agrees(damaged(seed, changes), table)) kept++;
      }),
      { numRuns: 4000, seed: 0x7001 },
    );
    // Most damage keeps a readable disassembly; a regression to falling back on everything shows here.
    expect(kept / runs).toBeGreaterThan(0.6);
  });

  test('the hostile edits of the reliability tests (random bytes, graphemes, control characters): equal or fallback', () => {
    const table = new DisasmTable();
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), hostileInserts, (seed, inserts) => {
        agrees(inserted(seed, inserts), table);
      }),
      { numRuns: 800, seed: 0x7002 },
    );
  });

  test('long lines and many lines are read in linear time and equal the parser', () => {
    const traps = (size: number): string[] => [
      `fffff801\`10bb1410 ${'ab'.repeat(size / 2)} nop`,
      `fffff801\`10bb1410 90 mov ${'a '.repeat(size / 2)}x`,
      `fffff801\`10bb1410 90 mov ${' '.repeat(size)}(fffff801\`10bb1449)`,
      `${'nt!Foo'.repeat(size / 6)}:`,
      `${'fffff801`10bb1410 4883ec48        sub     rsp,48h\n'.repeat(size / 50)}`,
    ];
    for (const trap of traps(20_000)) agrees(trap);
    const table = new DisasmTable();
    const time = (size: number): number => {
      const texts = traps(size);
      const started = performance.now();
      for (const text of texts) table.scan(text, 0, text.length, 'u');
      return performance.now() - started;
    };
    time(100_000);
    const small = Math.min(time(100_000), time(100_000));
    const large = Math.min(time(1_000_000), time(1_000_000));
    // Linear is 10×; quadratic would be 100×.
    expect(large).toBeLessThan(Math.max(small, 5) * 30);
  });
});
