// The in-place readers parseAuto uses (offsets into the whole log, names interned per log) must
// give exactly what the string parsers give for the same output, and their helpers must agree
// with the JavaScript built-ins they stand in for.
import { describe, expect, test } from 'vitest';
import { NO_STOP_MESSAGE, parseBreak, tryParseBreak } from '../../src/kd/break.js';
import { isTrimSpace, KdParseError, normalizeAddress, splitLines, StringPool } from '../../src/kd/common.js';
import { parsePoolused, parsePoolusedAt } from '../../src/kd/poolused.js';
import { matchPrompt, readPrompt } from '../../src/kd/prompt.js';
import { parseStack, parseStackAt } from '../../src/kd/stack.js';
import { fixture, fixtureNames } from './fixture-b.js';

// Embed an output in a larger text, so that reading it in place must respect both ends.
function embedded(output: string): { text: string; from: number; to: number } {
  const before = 'kd> !process 0 0\nPROCESS 89a5b020  SessionId: none  Cid: 0004\n0: kd> kb\n';
  const after = '\n0: kd> g\nBreakpoint 0 hit\n';
  return { text: before + output + after, from: before.length, to: before.length + output.length };
}

// The outcome of a parse: its result, or the error's class and message.
function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (error) {
    return { threw: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe('stacks read in place', () => {
  const names = fixtureNames('k-', 'kb', 'kc', 'kn', 'kp', 'kv', 'thread', 'process', 'analyze');

  test.each(names)('%s: parseStackAt equals parseStack of the same output, key order included', (name) => {
    const output = fixture(name);
    const { text, from, to } = embedded(output);
    const inPlace = outcome(() => parseStackAt(text, from, to, new StringPool()));
    expect(JSON.stringify(inPlace)).toBe(JSON.stringify(outcome(() => parseStack(output))));
  });

  test('a CRLF output and one ending in a line break read the same as parseStack', () => {
    const output = `${fixture('kb-win7-x86-1.txt').replace(/\n/g, '\r\n')}\r\n`;
    const { text, from, to } = embedded(output);
    expect(JSON.stringify(parseStackAt(text, from, to, new StringPool()))).toBe(JSON.stringify(parseStack(output)));
  });

  test('with one pool for a whole log, a repeated stack reads the same both times and the pool hands out the name read', () => {
    const output = fixture('kn-win10-x64-1.txt');
    const twice = `${output}\n${output}`;
    const pool = new StringPool();
    const frames = parseStackAt(twice, 0, twice.length, pool).frames;
    const half = frames.length / 2;
    expect(frames[0]!.function).toBe('KiSwapContext');
    expect(frames.length).toBe(14);
    expect(frames.slice(half)).toEqual(frames.slice(0, half));
    expect(pool.take(twice, twice.indexOf('KiSwapContext'), twice.indexOf('KiSwapContext') + 'KiSwapContext'.length)).toBe('KiSwapContext');
  });
});

describe('!poolused read in place', () => {
  test.each(fixtureNames('poolused'))('%s: parsePoolusedAt equals parsePoolused of the same output', (name) => {
    const output = fixture(name);
    const { text, from, to } = embedded(output);
    const inPlace = outcome(() => parsePoolusedAt(text, from, to, new StringPool()));
    expect(JSON.stringify(inPlace)).toBe(JSON.stringify(outcome(() => parsePoolused(output))));
  });
});

describe('break outputs without a stop', () => {
  test('tryParseBreak returns undefined where parseBreak throws, with the message parseAuto records', () => {
    const text = '[+] UserWriteWhatWhere: 0x00000000002CFD40\n[+] WRITE_WHAT_WHERE Size: 0x10';
    expect(tryParseBreak(text)).toBeUndefined();
    expect(() => parseBreak(text)).toThrow(KdParseError);
    expect(() => parseBreak(text)).toThrow(NO_STOP_MESSAGE);
  });

  test.each(fixtureNames('bphit', 'break', 'step'))('%s: tryParseBreak equals parseBreak (undefined exactly where it throws)', (name) => {
    const output = fixture(name);
    const tried = tryParseBreak(output, { command: 'g' });
    if (tried === undefined) expect(() => parseBreak(output, { command: 'g' })).toThrow(NO_STOP_MESSAGE);
    else expect(JSON.stringify(tried)).toBe(JSON.stringify(parseBreak(output, { command: 'g' })));
  });
});

describe('helpers agree with the built-ins they replace', () => {
  test('isTrimSpace is exactly what String.prototype.trim removes, for every UTF-16 code unit', () => {
    const wrong: number[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      if (isTrimSpace(code) !== (`${char}x`.trim() === 'x')) wrong.push(code);
    }
    expect(wrong).toEqual([]);
  });

  test('normalizeAddress takes its fast path only for text already in kd form', () => {
    expect(normalizeAddress('820f2ba4')).toBe('820f2ba4');
    expect(normalizeAddress('fffff800`02c438e8')).toBe('fffff80002c438e8');
    expect(normalizeAddress('FFFFF800`02C438E8')).toBe('fffff80002c438e8');
    expect(normalizeAddress('0x820F2BA4')).toBe('820f2ba4');
    expect(normalizeAddress(' 820f2ba4 ')).toBe('820f2ba4');
  });

  test('splitLines cuts CRLF and LF text alike and drops only an empty last line', () => {
    expect(splitLines('a\r\nb\n\r\nc\r')).toEqual(['a', 'b', '', 'c\r']);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('')).toEqual([]);
  });

  test('readPrompt reads a prompt in place inside a larger text as matchPrompt reads the line alone', () => {
    for (const line of ['kd> g', 'Kd> g', 'lkd> !process', '0: kd> kb', '12: kd>', '0:000> k', '1:002:x86> r', '00 826fb38c 82aed083 00000003', 'fffff801`10bb1410 4883ec48', ' Abc     12  1024', 'nt!KiSwapContext+0x76', '123: kd> g', 'kd>x']) {
      const text = `before\n${line}\nafter`;
      const read = readPrompt(text, 7, 7 + line.length);
      const match = matchPrompt(line);
      expect(read && { prompt: text.slice(7, read.end), flavor: read.flavor, processor: read.processor }, line).toEqual(match && { prompt: match.prompt, flavor: match.flavor, processor: match.processor });
    }
  });
});
