import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { decodeGlobalFlags, GLOBAL_FLAGS, parseGflag, parseGflags, type GflagResult } from '../../src/kd/global-flags.js';
import { fixture, preparedFixture } from './fixture-b.js';

describe('!gflag', () => {
  test('!gflag +ksl in a reboot log: New NtGlobalFlag contents and the listed flag', () => {
    const entry = parseAuto(fixture('gflag-win10-x64-1.txt')).entries.find((candidate) => candidate.command === '!gflag +ksl');
    const result = entry?.result as GflagResult;
    expect(result).toMatchObject({ value: 0x40000, flags: ['ksl'], source: 'kernel', complete: true });
    expect(result.reports[0].changed).toBe(true);
    expect(result.descriptions.ksl).toBe('Enable loading of kernel debugger symbols');
  });

  test('lkd> !gflag quoted in a source comment: both NtGlobalFlag values, no flags', () => {
    const result = parseGflag(preparedFixture('gflag-win10x-x64-1.txt'));
    expect(result).toMatchObject({ value: 0, flags: [], source: 'kernel', complete: true, unparsed: [] });
    expect(result.reports[0].value2).toBe(0);
  });

  test('the same text still quoted is not recognised', () => {
    expect(() => parseGflag(fixture('gflag-win10x-x64-1.txt'))).toThrow(KdParseError);
  });
});

describe('gflags.exe', () => {
  test('gflags /r whose value line was lost: flags kept, value absent, incomplete', () => {
    const result = parseGflag(fixture('gflags-unknown-na-1.txt'));
    expect(result.flags).toEqual(['ust', 'bhd']);
    expect(result.value).toBeUndefined();
    expect(result.source).toBe('registry');
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual(['```']);
    expect(() => parseGflags(fixture('gflags-unknown-na-1.txt'))).toThrow(KdParseError);
  });

  test('gflags /r 2000000: hpa', () => {
    const result = parseGflags(fixture('gflags-unknown-na-2.txt'));
    expect(result).toMatchObject({ value: 0x2000000, flags: ['hpa'], source: 'registry', complete: true });
    expect(decodeGlobalFlags(result.value)).toEqual(['hpa']);
  });

  test('three commands: the last report is the state, every report kept', () => {
    const result = parseGflags(fixture('gflags-unknown-na-3.txt'));
    expect(result.reports.map((report) => report.value)).toEqual([0, 0, 0xe0]);
    expect(result.value).toBe(0xe0);
    expect(result.flags).toEqual(['hfc', 'hpc', 'hvc']);
    expect(decodeGlobalFlags(0xe0)).toEqual(['hfc', 'hpc', 'hvc']);
  });

  test('special pool by tag: /k then /r, then deleted', () => {
    const result = parseGflags(fixture('gflags-vista-na-1.txt'));
    expect(result.reports.map((report) => report.source)).toEqual(['kernel', 'registry']);
    expect(result.specialPool).toEqual({ deleted: true });
    expect(result.poolTagOverruns).toBe(1);
    const firstPart = parseGflags(fixture('gflags-vista-na-1.txt').split('gflags /r -spp')[0]);
    expect(firstPart.specialPool).toEqual({ value: 0x31676154, tag: 'Tag1' });
  });

  test('object reference tracing report has no flags value', () => {
    const result = parseGflag(fixture('gflags-vista-na-2.txt'));
    expect(result.objectRefTracing).toEqual({ source: 'registry', enabled: true, permanent: true, poolTags: ['Tag1', 'Fred'], processName: 'Notepad.exe' });
    expect(result.reports).toEqual([]);
    expect(result.value).toBeUndefined();
  });
});

describe('flag table', () => {
  test('ptg is 0x400 and the documented 0x40001400 decodes to ptg, ust, bhd', () => {
    expect(GLOBAL_FLAGS.ptg).toBe(0x400);
    expect(decodeGlobalFlags(0x40001400)).toEqual(['ptg', 'ust', 'bhd']);
    expect(decodeGlobalFlags(0x80000000)).toEqual(['dpd']);
  });
});
