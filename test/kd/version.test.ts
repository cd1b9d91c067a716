import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { ntVersionForBuild, parseBanner, parseConnectedLine, parseKdDuration, parseKernelVersionLine, parseVersionCommand, parseVertarget } from '../../src/kd/version.js';
import { fixture, preparedFixture } from './fixture-b.js';

describe('vertarget fixtures', () => {
  test('Windows 10 2004 with "Edition build lab:" and a trailing .bugcheck', () => {
    const result = parseVertarget(fixture('vertarget-win10-x64-1.txt'));
    expect(result.os).toMatchObject({ version: '10.0.19041', build: 19041, sp: 0, arch: 'x64', pointerSize: 8, mp: true, processors: 8, product: 'WinNt', buildLab: '19041.1.amd64fre.vb_release.191206-1406' });
    expect(result.os?.suite).toEqual(['TerminalServer', 'SingleUserTS']);
    expect(result.kernelBase).toBe('fffff80122000000');
    expect(result.psLoadedModuleList).toBe('fffff80122c2a2b0');
    expect(result.uptime).toBe(3 * 3600 + 17 * 60 + 48.015);
    expect(result.machineName).toBeUndefined();
    // The .bugcheck lines that follow are not vertarget output.
    expect(result.unparsed).toEqual(['.bugcheck', 'Bugcheck code 00000133', 'Arguments 00000000`00000001 00000000`00001e00 fffff801`22cfb320 00000000`00000000']);
    expect(result.complete).toBe(true);
  });

  test('Windows 10 preview 9926 with quoted empty machine name and zero-padded hours', () => {
    const result = parseVertarget(fixture('vertarget-win10-x64-2.txt'));
    expect(result.os).toMatchObject({ version: '10.0.9926', build: 9926, arch: 'x64', processors: 4, name: 'Windows 10' });
    expect(result.machineName).toBe('');
    expect(result.uptime).toBe(3600 + 31 * 60 + 58.931);
    expect(result.kernelBase).toBe('fffff8018d283000');
    expect(result.unparsed).toEqual([]);
  });

  test('Windows 7 SP1 x64 without a Product line', () => {
    const result = parseVertarget(fixture('vertarget-win7-x64-1.txt'));
    expect(result.os).toMatchObject({ version: '6.1.7601', build: 7601, sp: 1, arch: 'x64', mp: true, processors: 2, buildLab: '7601.18869.amd64fre.win7sp1_gdr.150525-0603' });
    expect(result.os?.product).toBeUndefined();
    expect(result.uptime).toBe(13 * 60 + 15.757);
    expect(result.complete).toBe(true);
  });

  test('XP pre-release: UP, x86 compatible, no milliseconds', () => {
    const result = parseVertarget(fixture('vertarget-winxp-x86-1.txt'));
    expect(result.os).toEqual({ version: '5.1.2505', build: 2505, sp: 0, mp: false, processors: 1, arch: 'x86', pointerSize: 4, buildLab: '2505.main.010626-1514', name: 'Windows XP' });
    expect(result.kernelBase).toBe('804d0000');
    expect(result.uptime).toBe(293);
    expect(result.sessionTime).toBe('Mon Jul 02 14:41:11 2001');
  });

  test('Vista fragment quoted in a C comment: the line is read, the prose prefix kept visible, result incomplete', () => {
    const result = parseVertarget(preparedFixture('vertarget-vista-x86-1.txt'));
    expect(result.os).toMatchObject({ version: '6.0.6000', build: 6000, sp: 0, arch: 'x86', pointerSize: 4, mp: true, processors: 1, name: 'Windows Vista' });
    expect(result.unparsed).toHaveLength(1);
    expect(result.unparsed[0]).toContain('Tested Under');
    expect(result.complete).toBe(false);
  });
});

