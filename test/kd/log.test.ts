// The scanned log (src/kd/log.ts) must say exactly what the object parsers say: prompts as
// matchPrompt reads them, kd's error replies as parseKdError finds them, stops as the stop-line
// regex finds them, and every output's result as its kind's object parser returns it.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { tryParseBreak } from '../../src/kd/break.js';
import { matchKdErrorLine, parseKdError } from '../../src/kd/errors.js';
import { getParser } from '../../src/kd/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoResultJson, mayBeErrorReply, readKdLogFile, scanKdLog } from '../../src/kd/log.js';
import { matchPrompt } from '../../src/kd/prompt.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import { fixture, fixtureNames } from './fixture-b.js';

// Every fixture that is a log of commands (it has a prompt), header removed.
const LOGS = fixtureNames('')
  .filter((name) => name.endsWith('.txt'))
  .map((name) => ({ name, text: fixture(name) }))
  .filter(({ text }) => /^\s{0,2}(?:\d{1,3}: ?)?l?[kK]d> /m.test(text));

// A log made of fixtures in random order, each damaged a little: lines dropped, doubled, cut,
// characters replaced with ones kd's formats care about.
function mutatedLog(seed: number, pieces: number): string {
  // Seeded, so a failing log can be rebuilt.
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const noise = ['', ' ', '  ', '...', '^ Syntax error in \'kb x\'', 'Unable to get thread context', 'Breakpoint 3 hit', '*** Fatal System Error: 0x000000d1', 'Break instruction exception - code 80000003 (first chance)', 'kd> ', '0: kd> g', 'WARNING: Stack unwind information not available. Following frames may be wrong.', '\t', 'No export poolused found', 'Couldn\'t resolve error at \'nt!Foo\''];
  const parts: string[] = [];
  for (let index = 0; index < pieces; index++) {
    const lines = pick(LOGS).text.split('\n');
    const out: string[] = [];
    for (const line of lines) {
      const roll = random();
      if (roll < 0.03) continue;
      if (roll < 0.05) out.push(line, line);
      else if (roll < 0.07) out.push(line.slice(0, Math.floor(random() * line.length)));
      else if (roll < 0.09) out.push(pick(noise));
      else if (roll < 0.12 && line.length > 0) {
        const at = Math.floor(random() * line.length);
        out.push(line.slice(0, at) + pick(['0', 'f', ' ', '`', '!', '+', ':', '(', ')', 'x', '\t', 'Z']) + line.slice(at + 1));
      } else out.push(line);
    }
    parts.push(out.join('\n'));
  }
  return parts.join('\n');
}

// Every line quoted with `prefix` (a final empty line, after the last line break, is not a line).
function quoted(text: string, prefix: string): string {
  return text.split('\n').map((line, index, all) => (index === all.length - 1 && line === '' ? line : prefix + line)).join('\n');
}

// Every entry of the scanned log against its kind's parser run on the entry's output alone.
function entriesAgreeWithParsers(text: string): number {
  const log = scanKdLog(text);
  let checked = 0;
  for (let index = 0; index < log.size; index++) {
    const kind = log.kind(index);
    const result = log.result(index);
    if (kind === undefined || result === undefined) continue;
    const command = log.command(index);
    const alone = kind === 'break' ? tryParseBreak(log.output(index), { command: command === '' ? undefined : command }) : getParser(kind)!.parse(log.output(index));
    expect(JSON.stringify(result), `${kind} at line ${log.line(index)}`).toBe(JSON.stringify(alone));
    checked++;
  }
  return checked;
}

