import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { parseAuto, prepareTranscript } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { getParser, KD_PARSERS, listKinds, parseKind, UnknownKindError } from '../../src/kd/index.js';
import { fixture, fixturePath } from './fixture-b.js';

// One real fixture per kind, with a value its parser must find in it.
const SAMPLES: readonly [kind: string, fixtureName: string, check: (result: any) => void][] = [
  ['banner', 'banner-win10-x64-1.txt', (result) => expect(result.os.build).toBe(16299)],
  ['vertarget', 'vertarget-win7-x64-1.txt', (result) => expect(result.os.version).toBe('6.1.7601')],
  ['version', 'version-win7-x64-1.txt', (result) => expect(result.debugger.version).toBe('10.0.10586.567')],
  ['poolused', 'poolused-win10x-x64-1.txt', (result) => expect(result.rows.length).toBeGreaterThan(0)],
  ['poolfind', 'poolfind-win10x-x64-1.txt', (result) => expect(result.hits[0].tag).toBe('amda')],
  ['stack', 'kb-win7-x86-1.txt', (result) => expect(result.frames.length).toBeGreaterThan(3)],
  ['db', 'db-winxp-x86-1.txt', (result) => expect(result.bytes.slice(0, 2)).toEqual([0x4d, 0x5a])],
  ['dd', 'dd-win7-x86-1.txt', (result) => expect(result.values[1]).toBe('bad0b0b0')],
  ['dc', 'dc-win11-x64-1.txt', (result) => expect(result.ascii.endsWith('AAAA')).toBe(true)],
  ['memory', 'dd-win10-x64-1.txt', (result) => expect(result.unit).toBe(4)],
  ['gflags', 'gflags-unknown-na-2.txt', (result) => expect(result.value).toBe(0x2000000)],
  ['gflag', 'gflags-unknown-na-3.txt', (result) => expect(result.flags).toEqual(['hfc', 'hpc', 'hvc'])],
  ['break', 'break-win7-x86-1.txt', (result) => expect(result.events[0].bugcheck.code).toBe(0xc4)],
  ['reload', 'reload-winxp-x86-1.txt', (result) => expect(result.imageHeaderFailures).toHaveLength(10)],
  ['lm', 'lm-winxp-x86-1.txt', (result) => expect(result.modules[0].name).toBe('ntdll')],
  ['auto', 'ed-win7-x86-1.txt', (result) => expect(result.entries[1].result.values).toEqual(['64636261'])],
];

describe('kind registry', () => {
  test('lists every kind once, each with a description', () => {
    const kinds = listKinds();
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds).toEqual(expect.arrayContaining(['banner', 'vertarget', 'version', 'poolused', 'poolfind', 'stack', 'db', 'dd', 'dq', 'dc', 'u', 'gflag', 'gflags', 'break', 'reload', 'lm', 'auto']));
    for (const info of KD_PARSERS) expect(info.description.length).toBeGreaterThan(5);
  });

  test.each(SAMPLES)('%s parses %s', (kind, fixtureName, check) => {
    expect(getParser(kind)?.kind).toBe(kind);
    const result = parseKind(kind, fixture(fixtureName));
    expect(typeof result.complete).toBe('boolean');
    expect(Array.isArray(result.unparsed)).toBe(true);
    check(result);
  });

  test('every kind answers unrelated text with KdParseError, never another error', () => {
    for (const kind of listKinds()) {
      expect(() => parseKind(kind, 'The quick brown fox'), kind).toThrow(KdParseError);
    }
  });

  test('unknown kinds have their own error', () => {
    expect(() => parseKind('nope', 'x')).toThrow(UnknownKindError);
    try {
      parseKind('nope', 'x');
    } catch (error) {
      expect((error as UnknownKindError).code).toBe('KD_UNKNOWN_KIND');
    }
  });
});

describe('leakhunt parse (the built CLI)', () => {
  const root = new URL('../../', import.meta.url);
  const main = fileURLToPath(new URL('dist/src/cli/main.js', root));
  // Spawn the CLI the way a user runs it.
  const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { cwd: fileURLToPath(root), encoding: 'utf8', input: '' });

  beforeAll(() => {
    // `npm test` builds first (pretest); a bare vitest run builds here when dist is missing.
    if (!existsSync(main)) spawnSync(process.execPath, [fileURLToPath(new URL('node_modules/typescript/bin/tsc', root)), '-p', 'tsconfig.json'], { cwd: fileURLToPath(root) });
  }, 180_000);

  test('parse vertarget <fixture> prints the parsed JSON', () => {
    const result = run('parse', 'vertarget', fixturePath('vertarget-win10-x64-1.txt'));
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.os).toMatchObject({ version: '10.0.19041', build: 19041, arch: 'x64', processors: 8 });
    expect(parsed.kernelBase).toBe('fffff80122000000');
    expect(parsed.uptime).toBe(11868.015);
  });

  test('parse auto <log> and parse from standard input', () => {
    const auto = JSON.parse(run('parse', 'auto', fixturePath('ed-win7-x86-1.txt')).stdout);
    expect(auto.entries.map((entry: { command: string }) => entry.command)).toEqual(["ed nt!PoolHitTag 'dcba'", 'dd nt!PoolHitTag l1', '.formats 64636261']);
    const piped = spawnSync(process.execPath, [main, 'parse', 'dd', '-', '--compact'], { encoding: 'utf8', input: '82b37df4  64636261\n' });
    expect(piped.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(piped.stdout).values).toEqual(['64636261']);
  });

  test('parse auto prints, entry by entry, exactly the JSON of parseAuto (indented and --compact)', () => {
    const name = 'kb-win7-x86-1.txt';
    const expected = parseAuto(prepareTranscript(readFileSync(fixturePath(name), 'utf8')));
    expect(expected.entries.length).toBeGreaterThan(0);
    expect(run('parse', 'auto', fixturePath(name)).stdout).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(run('parse', 'auto', fixturePath(name), '--compact').stdout).toBe(`${JSON.stringify(expected)}\n`);
  });

  test('usage and parse errors: coded message, no stack, exit codes 2 and 1', () => {
    const unknown = run('parse', 'nope', fixturePath('ed-win7-x86-1.txt'));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^error KD_UNKNOWN_KIND: unknown kind "nope"/);
    const notThatKind = run('parse', 'dd', fixturePath('gflags-unknown-na-2.txt'));
    expect(notThatKind.status).toBe(1);
    expect(notThatKind.stderr).toMatch(/error KD_PARSE_ERROR: .*gflags-unknown-na-2\.txt: not dd output/);
    expect(notThatKind.stderr).not.toMatch(/\n\s+at /);
    const missing = run('parse', 'dd', 'no-such-file.txt');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('error FILE_UNREADABLE: cannot read "no-such-file.txt"');
  });
});
