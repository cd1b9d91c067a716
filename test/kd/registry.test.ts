import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { getParser, KD_PARSERS, listKinds, parseKind, UnknownKindError } from '../../src/kd/index.js';
import { fixture } from './fixture-b.js';

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

  test('every kind but auto answers unrelated text with KdParseError, never another error', () => {
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