describe('scanKdLog: every result is what its kind\'s parser makes of the output alone', () => {
  test.each(LOGS.map(({ name }) => name))('%s', (name) => {
    entriesAgreeWithParsers(fixture(name));
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('mutated log of 40 fixtures, seed %i', (seed) => {
    expect(entriesAgreeWithParsers(mutatedLog(seed, 40))).toBeGreaterThan(20);
  });

  test('a CRLF log and one quoted as a mail reply read as the plain log', () => {
    // A log without carriage returns of its own, so that CRLF line ends are the only ones.
    const log = mutatedLog(11, 10).replace(/\r/g, '');
    const plain = JSON.stringify(scanKdLog(log).toAutoResult());
    expect(JSON.stringify(scanKdLog(log.replace(/\n/g, '\r\n')).toAutoResult())).toBe(plain);
    expect(JSON.stringify(scanKdLog(quoted(log, '> ')).toAutoResult())).toBe(plain);
  });

  test('parseAuto is the scanned log in object form', () => {
    const text = mutatedLog(21, 15);
    expect(JSON.stringify(parseAuto(text))).toBe(JSON.stringify(scanKdLog(text).toAutoResult()));
  });
});

describe('autoResultJson', () => {
  test.each([2, undefined, 4])('pieces joined are JSON.stringify of the object form (indent %s)', (indent) => {
    for (const text of [mutatedLog(41, 12), fixture('kb-win7-x86-1.txt'), 'kd> g']) {
      const result = scanKdLog(text).toAutoResult();
      const json = autoResultJson(result, indent);
      const pieces = [json.open, ...result.entries.map((entry, index) => json.entry(entry, index === 0)), json.close(result.entries.length === 0)];
      expect(pieces.join('')).toBe(JSON.stringify(result, null, indent));
    }
  });

  test('an empty result', () => {
    const json = autoResultJson({ complete: true, unparsed: [] }, 2);
    expect(json.open + json.close(true)).toBe(JSON.stringify({ complete: true, unparsed: [], entries: [] }, null, 2));
  });
});

describe('readKdLogFile', () => {
  test('a file read as a stream in small pieces gives what scanKdLog gives for its text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-log-'));
    try {
      for (const [name, text] of [['plain', mutatedLog(51, 30)], ['crlf', mutatedLog(52, 10).replace(/\r/g, '').replace(/\n/g, '\r\n')], ['quoted', quoted(mutatedLog(53, 10), '// ')], ['header', `# source: somewhere\n# ---\n${mutatedLog(54, 5)}`]] as const) {
        const path = join(dir, `${name}.log`);
        writeFileSync(path, text);
        const entries: unknown[] = [];
        const summary = await readKdLogFile(path, (entry) => entries.push(entry));
        expect(JSON.stringify({ ...summary, entries }), name).toBe(JSON.stringify(scanKdLog(text).toAutoResult()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a file without any prompt is rejected as scanKdLog rejects it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-log-'));
    try {
      writeFileSync(join(dir, 'notes.txt'), 'just some text\n');
      await expect(readKdLogFile(join(dir, 'notes.txt'), () => {})).rejects.toThrow(/No kd prompt found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scanKdLog: entries', () => {
  const text = ['Connected to Windows XP 2600 x86 compatible target at (Wed Jan 1 00:00:00.000 2020 (UTC - 0:00)), ptr64 FALSE', 'Kernel Version 2600 MP (1 procs) Free x86 compatible', '1: kd> kb', 'ChildEBP RetAddr  Args to Child', 'f7a3bc44 804f9c39 00000000 00000000 00000000 nt!KeBugCheckEx+0x1b', '1: kd> ', 'ChildEBP RetAddr  Args to Child', '0: kd> dd nt!Nothing', "Couldn't resolve error at 'nt!Nothing'", 'kd> .sleep 100', 'Break instruction exception - code 80000003 (first chance)', 'kd> g'].join('\n');
  const log = scanKdLog(text);

  test('the banner before the first prompt, prompts, processors and a repeated command', () => {
    expect(log.size).toBe(6);
    expect([log.prompt(0), log.kind(0), log.line(0)]).toEqual([undefined, 'banner', 1]);
    expect([log.prompt(1), log.command(1), log.line(1), log.kind(1)]).toEqual(['1: kd> ', 'kb', 3, 'stack']);
    expect([log.prompt(2), log.command(2), log.entry(2).repeated, log.entry(2).processor]).toEqual(['1: kd> ', 'kb', true, 1]);
  });

  test('outputs are the lines between prompts, an error reply carries its line in the output', () => {
    expect(log.output(1)).toBe('ChildEBP RetAddr  Args to Child\nf7a3bc44 804f9c39 00000000 00000000 00000000 nt!KeBugCheckEx+0x1b');
    expect(log.error(3)).toEqual({ kind: 'resolve', subject: 'nt!Nothing', message: "Couldn't resolve error at 'nt!Nothing'", line: 1 });
    expect(log.output(5)).toBe('');
  });

  test('a stop in the output of a command without a parser makes it a break', () => {
    expect([log.command(4), log.kind(4)]).toEqual(['.sleep 100', 'break']);
    expect(log.entry(4).result).toMatchObject({ events: [{ kind: 'breakpoint', code: '80000003' }] });
  });

  test('a log without any prompt is rejected as parseAuto rejects it', () => {
    expect(() => scanKdLog('just some text\nno prompt here\n')).toThrow(/No kd prompt found/);
  });
});

describe('the cheap line tests never miss what the regexes find', () => {
  // Lines from pieces that the recognisers look for, glued in any order.
  const pieces = ['kd>', 'Kd>', 'lkd>', 'lKd>', '0', '12', '123', ':', ': ', ':000', ':x86', '>', ' ', '  ', '\t', '\u00a0', 'k', 'd', 'l', 'x', '^ ', "'", 'error', ' error in ', " at '", 'Syntax', 'Couldn\'t resolve', 'No export', ' found', 'Unable to get', ' is not extension gallery command', 'Numeric expression missing from', 'Breakpoint ', ' hit', '*** Fatal System Error: 0x', 'c000021a', ' - code ', '80000003', ' (first chance)', ' (second chance)', ')', 'B', '*', '\r'];
  const lines = fc.array(fc.constantFrom(...pieces), { maxLength: 9 }).map((parts) => parts.join(''));

  test('readPrompt (through scanKdLog) reads each prompt line as matchPrompt does', () => {
    fc.assert(
      fc.property(lines, (line) => {
        const promptLine = line.replace(/\r/g, '');
        const expected = matchPrompt(promptLine.replace(/^ {1,2}(?=\S)/, ''));
        let got: { prompt?: string; processor?: number; command: string } | undefined;
        try {
          const entry = scanKdLog(`${promptLine}\nkd> ver`).entry(0);
          got = entry.prompt === undefined ? undefined : { prompt: entry.prompt, processor: entry.processor, command: entry.command };
        } catch {
          got = undefined;
        }
        if (!expected) return got === undefined || got.command === 'ver';
        return got !== undefined && got.prompt === expected.prompt && got.processor === expected.processor && got.command === expected.command;
      }),
      { numRuns: 4000, seed: 8 },
    );
  });

  test('mayBeErrorReply holds for every line matchKdErrorLine accepts', () => {
    fc.assert(
      fc.property(lines, (line) => matchKdErrorLine(line) === undefined || mayBeErrorReply(line, 0, line.length)),
      { numRuns: 20000, seed: 9 },
    );
    for (const reply of ["Couldn't resolve error at 'x'", "  ^ Syntax error in 'kb x'  ", 'No export poolused found', 'poolused is not extension gallery command', 'Unable to get thread context', "Numeric expression missing from '<EOL>'", "Memory access error at ')'"]) {
      expect(matchKdErrorLine(reply)).toBeDefined();
      expect(mayBeErrorReply(reply, 0, reply.length)).toBe(true);
    }
  });

  test('the scanner finds an error reply in a one-line output exactly when parseKdError does', () => {
    fc.assert(
      fc.property(lines, (line) => {
        const output = line.replace(/\r/g, '');
        const log = scanKdLog(`kd> x\n${output}\nkd> g`);
        return JSON.stringify(log.error(0)) === JSON.stringify(parseKdError(log.output(0)));
      }),
      { numRuns: 20000, seed: 12 },
    );
  });

  test('errors found line by line are the ones parseKdError finds in the whole output', () => {
    for (const seed of [31, 32, 33]) {
      const log = scanKdLog(mutatedLog(seed, 30));
      for (let index = 0; index < log.size; index++) expect(log.error(index)).toEqual(parseKdError(log.output(index)));
    }
  });
});
