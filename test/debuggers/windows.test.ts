// The Windows side of the debugger layer, as far as it can run on any OS: kd.exe discovery (order,
// architecture, the error naming every place tried), the break-in helper (found, run with the
// child's pid, its failure a coded error) and what a failed break-in leaves behind. The same code
// runs under Wine and on Windows in test/windows/smoke.mjs.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { ChannelExit, ConsoleChannel } from '../../src/debuggers/channel.js';
import { errSession } from '../../src/core/errors.js';
import { connectTarget, kdCandidates, parseKitsRoot, resolveKdPath } from '../../src/debuggers/connect.js';
import { DebuggerError } from '../../src/debuggers/errors.js';
import { KdConsoleSession } from '../../src/debuggers/kd-console.js';
import { breakInHelperPath, machineArch, ProcessChannel } from '../../src/debuggers/process-channel.js';
import { fakeEnvironment, fakeKdPath } from './fake-kd-helper.js';

const windowsEnv = { 'ProgramFiles(x86)': 'C:\\Program Files (x86)', ProgramFiles: 'C:\\Program Files', PROCESSOR_ARCHITECTURE: 'AMD64', PATH: 'C:\\Windows\\system32;"D:\\Tools Dir"' };

describe('kd.exe discovery', () => {
  test('looks in PATH, then KitsRoot10, then Program Files Windows Kits, then the older Debugging Tools folders', () => {
    const candidates = kdCandidates({ env: windowsEnv, kitsRoots: () => ['E:\\Kits\\10\\'], platform: 'win32' });
    expect(candidates.map((candidate) => `${candidate.source}: ${candidate.path}`)).toEqual([
      'PATH: C:\\Windows\\system32\\kd.exe',
      'PATH: D:\\Tools Dir\\kd.exe',
      'KitsRoot10: E:\\Kits\\10\\Debuggers\\x64\\kd.exe',
      'Windows Kits: C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64\\kd.exe',
      'Windows Kits: C:\\Program Files\\Windows Kits\\10\\Debuggers\\x64\\kd.exe',
      'Debugging Tools for Windows: C:\\Program Files (x86)\\Debugging Tools for Windows (x64)\\kd.exe',
      'Debugging Tools for Windows: C:\\Program Files\\Debugging Tools for Windows (x64)\\kd.exe',
      'Debugging Tools for Windows: C:\\Program Files (x86)\\Debugging Tools for Windows (x86)\\kd.exe',
      'Debugging Tools for Windows: C:\\Program Files\\Debugging Tools for Windows (x86)\\kd.exe',
    ]);
    const found = resolveKdPath(undefined, { env: windowsEnv, kitsRoots: () => ['E:\\Kits\\10\\'], platform: 'win32', exists: (path) => path.startsWith('E:') || path.includes('Debugging Tools') });
    expect(found).toBe('E:\\Kits\\10\\Debuggers\\x64\\kd.exe');
  });

  test("takes the machine's architecture, not Node's: x64 Node on an arm64 machine picks the arm64 debugger", () => {
    const arm64 = { PROCESSOR_ARCHITECTURE: 'AMD64', PROCESSOR_IDENTIFIER: 'ARMv8 (64-bit) Family 8 Model 0 Revision   0, Qualcomm Technologies Inc' };
    expect(machineArch(arm64, 'x64')).toBe('arm64');
    expect(machineArch({ PROCESSOR_ARCHITECTURE: 'x86', PROCESSOR_ARCHITEW6432: 'AMD64' }, 'ia32')).toBe('x64');
    expect(machineArch({ PROCESSOR_ARCHITECTURE: 'x86' }, 'ia32')).toBe('x86');
    expect(machineArch({}, 'arm64')).toBe('arm64');
    const paths = kdCandidates({ env: { ...arm64, 'ProgramFiles(x86)': 'C:\\PF86' }, kitsRoots: () => [], platform: 'win32' }).map((candidate) => candidate.path);
    expect(paths[0]).toBe('C:\\PF86\\Windows Kits\\10\\Debuggers\\arm64\\kd.exe');
    expect(paths.some((path) => path.includes('Debuggers\\x64'))).toBe(false);
  });

  test('reads KitsRoot10 from reg query output', () => {
    const output = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Kits\\Installed Roots\r\n    KitsRoot10    REG_SZ    D:\\Windows Kits\\10\\\r\n\r\n';
    expect(parseKitsRoot(output)).toBe('D:\\Windows Kits\\10\\');
    expect(parseKitsRoot('ERROR: The system was unable to find the specified registry key or value.')).toBeUndefined();
  });

  test('names every place tried when kd.exe is nowhere', () => {
    let error: unknown;
    try {
      resolveKdPath(undefined, { env: windowsEnv, kitsRoots: () => ['E:\\Kits\\10\\'], platform: 'win32', exists: () => false });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'DEBUGGER_NOT_FOUND', hint: expect.stringContaining('--kd') });
    for (const candidate of kdCandidates({ env: windowsEnv, kitsRoots: () => ['E:\\Kits\\10\\'], platform: 'win32' })) {
      expect((error as Error).message).toContain(`${candidate.path} (${candidate.source})`);
    }
  });

  test('an explicit --kd or LEAKHUNT_KD path must exist: DEBUGGER_NOT_FOUND before anything is spawned', () => {
    const exists = (path: string) => path === 'X:\\dbg\\kd.exe' || path === 'D:\\Tools Dir\\cdb.exe';
    expect(resolveKdPath('X:\\dbg\\kd.exe', { env: windowsEnv, exists, platform: 'win32' })).toBe('X:\\dbg\\kd.exe');
    expect(() => resolveKdPath('X:\\wrong\\kd.exe', { env: windowsEnv, exists, platform: 'win32' })).toThrow(
      expect.objectContaining({ code: 'DEBUGGER_NOT_FOUND', message: expect.stringContaining('--kd was not found: "X:\\wrong\\kd.exe" does not exist') }),
    );
    expect(() => resolveKdPath(undefined, { env: { ...windowsEnv, LEAKHUNT_KD: 'Y:\\kd.exe' }, exists, platform: 'win32' })).toThrow(
      expect.objectContaining({ code: 'DEBUGGER_NOT_FOUND', message: expect.stringContaining('LEAKHUNT_KD was not found: "Y:\\kd.exe"') }),
    );
    // A bare name is looked up in PATH (with .exe added on Windows).
    expect(resolveKdPath('cdb', { env: windowsEnv, exists, platform: 'win32' })).toBe('D:\\Tools Dir\\cdb.exe');
    expect(() => resolveKdPath('windbg', { env: windowsEnv, exists, platform: 'win32' })).toThrow(expect.objectContaining({ message: expect.stringContaining('C:\\Windows\\system32\\windbg.exe; D:\\Tools Dir\\windbg.exe') }));
  });
});

