import { afterEach, describe, expect, test } from 'vitest';
import { kdDialect } from '../../src/debuggers/kd-dialect.js';
import { startFakeKd, type FakeKd } from './fake-kd-helper.js';

// Outputs of real transcripts the fake answers with (test/fixtures/kd), written out here so a broken fake cannot agree with a broken session.
const vertargetLines = [
  'Windows 10 Kernel Version 9926 MP (4 procs) Free x64',
  'Product: WinNt, suite: TerminalServer SingleUserTS',
  'Built by: 9926.0.amd64fre.fbl_awesome1501.150119-1648',
  'Machine Name: ""',
  'Kernel base = 0xfffff801`8d283000 PsLoadedModuleList = 0xfffff801`8d58aef0',
  'Debug session time: Fri Feb 20 10:15:17.807 2015 (UTC - 8:00)',
  'System Uptime: 0 days 01:31:58.931',
];
const dbLines = [
  'f8da6000  4d 5a 90 00 03 00 00 00-04 00 00 00 ff ff 00 00  MZ..............',
  'f8da6010  b8 00 00 00 00 00 00 00-40 00 00 00 00 00 00 00  ........@.......',
  'f8da6020  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00  ................',
  'f8da6030  00 00 00 00 00 00 00 00-00 00 00 00 d0 00 00 00  ................',
  'f8da6040  0e 1f ba 0e 00 b4 09 cd-21 b8 01 4c cd 21 54 68  ........!..L.!Th',
  'f8da6050  69 73 20 70 72 6f 67 72-61 6d 20 63 61 6e 6e 6f  is program canno',
  'f8da6060  74 20 62 65 20 72 75 6e-20 69 6e 20 44 4f 53 20  t be run in DOS ',
  'f8da6070  6d 6f 64 65 2e 0d 0d 0a-24 00 00 00 00 00 00 00  mode....$.......',
];

let fake: FakeKd | undefined;
afterEach(async () => {
  await fake?.session.close().catch(() => undefined);
  fake = undefined;
});

// The standard exchange: three commands with multi-line, empty and one-line answers.
async function exchange(current: FakeKd): Promise<string[]> {
  const results = [];
  for (const command of ['vertarget', "ed nt!PoolHitTag 'dcba'", 'dd nt!PoolHitTag l1', 'db f8da6000']) {
    const result = await current.session.execute(command);
    expect(result.complete, command).toBe(true);
    results.push(result.output);
  }
  return results;
}
const expectedExchange = [vertargetLines.join('\n'), '', '82b37df4  64636261', dbLines.join('\n')];

