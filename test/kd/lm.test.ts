import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { parseLm } from '../../src/kd/lm.js';
import { fixture } from './fixture-b.js';

describe('lm', () => {
  test('64-bit lm with long names pushing the symbol column, cut by "..."', () => {
    const result = parseLm(fixture('lm-win10-x64-1.txt'));
    expect(result.modules).toHaveLength(10);
    expect(result.modules[1]).toEqual({ start: 'fffff80109261000', end: 'fffff801092de000', name: 'mcupdate_GenuineIntel', symbols: 'no symbols' });
    expect(result.modules[3]).toEqual({ start: 'fffff801092ec000', end: 'fffff8010934d000', name: 'CLFS', symbols: 'export symbols', symbolFile: 'CLFS.SYS' });
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });

  test('32-bit lm m with a pdb path, the same module listed by two commands once', () => {
    const result = parseLm(fixture('lm-winxp-x86-1.txt'));
    expect(result.modules).toEqual([
      { start: '7c920000', end: '7c9b6000', name: 'ntdll', symbols: 'pdb symbols', symbolFile: 'e:\\symbol\\ntdll.pdb\\99192024C5EB4830AC602195086637082\\ntdll.pdb' },
    ]);
    expect(result.complete).toBe(true);
  });

  test('lm v details', () => {
    const win10 = parseLm(fixture('lmv-win10-x64-1.txt'));
    expect(win10.modules[0]).toMatchObject({ name: 'tcpip', symbols: 'no symbols', details: { 'Image path': '\\SystemRoot\\System32\\drivers\\tcpip.sys', ImageSize: '0026C000', CheckSum: '00263DB1' } });
    expect(win10.unparsed).toEqual(['Unable to enumerate user-mode unloaded modules, Win32 error 0n30']);
    const win11 = parseLm(fixture('lmv-win11-x64-1.txt'));
    expect(win11.modules[0]).toMatchObject({ start: 'fffff804789a0000', name: 'Driver', details: { Timestamp: 'Thu Sep 21 08:52:21 2023 (650C66B5)', 'Information from resource tables': '' } });
  });

  test('no module row is a KdParseError', () => {
    expect(() => parseLm('start             end                 module name')).toThrow(KdParseError);
  });
});
