import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { connectTarget, kdCandidates, parseTargetSpec, resolveKdPath, splitCommandLine } from '../../src/debuggers/connect.js';
import { redactSecrets } from '../../src/debuggers/redact.js';
import { fakeEnvironment, fakeKdPath } from './fake-kd-helper.js';

const secret = '1.2.3.4';

describe('target specs', () => {
  test('splits specs and command lines without a shell', () => {
    expect(parseTargetSpec('')).toEqual({ kind: 'sim', rest: '' });
    expect(parseTargetSpec('sim:winxp-sp3-x86')).toEqual({ kind: 'sim', rest: 'winxp-sp3-x86' });
    expect(parseTargetSpec('kd:-k net:port=50000,key=1.2.3.4')).toEqual({ kind: 'kd', rest: '-k net:port=50000,key=1.2.3.4' });
    expect(splitCommandLine('"C:\\Program Files\\kd.exe" -k com:pipe,port=\\\\.\\pipe\\dbg \'a b\'')).toEqual(['C:\\Program Files\\kd.exe', '-k', 'com:pipe,port=\\\\.\\pipe\\dbg', 'a b']);
    expect(splitCommandLine('kd.exe; rm -rf /')).toEqual(['kd.exe;', 'rm', '-rf', '/']);
    expect(() => splitCommandLine('"unclosed')).toThrow(expect.objectContaining({ code: 'INVALID_TARGET_SPEC' }));
  });

  test('finds kd from --kd, LEAKHUNT_KD, then the Windows Kits folder for the architecture', () => {
    const env = { 'ProgramFiles(x86)': 'D:\\PF86', PROCESSOR_ARCHITECTURE: 'ARM64' };
    const exists = (path: string) => path.startsWith('X:') || path.startsWith('Y:') || path.startsWith('D:\\PF86');
    expect(kdCandidates({ env, kitsRoots: () => [] })[0]?.path).toBe('D:\\PF86\\Windows Kits\\10\\Debuggers\\arm64\\kd.exe');
    expect(resolveKdPath('X:\\kd.exe', { env, exists })).toBe('X:\\kd.exe');
    expect(resolveKdPath(undefined, { env: { ...env, LEAKHUNT_KD: 'Y:\\kd.exe' }, exists })).toBe('Y:\\kd.exe');
    expect(resolveKdPath(undefined, { env, exists, kitsRoots: () => [] })).toBe('D:\\PF86\\Windows Kits\\10\\Debuggers\\arm64\\kd.exe');
    expect(() => resolveKdPath(undefined, { env, exists: () => false, kitsRoots: () => [] })).toThrow(expect.objectContaining({ code: 'DEBUGGER_NOT_FOUND' }));
  });
});

describe('secrets never leave the debugger layer', () => {
  test('redacts key= up to a comma or space, idempotently', () => {
    expect(redactSecrets('-k net:port=50000,key=1.2.3.4,target=10.0.0.2')).toBe('-k net:port=50000,key=***,target=10.0.0.2');
    expect(redactSecrets('KEY = abc def')).toBe('KEY = *** def');
    expect(redactSecrets(redactSecrets('key=x'))).toBe('key=***');
  });

  test('a planted key= is in no transcript line, fact, or error message', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'leakhunt-connect-'));
    const { env } = fakeEnvironment();
    const previous = process.env['FAKE_KD'];
    process.env['FAKE_KD'] = env['FAKE_KD'];
    try {
      const target = await connectTarget(`process:"${process.execPath}" "${fakeKdPath}" -k net:port=50000,key=${secret}`, { runDir, commandTimeoutMs: 5000 });
      expect(target.facts.os.version).toBe('10.0.9926');
      expect(target.facts.target).toMatchObject({ kind: 'process', spec: expect.stringContaining('key=***') });
      const echoed = await target.session.execute(`.echo key=${secret}`);
      expect(echoed.output).toBe(`key=${secret}`);
      await target.close();
      const transcript = readFileSync(join(runDir, 'transcript.jsonl'), 'utf8');
      expect(transcript).toContain('"command":"vertarget"');
      expect(transcript).toContain('key=***');
      expect(transcript).not.toContain(secret);
      expect(JSON.stringify(target.facts)).not.toContain(secret);
    } finally {
      if (previous === undefined) delete process.env['FAKE_KD'];
      else process.env['FAKE_KD'] = previous;
    }
    const errors = await Promise.all([
      connectTarget(`bogus:key=${secret}`, {}).catch((e: unknown) => e),
      connectTarget(`process:/nonexistent/kd -k net:port=1,key=${secret}`, { runDir, commandTimeoutMs: 2000 }).catch((e: unknown) => e),
    ]);
    expect(errors.map((e) => (e as { code: string }).code)).toEqual(['INVALID_TARGET_SPEC', 'DEBUGGER_NOT_FOUND']);
    for (const error of errors) expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(secret);
    expect(readFileSync(join(runDir, 'transcript.jsonl'), 'utf8')).not.toContain(secret);
  });

  test('replay: connects from a recorded transcript', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'leakhunt-record-'));
    const { env } = fakeEnvironment();
    process.env['FAKE_KD'] = env['FAKE_KD'];
    try {
      const live = await connectTarget(`process:"${process.execPath}" "${fakeKdPath}"`, { runDir, commandTimeoutMs: 5000 });
      const db = await live.session.execute('db f8da6000');
      await live.close();
      const replayed = await connectTarget(`replay:${join(runDir, 'transcript.jsonl')}`, {});
      expect(replayed.facts.os).toEqual(live.facts.os);
      expect(replayed.facts.target.kind).toBe('replay');
      expect((await replayed.session.execute('db f8da6000')).output).toBe(db.output);
    } finally {
      delete process.env['FAKE_KD'];
    }
  });
});

describe('connecting honours the abort signal', () => {
  test('process: a console that never prints a prompt is given up as soon as the signal aborts, not at the connect timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-hung-connect-'));
    const started = join(dir, 'started');
    // Says it is up (a file), then prints nothing, ever.
    const silent = 'require("fs").writeFileSync(process.argv[1], ""); setInterval(() => {}, 1 << 30)';
    const abort = new AbortController();
    const connecting = connectTarget(`process:"${process.execPath}" -e '${silent}' "${started}"`, { runDir: dir, signal: abort.signal }).catch((error: unknown) => error);
    // Polled for the event (the console is running and silent); the connect timeout is 60 s.
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    abort.abort(new Error('stop'));
    expect(await connecting).toMatchObject({ code: 'SESSION_ABORTED', message: 'Aborted while connecting' });
  });
});