describe('banner fixtures', () => {
  test('KDNET banner: debugger, connection, Connected line and the version block', () => {
    const result = parseBanner(fixture('banner-win10-x64-1.txt'));
    expect(result.debugger).toEqual({ version: '10.0.17074.1002', arch: 'AMD64' });
    expect(result.connection).toEqual({ established: true, initialBreakpoint: true, transport: 'net', remote: '169.182.1.1:50005' });
    expect(result.connected).toEqual({ name: 'Windows 10', build: 16299, arch: 'x64', ptr64: true, at: 'Wed Feb 28 17:16:23.051 2018 (UTC - 8:00)' });
    expect(result.os).toMatchObject({ version: '10.0.16299', build: 16299, arch: 'x64', pointerSize: 8, processors: 4, buildLab: '16299.15.amd64fre.rs3_release.170928-1534' });
    expect(result.kernelBase).toBe('fffff8009540d000');
    expect(result.uptime).toBe(20.534);
    expect(result.symbolPath).toBe('srv*');
    expect(result.executablePath).toBe('');
    expect(result.unparsed).toEqual([]);
    expect(result.complete).toBe(true);
  });

  test('livekd dump banner with trailing spaces: stops at the first prompt', () => {
    const result = parseBanner(fixture('banner-win7-x64-1.txt'));
    expect(result.debugger?.version).toBe('6.12.0002.633');
    expect(result.os).toMatchObject({ version: '6.1.7601', build: 7601, sp: 1, arch: 'x64', processors: 4, buildLab: '7601.17640.amd64fre.win7sp1_gdr.110622-1506' });
    expect(result.uptime).toBe(5 * 3600 + 44 * 60 + 6.294);
    expect(result.kernelBase).toBe('fffff80003a63000');
    // The cmd.exe and LiveKd lines before the debugger are not kd's; the commands after the prompt belong to other parsers.
    expect(result.unparsed).toContain('LiveKd v5.0 - Execute kd/windbg on a live system ');
    expect(result.unparsed).toContain('0: kd> !kuser ');
    expect(result.complete).toBe(false);
  });

  test('dbgeng output delivered in fragments (XP, local kd): the version and product lines are rejoined', () => {
    const result = parseBanner(fixture('banner-winxp-x86-1.txt'));
    expect(result.connected).toEqual({ name: 'Windows XP', build: 2600, arch: 'x86', ptr64: false, at: 'Thu Sep  6 05:58:23.578 2012 (UTC + 5:30)' });
    expect(result.os).toMatchObject({ version: '5.1.2600', build: 2600, sp: 3, mp: false, processors: 1, arch: 'x86', pointerSize: 4, product: 'WinNt', buildLab: '2600.xpsp_sp3_gdr.100216-1514' });
    expect(result.os?.suite).toEqual(['TerminalServer', 'SingleUserTS']);
    expect(result.kernelBase).toBe('804d7000');
    expect(result.uptime).toBe(17 * 3600 + 45 * 60 + 57.225);
    expect(result.symbolPath).toBe('SRV*F:\\symbols*http://msdl.microsoft.com/download/symbols');
    expect(result.warnings).toEqual(['WARNING: Local kernel debugging requires booting with kernel debugging support (/debug or bcdedit -debug on) to work optimally.']);
    // The !process output after the banner is not banner text.
    expect(result.unparsed.some((line) => line.includes('PROCESS 86ba98e0'))).toBe(true);
  });
});

describe('version command', () => {
  test('user-mode version: file version gives major.minor, debugger and extension chain', () => {
    const result = parseVersionCommand(fixture('version-win7-x64-1.txt'));
    expect(result.os).toMatchObject({ version: '6.1.7601', build: 7601, sp: 1, mp: false, arch: 'x64', fileVersion: '6.1.7601.17514', product: 'WinNt' });
    expect(result.uptime).toBe(3600 + 50 * 60 + 3.438);
    expect(result.processUptime).toBe(50 * 60 + 52.286);
    expect(result.debugger).toEqual({ version: '10.0.10586.567', arch: 'AMD64' });
    expect(result.extensions?.map((extension) => extension.name)).toEqual(['dbghelp', 'ext', 'exts', 'uext', 'ntsdexts']);
    expect(result.extensions?.[2].path).toBe('C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64\\WINXP\\exts.dll');
    expect(result.unparsed).toEqual([]);
  });
});

