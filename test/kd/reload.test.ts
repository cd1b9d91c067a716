import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { isReloadNoiseLine, parseReload, parseSymbolProblem, type ReloadResult } from '../../src/kd/reload.js';
import { fixture } from './fixture-b.js';

describe('.reload', () => {
  test('unreadable image headers glued to progress dots, a wrapped note cut short', () => {
    const result = parseReload(fixture('reload-winxp-x86-1.txt'));
    expect(result.connected).toEqual({ name: 'Windows XP', build: 2268, arch: 'x86', ptr64: false });
    expect(result.phases).toEqual(['kernel', 'unloaded', 'user']);
    expect(result.imageHeaderFailures).toHaveLength(10);
    expect(result.imageHeaderFailures[0]).toEqual({ module: 'dmload.sys', address: 'fe0be000', status: '0xC0000001' });
    expect(result.imageHeaderFailures.map((failure) => failure.module)).toContain('win32k.sys');
    expect(result.notes).toEqual(['Unable to retrieve the PEB address. This is usually caused by being in the wrong process context or by paging']);
    expect(result.unparsed).toEqual([]);
    expect(result.complete).toBe(false);
  });

  test('.reload nt under !sym noisy: the line-numbered published lines stay visible, the symbol warning is read', () => {
    const entry = parseAuto(fixture('reload-winxp-x86-2.txt')).entries.find((candidate) => candidate.command === '.reload nt');
    const result = entry?.result as ReloadResult;
    expect(result.symbolProblems).toEqual([{ severity: 'warning', module: 'ntkrnlmp.exe', message: 'symbols checksum and timestamp is wrong 0x0036a4ea 0x00361a83 for ntkrnlmp.exe' }]);
    expect(result.os).toMatchObject({ build: 2081, version: '5.0.2081', mp: true, checked: true });
    expect(result.unparsed).toHaveLength(10);
  });

  test('.reload after .process: phases only, Connected line read', () => {
    const entry = parseAuto(fixture('reload-winxp-x86-3.txt')).entries.find((candidate) => candidate.command === '.reload');
    const result = entry?.result as ReloadResult;
    expect(result).toMatchObject({ phases: ['kernel', 'user', 'unloaded'], imageHeaderFailures: [], complete: true, unparsed: [] });
    expect(result.connected?.build).toBe(2600);
  });

  test('symbol lines and noise', () => {
    expect(parseSymbolProblem('*** ERROR: Module load completed but symbols could not be loaded for LiveKdD.SYS ')).toEqual({
      severity: 'error', module: 'LiveKdD.SYS', message: 'Module load completed but symbols could not be loaded for LiveKdD.SYS',
    });
    expect(isReloadNoiseLine('........Unable to enumerate user-mode unloaded modules, NTSTATUS 0xC0000147 ')).toBe(true);
    expect(isReloadNoiseLine('Loading Kernel Symbols')).toBe(true);
    expect(isReloadNoiseLine('Breakpoint 0 hit')).toBe(false);
  });

  test('text with nothing of .reload is a KdParseError', () => {
    expect(() => parseReload('Breakpoint 0 hit')).toThrow(KdParseError);
  });
});
