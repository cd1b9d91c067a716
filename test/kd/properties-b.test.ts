import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { parseBreak } from '../../src/kd/break.js';
import { KdParseError } from '../../src/kd/common.js';
import { findTagImmediate, parseDisasm } from '../../src/kd/disasm.js';
import { findKdErrors } from '../../src/kd/errors.js';
import { parseGflag } from '../../src/kd/global-flags.js';
import { parseLm } from '../../src/kd/lm.js';
import { parseMemory } from '../../src/kd/memory.js';
import { findTrailingPrompt, matchPrompt } from '../../src/kd/prompt.js';
import { parseReload } from '../../src/kd/reload.js';
import { parseVersion } from '../../src/kd/version.js';
import { fixture, fixtureNames } from './fixture-b.js';

// Every part-B parser, as text → anything.
const PARSERS: readonly [string, (text: string) => unknown][] = [
  ['banner', (text) => parseVersion(text, 'banner')],
  ['vertarget', (text) => parseVersion(text, 'vertarget')],
  ['memory', (text) => parseMemory(text)],
  ['db', (text) => parseMemory(text, 1)],
  ['dq', (text) => parseMemory(text, 8)],
  ['u', (text) => findTagImmediate(parseDisasm(text).instructions, 'x64')],
  ['gflag', (text) => parseGflag(text)],
  ['break', (text) => parseBreak(text)],
  ['reload', (text) => parseReload(text)],
  ['lm', (text) => parseLm(text)],
  ['auto', (text) => parseAuto(text)],
  ['errors', (text) => findKdErrors(text)],
  ['prompt', (text) => [matchPrompt(text), findTrailingPrompt(text)]],
];

const FIXTURES = fixtureNames('banner', 'vertarget', 'version', 'db', 'dd', 'dq', 'dc', 'gflag', 'break', 'bphit', 'reload', 'ed', 'poolhittag', 'lm', 'step').map((name) => fixture(name));

// Run a parser; only KdParseError may escape.
function runTolerant(parse: (text: string) => unknown, text: string): void {
  try {
    parse(text);
  } catch (error) {
    if (!(error instanceof KdParseError)) throw error;
  }
}

// Damage applied to a real transcript: drop, repeat or cut lines, insert noise.
const mutation = fc.oneof(
  fc.record({ kind: fc.constantFrom('drop', 'duplicate', 'truncate'), at: fc.nat(), text: fc.constant('') }),
  fc.record({
    kind: fc.constant('insert'),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('`', '??', '-', ' - code ', '0: kd> ', '(0x', ':', '\r\n', '  ', '*** ', 'Kernel Version ', '+0x', '!', '......'),
    ),
  }),
);

// Apply the mutations in order, positions taken modulo the current size.
function mutate(text: string, changes: { kind: string; at: number; text: string }[]): string {
  let result = text;
  for (const change of changes) {
    const lines = result.split('\n');
    const line = change.at % Math.max(lines.length, 1);
    if (change.kind === 'drop') lines.splice(line, 1);
    else if (change.kind === 'duplicate') lines.splice(line, 0, lines[line] ?? '');
    else if (change.kind === 'truncate') {
      result = result.slice(0, change.at % (result.length + 1));
      continue;
    } else {
      const at = change.at % (result.length + 1);
      result = result.slice(0, at) + change.text + result.slice(at);
      continue;
    }
    result = lines.join('\n');
  }
  return result;
}

describe.each(PARSERS)('%s parser robustness', (_name, parse) => {
  test('random text raises nothing but KdParseError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => runTolerant(parse, text)), { numRuns: 150 });
  });

  test('mutated real transcripts raise nothing but KdParseError', () => {
    fc.assert(
      fc.property(fc.nat(FIXTURES.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), (index, changes) => runTolerant(parse, mutate(FIXTURES[index], changes))),
      { numRuns: 120 },
    );
  });
});

// Inputs built to make a backtracking regex explode, and realistic bulk.
function hostileInputs(size: number): Record<string, string> {
  const repeat = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  return {
    realistic: repeat(`${FIXTURES.join('\n')}\n`),
    hexRun: repeat('a'),
    hexWithBackticks: `fffff800\`00000000  ${repeat('0`')}Z`,
    versionWords: `Windows ${repeat('Kernel Version 1 ')}`,
    connected: `Connected to Windows ${repeat('10 ')} targ`,
    digitsAndSpaces: `Arguments ${repeat('0 ')}Z`,
    bugcheckArgs: `(${repeat('0x1,')}`,
    promptLike: repeat('0: kd> '),
    quotes: `Couldn't resolve error at '${repeat("'")}`,
    symbols: `${repeat('a!b+0x1')}:`,
    spaces: `x${repeat(' ')}y`,
    dotsAndText: repeat('.Unable to read image header for x at 1 - NTSTATUS 0x1'),
    manyLines: repeat('fffff801`10bb1410 4883ec48        sub     rsp,48h\n'),
  };
}

// Size and shape, not speed: every hostile input is read whole, at 100 KB and 1 MB, with nothing
// but KdParseError escaping. How time grows with size is a benchmark figure (`npm run bench`,
// scaling), never a test: no test depends on how fast the machine is.
describe('large and hostile inputs', () => {
  const small = hostileInputs(100 * 1024);
  const big = hostileInputs(1024 * 1024);
  test.each(PARSERS)('%s: every hostile input, 100 KB and 1 MB', (_name, parse) => {
    for (const text of [...Object.values(small), ...Object.values(big)]) runTolerant(parse, text);
  });
});