describe('line helpers', () => {
  test.each([
    ['Windows 10 Kernel Version 22621 MP (4 procs) Free x64', { name: 'Windows 10', build: 22621, mp: true, processors: 4, arch: 'x64', checked: false }],
    ['Windows 8 Kernel Version 9200 MP (2 procs) Checked x64', { build: 9200, checked: true }],
    ['Windows 10 Kernel Version 21337 MP (8 procs) Free ARM 64-bit (AArch64)', { build: 21337, arch: 'arm64' }],
    ['Windows 2000 Kernel Version 2195 (Service Pack 4) UP Free x86 compatible', { build: 2195, sp: 4, mp: false, processors: 1, arch: 'x86' }],
  ])('%s', (line, expected) => {
    expect(parseKernelVersionLine(line)).toMatchObject(expected);
  });

  test('Windows 11 is reported by its build, whatever kd calls it', () => {
    const result = parseVertarget('Windows 10 Kernel Version 22621 MP (4 procs) Free x64\nEdition build lab: 22621.1928.amd64fre.ni_release_svc_prod3.230622-0951\nKernel base = 0xfffff804`74c00000 PsLoadedModuleList = 0xfffff804`758130f0');
    expect(result.os).toMatchObject({ version: '10.0.22621', build: 22621, name: 'Windows 10' });
  });

  test('build lab wins over a disagreeing Kernel Version number', () => {
    const result = parseVertarget('Windows 8 Kernel Version 9200 MP (8 procs) Free x64\nBuilt by: 19041.1.amd64fre.vb_release.191206-1406');
    expect(result.os).toMatchObject({ build: 19041, version: '10.0.19041' });
  });

  test('Connected lines without date or ptr64', () => {
    expect(parseConnectedLine('Connected to Windows 8 9600 x86 compatible target')).toEqual({ name: 'Windows 8', build: 9600, arch: 'x86' });
    expect(parseConnectedLine('Connected to Windows XP 2268 x86 compatible target, ptr64 FALSE')).toEqual({ name: 'Windows XP', build: 2268, arch: 'x86', ptr64: false });
    expect(parseConnectedLine('Connected to target 169.182.1.1 on port 50005')).toBeUndefined();
  });

  test.each([
    [2195, '5.0'], [2600, '5.1'], [3790, '5.2'], [6001, '6.0'], [7601, '6.1'], [9200, '6.2'], [9600, '6.3'], [10240, '10.0'], [26100, '10.0'],
  ])('build %i is NT %s', (build, version) => {
    expect(ntVersionForBuild(build)).toBe(version);
  });

  test('durations', () => {
    expect(parseKdDuration('0 days 0:04:53 ')).toBe(293);
    expect(parseKdDuration('2 days 1:00:00.5')).toBe(2 * 86400 + 3600.5);
    expect(parseKdDuration('soon')).toBeUndefined();
  });

  test('text that is no version output is a KdParseError', () => {
    expect(() => parseVertarget('hello\nworld')).toThrow(KdParseError);
  });
});

describe('Connected line only', () => {
  test('8.1 that kd labels "Windows 8": the build gives 6.3.9600', () => {
    // The reconnect banner !analyze printed before its report (lines 2–8 of the published log).
    const banner = fixture('analyze-win81-x86-1.txt').split('\n').slice(1, 8).join('\n');
    expect(banner.startsWith('Connected to Windows 8 9600')).toBe(true);
    const result = parseBanner(banner);
    expect(result.connected).toEqual({ name: 'Windows 8', build: 9600, arch: 'x86' });
    expect(result.os).toEqual({ version: '6.3.9600', build: 9600, sp: 0, arch: 'x86', pointerSize: 4 });
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });
});

describe('a banner that ends with the break location', () => {
  test('banner-win10-x64-2 (a minidump): nt!KeBugCheckEx and its instruction, nothing unparsed', () => {
    const text = fixture('banner-win10-x64-2.txt').split('\n2: kd>')[0]!;
    const result = parseBanner(text);
    expect(result.os).toMatchObject({ build: 19041, arch: 'x64', processors: 8 });
    expect(result.location).toEqual({ module: 'nt', offset: 0, function: 'KeBugCheckEx', symbol: 'nt!KeBugCheckEx' });
    expect(result.instruction).toMatchObject({ address: 'fffff805055fd5c0', bytes: '48894c2408', mnemonic: 'mov', operands: 'qword ptr [rsp+8],rcx' });
    expect(result.unparsed).toEqual([]);
  });
});