describe('the Windows break-in helper', () => {
  test('is process-killer.exe of ctrlc-windows for the machine, or BREAK_IN_UNSUPPORTED with a hint one can follow', () => {
    const resolvePackage = () => join(tmpdir(), 'app', 'node_modules', 'ctrlc-windows', 'package.json');
    expect(breakInHelperPath({ PROCESSOR_ARCHITECTURE: 'AMD64' }, resolvePackage, () => true)).toMatch(/ctrlc-windows[\\/]dist[\\/]x64[\\/]process-killer\.exe$/);
    expect(breakInHelperPath({ PROCESSOR_ARCHITECTURE: 'ARM64' }, resolvePackage, () => true)).toMatch(/dist[\\/]arm64[\\/]process-killer\.exe$/);
    let missing: unknown;
    try {
      breakInHelperPath({}, () => {
        throw new Error("Cannot find module 'ctrlc-windows/package.json'");
      });
    } catch (error) {
      missing = error;
    }
    expect(missing).toMatchObject({ code: 'BREAK_IN_UNSUPPORTED', hint: expect.stringContaining('npm install ctrlc-windows') });
    // kd runs hidden (no window): the hint must not send the user to one.
    expect((missing as DebuggerError).hint).not.toMatch(/kd window|yourself/);
    expect(() => breakInHelperPath({}, resolvePackage, () => false)).toThrow(expect.objectContaining({ code: 'BREAK_IN_UNSUPPORTED', message: expect.stringContaining('process-killer.exe is missing') }));
  });

  test('the installed ctrlc-windows ships the helper this code runs', () => {
    expect(breakInHelperPath({ PROCESSOR_ARCHITECTURE: 'AMD64' })).toMatch(/process-killer\.exe$/);
  });
});

// A shell script standing in for process-killer.exe: `ok` sends SIGINT to the pid it is given, `fail` says what the real one says when it cannot attach.
function helperScript(kind: 'ok' | 'fail'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'leakhunt-helper-')), `${kind}.sh`);
  writeFileSync(file, kind === 'ok' ? '#!/bin/sh\nkill -INT "$1"\n' : '#!/bin/sh\necho "Error: \\"unable to attach to process $1 console\\"" >&2\nexit 1\n');
  chmodSync(file, 0o755);
  return file;
}

let open: KdConsoleSession | undefined;
afterEach(async () => {
  await open?.close().catch(() => undefined);
  open = undefined;
});

