import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { parseBreak, type BreakResult } from '../../src/kd/break.js';
import { KdParseError } from '../../src/kd/common.js';
import { fixture } from './fixture-b.js';

// Parsed stops of every go-class command in a log, in order.
function stopsOf(name: string): BreakResult[] {
  return parseAuto(fixture(name))
    .entries.filter((entry) => entry.kind === 'break' && entry.result)
    .map((entry) => entry.result as BreakResult);
}

describe('break instruction exceptions', () => {
  test('PoolHitTag hit: code, first chance, location in ExAllocatePoolWithTag, int 3', () => {
    const [stop] = stopsOf('poolhittag-win7-x86-1.txt');
    expect(stop.events).toEqual([
      {
        kind: 'breakpoint', line: 1, exception: 'Break instruction exception', code: '80000003', firstChance: true,
        location: { module: 'nt', function: 'ExAllocatePoolWithTag', offset: 0x881, symbol: 'nt!ExAllocatePoolWithTag+0x881' },
        instruction: { address: '82b2f88c', bytes: '', mnemonic: 'int', operands: '3' },
      },
    ]);
    // The author's comment line in the published log is not kd output.
    expect(stop.unparsed).toEqual(['# ExAllocatePoolWithTag called trying to allocate paged pool memory']);
  });

  test('user-mode verifier stop with a register dump', () => {
    const result = parseBreak(fixture('break-win2000xp-x86-1.txt'));
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({
      kind: 'breakpoint', code: '80000003', firstChance: true,
      location: { module: 'ntdll', function: 'DbgBreakPoint', offset: 0 },
      instruction: { address: '77f7e098', bytes: 'cc', mnemonic: 'int', operands: '3' },
    });
    expect(result.events[0].registers).toMatchObject({ eax: '00000000', ebx: '00d81eb0', eip: '77f7e098', esp: '0006fc48' });
    expect(result.unparsed).toContain('VERIFIER STOP 00000008: pxAA0: corrupted suffix pattern');
    expect(result.complete).toBe(true);
  });

  test('Ctrl+C box makes it a break-in', () => {
    const [stop] = stopsOf('breakin-winxp-x86-1.txt');
    expect(stop.events).toHaveLength(1);
    expect(stop.events[0]).toMatchObject({ kind: 'break-in', code: '80000003', location: { module: 'nt', function: 'RtlpBreakWithStatusInstruction' }, instruction: { address: '80528bec' } });
  });

  test('.breakin from a user-mode prompt', () => {
    const [stop] = stopsOf('breakin-win2000-x86-1.txt');
    expect(stop.events[0]).toMatchObject({ kind: 'break-in', location: { module: 'ntoskrnl', function: '_DbgBreakPointWithStatus', offset: 4 }, instruction: { address: '80148f9c', bytes: 'cc' } });
  });
});

describe('breakpoints and steps', () => {
  test('Breakpoint N hit with and without an opcode column', () => {
    expect(stopsOf('bphit-win7-x86-1.txt')[0].events[0]).toMatchObject({ kind: 'breakpoint', breakpoint: 1, location: { module: 'Sample', function: 'DriverEntry', offset: 0x2c } });
    const x64 = stopsOf('bphit-win7-x64-1.txt')[0];
    expect(x64.events[0]).toMatchObject({ kind: 'breakpoint', breakpoint: 0, location: { symbol: 'HEVD!TriggerArbitraryOverwrite+0x27' }, instruction: { address: 'fffff88003398b9b', bytes: '498b1c24' } });
    expect(x64.unparsed).toEqual(['****** HACKSYS_EVD_IOCTL_ARBITRARY_OVERWRITE ******']);
  });

  test('a g that never stopped (only driver prints) is not a stop', () => {
    const entries = parseAuto(fixture('bphit-win7-x64-1.txt')).entries.filter((entry) => entry.command === 'g');
    expect(entries[1].parseError?.code).toBe('KD_PARSE_ERROR');
  });

  test('steps with Enter repeating t, a bare instruction step, then a bugcheck with 64-bit arguments', () => {
    const stops = stopsOf('step-win10-x64-1.txt');
    expect(stops[0].events[0]).toMatchObject({ kind: 'breakpoint', breakpoint: 0, location: { function: 'KeQueryIntervalProfile', offset: 0 } });
    const steps = stops.slice(1, 9).map((stop) => stop.events[0]);
    expect(steps.every((event) => event.kind === 'step')).toBe(true);
    expect(steps.map((event) => event.location?.offset)).toEqual([0x4, 0x7, 0x9, 0xe, 0x12, 0x17, 0x1c, 0x1f]);
    expect(stops[9].events[0]).toMatchObject({ kind: 'step', instruction: { address: '000000032b2f0000', mnemonic: 'xor' } });
    expect(stops[9].events[0].location).toBeUndefined();
    expect(stops[10].events).toEqual([
      {
        kind: 'bugcheck', line: 3,
        bugcheck: { code: 0xfc, args: ['000000032b2f0000', '22b000013dbb8867', 'ffffd001cb0948e0', '0000000080000005'] },
        location: { module: 'nt', function: 'DbgBreakPointWithStatus', offset: 0, symbol: 'nt!DbgBreakPointWithStatus' },
        instruction: { address: 'fffff801107c7300', bytes: 'cc', mnemonic: 'int', operands: '3' },
      },
    ]);
  });
});

