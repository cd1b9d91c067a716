// A hunt recorded once can be replayed as a session (replay:<transcript.jsonl>): the same
// commands in the same order get the recorded answers, so the verdict comes out the same — the
// way a hunt recorded with a real kd on Windows is replayed in CI on Linux.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const playbook = join(root, 'playbooks/find-pool-leak.yaml');

// `leakhunt run` as a user runs it; returns the run directory, the process result and report.json.
async function run(target: string, args: string[] = [], book = playbook) {
  const out = mkdtempSync(join(tmpdir(), 'leakhunt-replay-'));
  const result = await execa(process.execPath, [cli, 'run', book, '--target', target, '--out', out, ...args], { reject: false, cwd: root, timeout: 170_000 });
  const report = existsSync(join(out, 'report.json')) ? JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) : undefined;
  return { out, result, report };
}

describe.runIf(existsSync(cli))('replay of a recorded hunt', () => {
  test('replaying a recorded Windows 11 hunt gives the same verdict and culprit without a target', async () => {
    const recorded = await run(`sim:${join(root, 'scenarios/win11-24h2-leak.yaml')}`);
    expect(recorded.result.exitCode, recorded.result.stderr).toBe(0);
    const replayed = await run(`replay:${join(recorded.out, 'transcript.jsonl')}`);
    expect(replayed.result.exitCode, replayed.result.stderr).toBe(0);
    expect(replayed.report.verdict).toBe(recorded.report.verdict);
    expect(replayed.report.culprit).toEqual(recorded.report.culprit);
    expect(replayed.report.target.os).toEqual(recorded.report.target.os);
    expect(existsSync(join(replayed.out, 'sim-state.json'))).toBe(false);
  }, 300_000);

  test('a recording that differs from what the playbook sends stops at the first divergent command', async () => {
    const recorded = await run(`sim:${join(root, 'scenarios/win11-24h2-leak.yaml')}`);
    const lines = readFileSync(join(recorded.out, 'transcript.jsonl'), 'utf8').trim().split('\n');
    const index = lines.findIndex((line) => JSON.parse(line).command === '.reload /f');
    expect(index).toBeGreaterThan(0);
    lines[index] = lines[index]!.replace('.reload /f', '.reload');
    const edited = join(recorded.out, 'edited.jsonl');
    writeFileSync(edited, `${lines.join('\n')}\n`);
    const replayed = await run(`replay:${edited}`);
    expect(replayed.result.exitCode).not.toBe(0);
    expect(replayed.result.stderr).toMatch(/REPLAY_DIVERGED|diverge/i);
    expect(replayed.result.stderr).toContain('.reload /f');
  }, 300_000);

  test('a fast-mode collection recorded in streamed pieces replays to the same stacks', async () => {
    const book = join(root, 'playbooks/collect-stacks.yaml');
    const args = ['--input', 'tag=Lk24', '--input', 'mode=fast', '--input', 'count=400'];
    const recorded = await run(`sim:${join(root, 'scenarios/win11-24h2-leak.yaml')}`, args, book);
    expect(recorded.result.exitCode, recorded.result.stderr).toBe(0);
    // The stream was long enough to be recorded in pieces before its stop.
    expect(readFileSync(join(recorded.out, 'transcript.jsonl'), 'utf8')).toContain('"kind":"partial"');
    const replayed = await run(`replay:${join(recorded.out, 'transcript.jsonl')}`, args, book);
    expect(replayed.result.exitCode, replayed.result.stderr).toBe(0);
    // Same stacks in the same order; only the wall-clock time of each differs.
    const stacks = (out: string) => readFileSync(join(out, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => {
      const { atMs: _atMs, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return rest;
    });
    expect(stacks(replayed.out)).toHaveLength(400);
    expect(stacks(replayed.out)).toEqual(stacks(recorded.out));
  }, 300_000);
});
