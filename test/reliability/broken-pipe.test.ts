// A reader that goes away early (`leakhunt run --json | head`) closes the pipe under leakhunt:
// it used to die of an unhandled EPIPE with a stack trace. Now the rest of the output is dropped
// quietly, and a run still finishes with its cleanup (the target is never left tagged or halted).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { bin, ensureBuilt, root, stackTrace } from './corpus.js';

// Spawn the built CLI with its stdout (or stderr) pipe closed by the reader at once.
function withClosedPipe(args: readonly string[], closed: 'stdout' | 'stderr'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child[closed].destroy();
    const open = closed === 'stdout' ? child.stderr : child.stdout;
    let output = '';
    open.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(() => {
  ensureBuilt();
  expect(existsSync(bin)).toBe(true);
}, 180_000);

describe('a closed output pipe', () => {
  test('leakhunt plugins --json | (reader gone): exit 0, no EPIPE, no stack trace', async () => {
    const result = await withClosedPipe(['plugins', '--json'], 'stdout');
    expect(result.output).not.toMatch(/EPIPE/);
    expect(result.output).not.toMatch(stackTrace);
    expect(result.code).toBe(0);
  }, 60_000);

  test('leakhunt run --json | (reader gone): the run still ends with its cleanup and exit 0', async () => {
    const runDir = join(mkdtempSync(join(tmpdir(), 'leakhunt-pipe-')), 'run');
    const result = await withClosedPipe(['run', 'playbooks/rank-only.yaml', '--json', '--target', 'sim:win7-sp1-x64', '--out', runDir], 'stdout');
    expect(result.output).not.toMatch(/EPIPE/);
    expect(result.output).not.toMatch(stackTrace);
    expect(result.code).toBe(0);
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string; status?: string });
    expect(events.at(-1)).toMatchObject({ event: 'runEnd', status: 'succeeded' });
  }, 90_000);

  test('leakhunt validate with its stderr closed: exit 2 (the problems are still counted), no crash', async () => {
    const result = await withClosedPipe(['validate', 'test/fixtures/hostile/playbooks/tag-five-characters.yaml'], 'stderr');
    expect(result.code).toBe(2);
    expect(result.output).toBe('');
  }, 60_000);
});
