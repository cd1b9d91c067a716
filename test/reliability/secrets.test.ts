// Issue 7 §3: a KDNET key given in a kd:/process: target spec appears in no file and no terminal
// output of a run. The CLI is spawned as a user runs it against the scripted kd stand-in (its
// command line carries the key, as kd.exe's would); then everything written is searched: every
// file of the run directory, stdout and stderr.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { bin, ensureBuilt, fakeKd, leakhunt, stackTrace } from './corpus.js';
import type { CliResult } from './corpus.js';

const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-secrets-'));
// The key from the issue, and one no output could contain by chance.
const keys = ['1.2.3.4', 'zq7k.m3x9.p2w8.h5v1'];
const connection = (key: string) => `-k net:port=50000,key=${key}`;
// The stand-in answers vertarget, !poolused and the memory commands from real transcripts.
const fakeConfig = { files: ['vertarget-win10-x64-2.txt', 'poolused-win10-x64-1.txt', 'db-winxp-x86-1.txt', 'dd-win7-x86-1.txt', 'reload-winxp-x86-1.txt'] };

// Every file under a folder, with its bytes as text.
function filesUnder(dir: string): { path: string; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path).toString('latin1') }];
  });
}

// Where a key leaked: file paths, or 'stdout' / 'stderr'.
function leaks(result: CliResult, runDir: string, key: string): string[] {
  const places = filesUnder(runDir).filter((file) => file.text.includes(key)).map((file) => file.path);
  if (result.stdout.includes(key)) places.push('stdout');
  if (result.stderr.includes(key)) places.push('stderr');
  return places;
}

// Run the CLI with a target spec; returns the result and its run directory.
async function runWith(args: string[], env: Record<string, string> = {}): Promise<{ result: CliResult; runDir: string }> {
  const runDir = join(mkdtempSync(join(scratch, 'run-')), 'run');
  const result = await leakhunt([...args, '--out', runDir], { env: { FAKE_KD: JSON.stringify(fakeConfig), ...env }, timeoutMs: 60_000 });
  expect(result.timedOut).toBe(false);
  return { result, runDir };
}

beforeAll(() => {
  ensureBuilt();
  expect(existsSync(bin)).toBe(true);
}, 180_000);

describe('a planted KDNET key never leaves the target spec', () => {
  test.each(keys)('process: target, JSON events, full run (key %s)', async (key) => {
    const { result, runDir } = await runWith(['run', 'playbooks/rank-only.yaml', '--json', '--input', 'samples=1', '--target', `process:"${process.execPath}" "${fakeKd}" ${connection(key)}`]);
    // The run talked to the stand-in and wrote what a run writes.
    const transcript = readFileSync(join(runDir, 'transcript.jsonl'), 'utf8');
    expect(transcript).toContain('"command":"vertarget"');
    expect(existsSync(join(runDir, 'events.jsonl'))).toBe(true);
    expect(result.stdout).toContain('"event":"runStart"');
    // The spec is shown, redacted.
    expect(result.stdout).toContain('key=***');
    expect(leaks(result, runDir, key)).toEqual([]);
    expect(result.stderr).not.toMatch(stackTrace);
  }, 90_000);

  test('kd: target (kd.exe named by LEAKHUNT_KD), check mode with plain output', async () => {
    const key = keys[1]!;
    const kd = join(scratch, 'kd');
    writeFileSync(kd, `#!/bin/sh\nexec "${process.execPath}" "${fakeKd}" "$@"\n`);
    chmodSync(kd, 0o755);
    const { result, runDir } = await runWith(['run', 'playbooks/find-pool-leak.yaml', '--check', '--target', `kd:${connection(key)}`], { LEAKHUNT_KD: kd });
    expect(result.code).toBe(0);
    expect(readFileSync(join(runDir, 'transcript.jsonl'), 'utf8')).toContain('"command":"vertarget"');
    expect(existsSync(join(runDir, 'plan.json'))).toBe(true);
    expect(result.stdout).toContain('pool.rank-tags');
    expect(leaks(result, runDir, key)).toEqual([]);
  }, 90_000);

  test('a console that cannot be started: the error names the program, not the key', async () => {
    const key = keys[1]!;
    const { result, runDir } = await runWith(['run', 'playbooks/rank-only.yaml', '--target', `process:${join(scratch, 'no-such-kd')} ${connection(key)}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DEBUGGER_NOT_FOUND|SESSION_FAILED/);
    expect(leaks(result, runDir, key)).toEqual([]);
    expect(result.stderr).not.toMatch(stackTrace);
  }, 60_000);
});