describe('kd-console over a real child process', () => {
  test('connects: banner up to the first prompt, target halted, framing in step', async () => {
    fake = await startFakeKd();
    expect(fake.session.banner).toContain('Kernel Debugger connection established.  (Initial Breakpoint requested)');
    expect(fake.session.banner).toContain('System Uptime: 0 days 0:00:20.534');
    expect(fake.session.banner.endsWith('kd> ')).toBe(false);
    expect(fake.session.running).toBe(false);
    expect(fake.session.prompt).toBe('kd> ');
    expect(await exchange(fake)).toEqual(expectedExchange);
    expect(fake.session.echoesCommands).toBe(false);
  });

  test.each([
    [1, 'kd> '],
    [7, '0: kd> '],
    [42, '12: kd> '],
    [1234, 'lkd> '],
    [99, '3: kd> '],
  ])('frames exactly when output splits at random points (seed %i, prompt %j)', async (seed, prompt) => {
    fake = await startFakeKd({ split: seed, prompt });
    expect(fake.session.prompt).toBe(prompt);
    expect(await exchange(fake)).toEqual(expectedExchange);
  });

  test('tolerates a console that echoes what it reads', async () => {
    fake = await startFakeKd({ echo: true, split: 5 });
    expect(await exchange(fake)).toEqual(expectedExchange);
    expect(fake.session.echoesCommands).toBe(true);
  });

  test('keeps interleaved garbage in the output without losing the framing', async () => {
    fake = await startFakeKd({ garbage: true, split: 11 });
    const result = await fake.session.execute('vertarget');
    const lines = result.output.split('\n');
    expect(lines[0]).toMatch(/^\[\+\] DbgPrint noise /);
    expect(lines.slice(1)).toEqual(vertargetLines);
    const next = await fake.session.execute('dd nt!PoolHitTag l1');
    expect(next.output.split('\n').slice(1)).toEqual(['82b37df4  64636261']);
  });

  test('a command that hangs times out, breaks in, returns its partial output marked incomplete', async () => {
    fake = await startFakeKd({ stallOn: 'db f8da6000' });
    const result = await fake.session.execute('db f8da6000', { timeoutMs: 300 });
    expect(result.complete).toBe(false);
    expect(result.output.split('\n')).toEqual(dbLines.slice(0, 4));
    expect(fake.state().interrupts).toBe(1);
    const next = await fake.session.execute('vertarget');
    expect(next).toMatchObject({ complete: true, output: vertargetLines.join('\n') });
    const receive = fake.transcript.entries.find((entry) => entry.direction === 'receive' && entry.command === 'db f8da6000');
    expect(receive).toMatchObject({ complete: false, kind: 'memory' });
  });

  test('the debugger exiting mid-command is a DEBUGGER_EXITED error carrying the partial output', async () => {
    fake = await startFakeKd({ exitOn: 'db f8da6000' });
    const error = await fake.session.execute('db f8da6000').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEBUGGER_EXITED', command: 'db f8da6000' });
    expect((error as { output: string }).output.split('\n')).toEqual(dbLines.slice(0, 4));
    expect((error as Error).message).toContain('exit code 3');
    await expect(fake.session.execute('vertarget')).rejects.toMatchObject({ code: 'DEBUGGER_EXITED' });
    await expect(fake.session.waitForBreak()).resolves.toMatchObject({ kind: 'exit' });
    expect(fake.transcript.entries.filter((entry) => entry.direction === 'receive').map((entry) => [entry.event, entry.complete, entry.exitCode])).toEqual([
      ['banner', undefined, undefined],
      ['exit', true, 3],
      ['command', false, undefined],
    ]);
  });

  test('go, then a PoolHitTag break: typed event, prompt, and commands work again', async () => {
    fake = await startFakeKd({ hitAfterMs: 150, split: 3 });
    await fake.session.resume('g');
    expect(fake.session.running).toBe(true);
    await expect(fake.session.execute('vertarget')).rejects.toMatchObject({ code: 'TARGET_RUNNING' });
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(event.kind).toBe('breakpoint');
    expect(event.prompt).toBe('kd> ');
    expect(event.output.split('\n').slice(0, 3)).toEqual(['Break instruction exception - code 80000003 (first chance)', 'nt!ExAllocatePoolWithTag+0x881:', '82b2f88c int     3']);
    expect(fake.session.running).toBe(false);
    expect((await fake.session.execute('dd nt!PoolHitTag l1')).output).toBe('82b37df4  64636261');
    // The stop is confirmed by a marker kd reads at its prompt (no fixed quiet time), then the command's own.
    expect(fake.state().read).toEqual([expect.stringMatching(/^\.echo LHSYNC_/), 'g', expect.stringMatching(/^\.echo LHSYNC_/), 'dd nt!PoolHitTag l1', expect.stringMatching(/^\.echo LHSYNC_/)]);
    expect(fake.transcript.entries.filter((entry) => entry.direction === 'send').map((entry) => entry.command)).toEqual(['g', 'dd nt!PoolHitTag l1']);
  });

  test.each([undefined, 2, 9])('a prompt the target runs past is not a stop: the stop ends at the marker kd reads at its real prompt (split %j)', async (split) => {
    fake = await startFakeKd({ hitAfterMs: 20, promptMidStop: 150, ...(split !== undefined && { split }) }, { promptSettleMs: 5 });
    const started = Date.now();
    await fake.session.resume('g');
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(event.output.match(/^Break instruction exception/gm)).toHaveLength(2);
    expect(event.output).not.toMatch(/LHSYNC/);
    expect(event.output.split('\n').filter((line) => line === 'kd> ')).toHaveLength(1);
    expect(event.prompt).toBe('kd> ');
    expect((await fake.session.execute('dd nt!PoolHitTag l1')).output).toBe('82b37df4  64636261');
  });

  test('resume() sends the commands before the go command on its one line, recorded as one exchange', async () => {
    fake = await startFakeKd({ hitAfterMs: 20 });
    await fake.session.resume('g', { before: ['dd nt!PoolHitTag l1'] });
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(fake.state().read[1]).toBe('dd nt!PoolHitTag l1; g');
    expect(event.kind).toBe('breakpoint');
    expect(fake.transcript.entries.filter((entry) => entry.direction === 'send').map((entry) => [entry.event, entry.command])).toEqual([['resume', 'dd nt!PoolHitTag l1; g']]);
    await expect(fake.session.resume('g', { before: ['g'] })).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
  });

  test('a running target: waitForBreak times out with SESSION_TIMEOUT, breakIn stops it', async () => {
    fake = await startFakeKd();
    await fake.session.resume();
    await expect(fake.session.waitForBreak({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'SESSION_TIMEOUT' });
    expect(fake.session.running).toBe(true);
    const event = await fake.session.breakIn({ timeoutMs: 5000 });
    expect(event.kind).toBe('break-in');
    expect(event.output).toContain('THIS IS NOT A BUG OR A SYSTEM CRASH');
    expect(fake.state()).toMatchObject({ interrupts: 1, running: false });
    expect((await fake.session.execute('vertarget')).output).toBe(vertargetLines.join('\n'));
  });

  test('a target already running at connect: no prompt, breakIn halts it', async () => {
    fake = await startFakeKd({ startRunning: true }, { reconnectSettleMs: 200 });
    expect(fake.session.running).toBe(true);
    expect(fake.session.banner).toContain('Kernel Debugger connection established.');
    const event = await fake.session.breakIn({ timeoutMs: 5000 });
    expect(event.kind).toBe('break-in');
    expect((await fake.session.execute('vertarget')).output).toBe(vertargetLines.join('\n'));
  });

  test('.reboot over KDNET: reconnect banner, then a stop at a prompt', async () => {
    fake = await startFakeKd({ reconnect: 'net', reconnectBreak: true });
    await fake.session.resume('.reboot');
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(event.kind).toBe('reconnect');
    expect(event.prompt).toBe('kd> ');
    expect(event.output).toContain('Shutdown occurred at (Wed Jul 25 21:34:14.874 2018 (UTC + 8:00))...unloading all symbol tables.');
    const banner = kdDialect.readConnection(event.output);
    expect(banner).toMatchObject({ transport: 'net', endpoint: '169.182.1.1:50005', shutdown: true, established: true, initialBreak: false });
    expect(fake.session.running).toBe(false);
  });

  test('.reboot over a named pipe without a break: reconnect reported, target still running', async () => {
    fake = await startFakeKd({ reconnect: 'pipe' }, { reconnectSettleMs: 200 });
    await fake.session.resume('.reboot');
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(event.kind).toBe('reconnect');
    expect(event.prompt).toBeUndefined();
    expect(kdDialect.readConnection(event.output)).toMatchObject({ transport: 'pipe', endpoint: '\\\\.\\pipe\\WS2012Dbg', waiting: true, established: true });
    expect(fake.session.running).toBe(true);
    await expect(fake.session.breakIn({ timeoutMs: 5000 })).resolves.toMatchObject({ kind: 'break-in' });
  });

  test('a step command (p) stops with kind step', async () => {
    fake = await startFakeKd();
    await fake.session.resume('p');
    const event = await fake.session.waitForBreak({ timeoutMs: 5000 });
    expect(event).toMatchObject({ kind: 'step', prompt: 'kd> ' });
    expect(event.output).toBe('nt!KeQueryIntervalProfile+0x4:\nfffff801`10bb1414 83f901          cmp     ecx,1');
  });

  test('refuses commands it cannot frame', async () => {
    fake = await startFakeKd();
    await expect(fake.session.execute('g')).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
    await expect(fake.session.execute('r; g')).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
    await expect(fake.session.execute('r\nq')).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
    await expect(fake.session.resume('vertarget' as 'g')).rejects.toMatchObject({ code: 'INVALID_COMMAND' });
    expect(fake.state().read.filter((line) => !line.startsWith('.echo'))).toEqual([]);
  });

  test('close() leaves a halted target running: g, then the console ends', async () => {
    fake = await startFakeKd();
    await fake.session.execute('vertarget');
    await fake.session.close();
    const state = fake.state();
    expect(state.read.at(-1)).toBe('g');
    expect(state.running).toBe(true);
    expect(state.exit).toBe('stdin-closed-running');
    await expect(fake.session.execute('vertarget')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
  });

  test('close({ resume: false }) quits with q and leaves the target halted', async () => {
    fake = await startFakeKd();
    await fake.session.close({ resume: false });
    expect(fake.state()).toMatchObject({ running: false, exit: 'q' });
    expect(fake.state().read.at(-1)).toBe('q');
  });

  test('close({ resume: false }) on a running target breaks in first', async () => {
    fake = await startFakeKd();
    await fake.session.resume();
    await fake.session.close({ resume: false });
    expect(fake.state()).toMatchObject({ running: false, exit: 'q', interrupts: 1 });
  });

  test('records every exchange in the transcript, send before receive', async () => {
    fake = await startFakeKd({ hitAfterMs: 50 });
    await fake.session.execute('vertarget');
    await fake.session.resume();
    await fake.session.waitForBreak({ timeoutMs: 5000 });
    const summary = fake.transcript.entries.map((entry) => `${entry.direction}:${entry.event}:${entry.kind ?? entry.command ?? ''}`);
    expect(summary).toEqual(['receive:banner:banner', 'send:command:vertarget', 'receive:command:vertarget', 'send:resume:g', 'receive:break:breakpoint']);
    expect(fake.transcript.entries[2]).toMatchObject({ output: vertargetLines.join('\n'), complete: true });
    expect(typeof fake.transcript.entries[2]!.durationMs).toBe('number');
  });
});
