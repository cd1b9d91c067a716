import { describe, expect, test } from 'vitest';
import { kindForCommand, parseAuto, prepareTranscript, stripTranscriptHeader, unquoteTranscript } from '../../src/kd/auto.js';
import type { BreakResult } from '../../src/kd/break.js';
import { KdParseError } from '../../src/kd/common.js';
import type { MemoryResult } from '../../src/kd/memory.js';
import type { VersionResult } from '../../src/kd/version.js';
import { fixture } from './fixture-b.js';

// A session log assembled from real transcripts, in an order a hunt would produce.
const LOG = [
  fixture('vertarget-win10-x64-2.txt'),
  fixture('poolused-win10x-x64-1.txt'),
  fixture('db-unknown-x86-1.txt'),
  fixture('poolhittag-win7-x86-1.txt'),
  fixture('dd-win10-x64-1.txt'),
  fixture('lm-win10-x64-1.txt'),
  '0: kd> dd nt!PoolHitTagg L1',
  "Couldn't resolve error at 'nt!PoolHitTagg'",
].join('\n');

describe('parse auto on an assembled log', () => {
  const result = parseAuto(LOG);
  const commands = result.entries.map((entry) => entry.command);

  test('splits at every prompt, keeping commands in order', () => {
    expect(commands).toEqual([
      'vertarget', '!poolused 2', "ed nt!poolhittag ' cbA'", 'db nt!poolhittag L4', 'ed nt!poolhittag 0', 'g', 'kvn', 'dd nt!kd_DEFAULT_MASK', 'lm', 'dd nt!PoolHitTagg L1',
    ]);
    expect(result.entries.map((entry) => entry.kind)).toEqual(['vertarget', 'poolused', undefined, 'db', undefined, 'break', 'stack', 'dd', 'lm', 'dd']);
    expect(result.entries[5]).toMatchObject({ processor: 1, prompt: '1: kd> ' });
  });

  test('each output parsed by its own parser', () => {
    expect((result.entries[0].result as VersionResult).os?.build).toBe(9926);
    const poolused = result.entries[1].result as unknown as { rows: { tag: string }[] };
    expect(poolused.rows.length).toBeGreaterThan(3);
    expect((result.entries[3].result as MemoryResult).ascii).toBe('Abc ');
    expect((result.entries[5].result as BreakResult).events[0].location?.function).toBe('ExAllocatePoolWithTag');
    const stack = result.entries[6].result as unknown as { frames: { module: string; function?: string }[] };
    expect(stack.frames[4]).toMatchObject({ module: 'Sample', function: 'DriverEntry' });
    expect((result.entries[7].result as MemoryResult).values?.[0]).toBe('ffffffff');
  });

  test("kd's error reply is typed and its dump is a parse error, so the log is incomplete", () => {
    const last = result.entries[9];
    expect(last.error).toMatchObject({ kind: 'resolve', subject: 'nt!PoolHitTagg' });
    expect(last.parseError?.code).toBe('KD_PARSE_ERROR');
    expect(result.complete).toBe(false);
  });

  test('the output of each entry is exactly the lines between its prompt and the next', () => {
    expect(result.entries[3].output).toBe('820f2ba4  41 62 63 20           Abc  ');
    expect(result.entries[2].output).toBe('');
  });
});

describe('parse auto details', () => {
  test('text before the first prompt is parsed as a banner', () => {
    const result = parseAuto(fixture('banner-win7-x64-1.txt'));
    expect(result.entries[0]).toMatchObject({ command: '', kind: 'banner' });
    expect((result.entries[0].result as VersionResult).os?.build).toBe(7601);
    expect(result.entries.slice(1).map((entry) => entry.command)).toEqual(['!kuser', 'dt _KUSER_SHARED_DATA fffff78000000000']);
  });

  test('an empty prompt repeats the last command (kd Enter)', () => {
    const result = parseAuto(fixture('step-win10-x64-1.txt'));
    const repeated = result.entries.filter((entry) => entry.repeated);
    expect(repeated).toHaveLength(8);
    expect(repeated.every((entry) => entry.command === 't' && entry.kind === 'break')).toBe(true);
  });

  test('a stop inside a non-go command is still read as a stop', () => {
    const result = parseAuto(fixture('breakin-winxp-x86-1.txt'));
    expect(result.entries[0]).toMatchObject({ command: '.sleep 10000', kind: 'break' });
  });

  test('a log with no prompt is a KdParseError', () => {
    expect(() => parseAuto('just some text')).toThrow(KdParseError);
  });

  test.each([
    ['kvn', 'stack'], ['kb 20', 'stack'], ['k', 'stack'], ['!poolused 2', 'poolused'], ['!poolfind Abc 0', 'poolfind'], ['dd nt!PoolHitTag L1', 'dd'],
    ['u nt!ExAllocatePoolWithTag', 'u'], ['ub @rip', 'u'], ['.reload /f nt', 'reload'], ['g', 'break'], ['t', 'break'], ['.reboot', 'break'],
    ['lmvm Driver', 'lm'], ['!gflag +ptg', 'gflag'], ['vertarget', 'vertarget'], ['ed nt!PoolHitTag 0', undefined], ['kill', undefined], ['go', undefined],
  ])('%s → %s', (command, kind) => {
    expect(kindForCommand(command)).toBe(kind);
  });
});

describe('transcript preparation', () => {
  test('a fixture header is removed, other text kept', () => {
    expect(stripTranscriptHeader('# source: x\n# note: y\n# ---\nkd> g\n')).toBe('kd> g\n');
    expect(stripTranscriptHeader(' # Child-SP\n00 ...')).toBe(' # Child-SP\n00 ...');
    expect(stripTranscriptHeader('# source: x\nno end marker')).toBe('# source: x\nno end marker');
  });

  test('a shared quoting prefix is undone only when every line has it', () => {
    expect(unquoteTranscript('    // lkd> !gflag\n    // Current NtGlobalFlag contents: 0x00000000\n')).toBe('lkd> !gflag\nCurrent NtGlobalFlag contents: 0x00000000\n');
    expect(unquoteTranscript('> a\n> b')).toBe('a\nb');
    expect(unquoteTranscript('> a\nb')).toBe('> a\nb');
    expect(prepareTranscript('# source: x\n# ---\n// kd> g\n// Breakpoint 0 hit')).toBe('kd> g\nBreakpoint 0 hit');
  });
});