describe('bugchecks', () => {
  test('Fatal System Error then its break instruction: one bugcheck event', () => {
    const [stop] = stopsOf('break-win7-x86-1.txt');
    expect(stop.events).toHaveLength(1);
    expect(stop.events[0]).toMatchObject({
      kind: 'bugcheck', code: '80000003', firstChance: true,
      bugcheck: { code: 0xc4, args: ['00000062', '86a84ebc', '86a2d4f8', '00000001'] },
      location: { module: 'nt', function: 'RtlpBreakWithStatusInstruction' },
    });
    expect(stop.unparsed).toEqual(['Sample driver Unload called']);
  });

  test('.bugcheck output', () => {
    const result = parseBreak('Bugcheck code 00000133\nArguments 00000000`00000001 00000000`00001e00 fffff801`22cfb320 00000000`00000000');
    expect(result.events[0]).toMatchObject({ kind: 'bugcheck', bugcheck: { code: 0x133, args: ['0000000000000001', '0000000000001e00', 'fffff80122cfb320', '0000000000000000'] } });
  });
});

describe('reboot and reconnect', () => {
  test('.reboot: shutdown, waiting, Connected, established, version block, initial stop', () => {
    const [reboot, ...rest] = stopsOf('gflag-win10-x64-1.txt');
    expect(reboot.events).toHaveLength(1);
    const event = reboot.events[0];
    expect(event.kind).toBe('reconnect');
    expect(event.reconnect).toMatchObject({
      shutdownAt: 'Wed Jul 25 21:34:14.874 2018 (UTC + 8:00)', waiting: true, established: true,
      connected: { name: 'Windows 10', build: 17134, arch: 'x64', ptr64: true },
      os: { version: '10.0.17134', build: 17134, processors: 1, buildLab: '17134.1.amd64fre.rs4_release.180410-1804' },
      kernelBase: 'fffff8037f207000',
    });
    expect(event.location).toMatchObject({ module: 'nt', function: 'DebugService2', offset: 5 });
    // Module-load stops after g: int 3 in DebugService2 with no announcement.
    expect(rest[0].events[0]).toMatchObject({ kind: 'breakpoint', location: { function: 'DebugService2' } });
    expect(rest[1].events[0]).toMatchObject({ kind: 'breakpoint', code: '80000003', location: { function: 'DbgBreakPointWithStatus' } });
    expect(rest[3].events[0]).toMatchObject({ kind: 'breakpoint', breakpoint: 0, instruction: { segment: '0033', address: '00007ffcf604ba9c' } });
  });

  test('a reconnect still waiting is incomplete', () => {
    const result = parseBreak('Shutdown occurred at (Wed Jul 25 21:34:14.874 2018 (UTC + 8:00))...unloading all symbol tables.\nWaiting to reconnect...');
    expect(result.events).toEqual([{ kind: 'reconnect', line: 1, reconnect: { shutdownAt: 'Wed Jul 25 21:34:14.874 2018 (UTC + 8:00)', waiting: true, established: false } }]);
    expect(result.complete).toBe(false);
  });

  test('KDNET banner parsed as stops: one reconnect with the target', () => {
    const result = parseBreak(fixture('banner-win10-x64-1.txt'));
    expect(result.events).toHaveLength(1);
    expect(result.events[0].reconnect).toMatchObject({ waiting: true, established: true, connected: { build: 16299 }, os: { build: 16299 } });
  });
});

test('no stop at all is a KdParseError', () => {
  expect(() => parseBreak('[+] Triggering Arbitrary Overwrite')).toThrow(KdParseError);
});
