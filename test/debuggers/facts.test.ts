import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { gatherFacts, parseSessionTime } from '../../src/debuggers/facts.js';
import { ReplaySession } from '../../src/debuggers/replay.js';
import type { TranscriptEntry } from '../../src/debuggers/transcript.js';

// The transcript lines of a fixture (after its `# ---` header line).
function fixtureLines(name: string): string[] {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/kd/${name}`, import.meta.url)), 'utf8');
  return text.slice(text.indexOf('\n# ---\n') + 7).replace(/\n$/, '').split('\n');
}

// A recording: a banner, then commands with their answers, in order.
function recording(banner: string, exchanges: Array<[string, string]>): ReplaySession {
  const entries: TranscriptEntry[] = [{ ts: '', seq: 0, direction: 'receive', event: 'banner', output: banner }];
  exchanges.forEach(([command, output], index) => {
    entries.push({ ts: '', seq: index + 1, direction: 'send', event: 'command', command });
    entries.push({ ts: '', seq: index + 1, direction: 'receive', event: 'command', command, output, complete: true });
  });
  return new ReplaySession(entries);
}

describe('gatherFacts', () => {
  test('Windows 10 1709 over KDNET: banner plus vertarget', async () => {
    const banner = fixtureLines('banner-win10-x64-1.txt');
    const vertarget = banner.slice(banner.findIndex((l) => l.startsWith('Windows 10 Kernel Version')));
    const session = recording(banner.join('\n'), [['vertarget', vertarget.join('\n')]]);
    const facts = await gatherFacts(session, { kind: 'kd', spec: 'kd:-k net:port=50005,key=1.2.3.4' });
    expect(facts.os).toEqual({ version: '10.0.16299', alias: 'win10', build: 16299, sp: 0, arch: 'x64', pointerSize: 8, mp: true, processors: 4, product: 'WinNt', buildLab: '16299.15.amd64fre.rs3_release.170928-1534' });
    expect(facts.pool).toEqual({ taggingEnabled: true, allocator: 'classic' });
    expect(facts.debugger).toEqual({ transport: 'replay', version: '10.0.17074.1002' });
    expect(facts.target.spec).toBe('kd:-k net:port=50005,key=***');
    // Debug session time 17:16:23.816 at UTC-8, minus 20.534 s of uptime.
    expect(facts.target.bootTimeMs).toBe(Date.UTC(2018, 1, 28, 17 + 8, 16, 23, 816) - 20_534);
    expect(session.remaining).toBe(0);
  });

  test('Windows 10 2004: segment heap allocator', async () => {
    const vertarget = fixtureLines('vertarget-win10-x64-1.txt').slice(1, 8);
    const facts = await gatherFacts(recording('', [['vertarget', vertarget.join('\n')]]), { kind: 'process', spec: 'process:kd' });
    expect(facts.os).toMatchObject({ version: '10.0.19041', alias: 'win10', processors: 8 });
    expect(facts.pool.allocator).toBe('segment-heap');
  });

  test('Windows XP (build 2505, UP): tagging read from !gflag', async () => {
    const vertarget = fixtureLines('vertarget-winxp-x86-1.txt').slice(1);
    // `!gflag` display line as in gflag-win10x-x64-1.txt (without that file's comment prefix).
    const session = recording('', [['vertarget', vertarget.join('\n')], ['!gflag', 'Current NtGlobalFlag contents: 0x00000000']]);
    const facts = await gatherFacts(session, { kind: 'kd', spec: 'kd:-k com:port=com1' });
    expect(facts.os).toMatchObject({ version: '5.1.2505', alias: 'xp', arch: 'x86', pointerSize: 4, mp: false, processors: 1 });
    expect(facts.pool).toEqual({ taggingEnabled: false, allocator: 'classic' });
    expect(session.remaining).toBe(0);
  });

  test('kd calls 8.1 "Windows 8": the build is cross-checked with nt!NtBuildNumber', async () => {
    const banner = fixtureLines('analyze-win81-x86-1.txt').find((l) => l.startsWith('Connected to Windows 8'))!;
    const vertarget = 'Windows 8 Kernel Version 9600 MP (2 procs) Free x86 compatible';
    // 0xf0002580: free build (top nibble F), build 0x2580 = 9600; dd layout as in dd-win7-x86-1.txt.
    const session = recording(banner, [['vertarget', vertarget], ['dd nt!NtBuildNumber L1', '8160c9a8  f0002580']]);
    const facts = await gatherFacts(session, { kind: 'kd', spec: 'kd:' });
    expect(facts.os).toMatchObject({ version: '6.3.9600', alias: 'win81', build: 9600, arch: 'x86' });
    expect(facts['kd']).toEqual({ ntBuildNumber: { build: 9600, free: true } });
    expect(session.remaining).toBe(0);
  });

  test('no version anywhere is FACTS_UNAVAILABLE', async () => {
    await expect(gatherFacts(recording('', [['vertarget', "Couldn't resolve error at 'vertarget'"]]), { kind: 'kd', spec: 'kd:' })).rejects.toMatchObject({ code: 'FACTS_UNAVAILABLE' });
  });

  test('reads kd session times with and without milliseconds and zone', () => {
    expect(parseSessionTime('Mon Jul 02 14:41:11 2001')).toBe(Date.UTC(2001, 6, 2, 14, 41, 11));
    expect(parseSessionTime('Thu Nov 24 01:43:05.332 2022 (UTC + 1:00)')).toBe(Date.UTC(2022, 10, 24, 0, 43, 5, 332));
    expect(parseSessionTime('not a time')).toBeUndefined();
  });
});
