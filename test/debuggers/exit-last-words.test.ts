// A console that dies says why on its stderr (the simulator prints a broken scenario's problems
// there): DEBUGGER_EXITED ends with its last stderr lines, on one line, redacted, without control characters.
import { describe, expect, test } from 'vitest';
import { KdConsoleSession } from '../../src/debuggers/kd-console.js';
import { lastWords, ProcessChannel } from '../../src/debuggers/process-channel.js';

describe('lastWords', () => {
  test('keeps the last five non-empty lines on one line, drops control characters', () => {
    expect(lastWords('')).toBeUndefined();
    expect(lastWords('\n  \r\n')).toBeUndefined();
    expect(lastWords('a\nb\r\n\nc\n')).toBe('a | b | c');
    expect(lastWords('1\n2\n3\n4\n5\n6\n7\n')).toBe('3 | 4 | 5 | 6 | 7');
    expect(lastWords('\u001b[31mred\u0007 text\n')).toBe('[31mred  text');
    const long = lastWords('x'.repeat(5000))!;
    expect(long.length).toBe(1000);
    expect(long.startsWith('…')).toBe(true);
  });
});

describe('a console process that exits before its prompt', () => {
  test('DEBUGGER_EXITED carries its exit code and its last stderr lines, with a key redacted', async () => {
    const script = [
      "process.stderr.write('scenario.yaml:9:14 SCENARIO_SCHEMA: tag must be 1-4 characters\\n');",
      "process.stderr.write('spec -k net:port=50000,key=1.2.3.4\\n');",
      'process.exit(2);',
    ].join(' ');
    const channel = new ProcessChannel(process.execPath, ['-e', script]);
    const error = (await KdConsoleSession.open(channel, { commandTimeoutMs: 10_000 }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('DEBUGGER_EXITED');
    expect(error.message).toMatch(/the debugger exited \(exit code 2\); its last words on stderr: scenario\.yaml:9:14 SCENARIO_SCHEMA: tag must be 1-4 characters \| spec -k net:port=50000,key=\*\*\*$/);
    expect(error.message).not.toContain('1.2.3.4');
    expect(error.message).not.toMatch(/\n/);
  }, 20_000);

  test('a console that wrote nothing to stderr gets the plain message', async () => {
    const channel = new ProcessChannel(process.execPath, ['-e', 'process.exit(3)']);
    const error = (await KdConsoleSession.open(channel, { commandTimeoutMs: 10_000 }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('DEBUGGER_EXITED');
    expect(error.message).toMatch(/the debugger exited \(exit code 3\)$/);
  }, 20_000);
});