describe.skipIf(process.platform === 'win32')('the Windows break-in path of a process channel', () => {
  test('runs the helper with the debugger pid and waits for the break', async () => {
    const { env } = fakeEnvironment({ startRunning: true });
    const channel = new ProcessChannel(process.execPath, [fakeKdPath], { env, endGraceMs: 1000, platform: 'win32', breakInHelper: helperScript('ok') });
    open = await KdConsoleSession.open(channel, { connectTimeoutMs: 20_000, commandTimeoutMs: 20_000, reconnectSettleMs: 200 });
    expect(open.running).toBe(true);
    const stop = await open.breakIn({ timeoutMs: 20_000 });
    expect(stop.kind).toBe('break-in');
    expect(open.running).toBe(false);
  });

  test("a helper that fails rejects with BREAK_IN_FAILED quoting it, and the target counts as running still", async () => {
    const { env } = fakeEnvironment({ startRunning: true });
    const channel = new ProcessChannel(process.execPath, [fakeKdPath], { env, endGraceMs: 1000, platform: 'win32', breakInHelper: helperScript('fail') });
    open = await KdConsoleSession.open(channel, { connectTimeoutMs: 20_000, reconnectSettleMs: 200 });
    const error = await open.breakIn({ timeoutMs: 20_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'BREAK_IN_FAILED', message: expect.stringContaining(`exited with code 1: Error: "unable to attach to process ${channel.pid} console"`), hint: expect.stringContaining('still running') });
    expect(open.running).toBe(true);
  });
});

// A console driven by the test: answers `.echo` as kd does, sends nothing else unless told, and fails every interrupt.
function scriptedConsole(interruptError: () => never) {
  const data: ((chunk: string) => void)[] = [];
  const channel: ConsoleChannel = {
    write(text) {
      for (const line of text.split('\n')) {
        const echo = /^\.echo (.*)$/.exec(line);
        if (echo) for (const listener of data) listener(`${echo[1]}\nkd> `);
      }
    },
    onData: (listener) => data.push(listener),
    onExit: (_listener: (exit: ChannelExit) => void) => undefined,
    interrupt: interruptError,
    end: async () => ({ code: 0, signal: null }),
  };
  return { channel, print: (text: string) => data.forEach((listener) => listener(text)) };
}

describe('a failed break-in', () => {
  test('is a coded error, and a later ordinary stop is not labelled a break-in', async () => {
    const console = scriptedConsole(() => {
      throw new Error('GenerateConsoleCtrlEvent failed');
    });
    const opening = KdConsoleSession.open(console.channel, { connectTimeoutMs: 20_000 });
    console.print('Kernel Debugger connection established.\nkd> ');
    const session = await opening;
    await session.resume('g');
    const error = await session.breakIn().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DebuggerError);
    expect(error).toMatchObject({ code: 'BREAK_IN_FAILED', message: 'Could not break in: GenerateConsoleCtrlEvent failed', hint: expect.stringContaining('still running') });
    expect(session.running).toBe(true);
    const waiting = session.waitForBreak({ timeoutMs: 20_000 });
    console.print('Break instruction exception - code 80000003 (first chance)\nnt!RtlpBreakWithStatusInstruction:\n80528bec cc              int     3\nkd> ');
    expect((await waiting).kind).toBe('breakpoint');
  });

  test("keeps the channel's own code (BREAK_IN_UNSUPPORTED)", async () => {
    const console = scriptedConsole(() => {
      throw new DebuggerError('BREAK_IN_UNSUPPORTED', 'Cannot break in on Windows: the optional package "ctrlc-windows" is not installed');
    });
    const opening = KdConsoleSession.open(console.channel, { connectTimeoutMs: 20_000 });
    console.print('Kernel Debugger connection established.\nkd> ');
    const session = await opening;
    await session.resume('g');
    await expect(session.breakIn()).rejects.toMatchObject({ code: 'BREAK_IN_UNSUPPORTED' });
  });
});

describe('connecting with a wrong kd path', () => {
  test('is DEBUGGER_NOT_FOUND before anything starts, and the run error keeps that code and its hint', async () => {
    const error = await connectTarget(`kd:-k net:port=50000,key=${'k3y'}`, { kdPath: join(tmpdir(), 'no such folder', 'kd.exe') }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'DEBUGGER_NOT_FOUND', message: expect.stringContaining('no such folder') });
    const wrapped = errSession('kd:-k net:port=50000,key=k3y', error);
    expect(wrapped.message).toContain('DEBUGGER_NOT_FOUND: The debugger given by --kd was not found');
    expect(wrapped.message).not.toContain('k3y');
    expect(wrapped.hint).toBe((error as DebuggerError).hint);
  });

  test('a process: spec whose program path does not exist is DEBUGGER_NOT_FOUND, and nothing is spawned', async () => {
    const missing = join(tmpdir(), 'no such folder', 'cdb.exe');
    await expect(connectTarget(`process:"${missing}" -k net:port=50000,key=k3y`, {})).rejects.toMatchObject({ code: 'DEBUGGER_NOT_FOUND', message: expect.stringContaining(missing) });
  });
});
