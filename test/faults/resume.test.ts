// `leakhunt resume <run-dir>` (issue 7 §2): a hunt interrupted by Ctrl+C after collect-stacks
// finished is taken up again; the verdict comes without collecting again, from the stacks and
// outputs the first run recorded, and the target is left clean. One interrupted during
// collect-stacks collects again, and stacks.jsonl holds each stack once.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { cli, commandTimeout, huntInputs, playbook, POOL_HIT_TAG_DEFAULT, readJsonLines, releaseHold, retagInputs, root, signalAcknowledged, targetSpec, waitForHold, waitForText } from './harness.js';

/**
 * Start a hunt on a fresh simulated machine and press Ctrl+C (SIGINT) at a moment of the run
 * (a hold-at fault: the target waits there until leakhunt has taken the signal).
 */
async function interruptedHunt(moment: string, inputs: string[]) {
  const machine = mkdtempSync(join(tmpdir(), 'leakhunt-resume-'));
  mkdirSync(join(machine, 'runs'));
  const runDir = join(machine, 'runs', 'hunt');
  const child = execa(process.execPath, [cli, 'run', playbook, '--out', runDir, '--target', targetSpec(machine, 23), '--command-timeout', commandTimeout, ...inputs.flatMap((i) => ['--input', i])], { reject: false, cwd: root, forceKillAfterDelay: false, env: { LEAKHUNT_SIM_FAULTS: moment } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer | string) => (stderr += String(chunk)));
  const ended = child.then(() => undefined);
  const held = await waitForHold(machine, ended);
  expect(held, `the run never reached ${moment}`).toBeDefined();
  process.kill(child.pid!, 'SIGINT');
  await waitForText(() => stderr, signalAcknowledged[0]!, ended);
  releaseHold(held!);
  return { machine, runDir, first: await child };
}

describe.runIf(existsSync(cli))('leakhunt resume', () => {
  test('SIGINT after collect, then resume: the verdict names the leaking site, no stack is collected again', async () => {
    // Ctrl+C in retag, as it disassembles its first site: collect has finished.
    const { machine, runDir, first } = await interruptedHunt('hold-at:L10#1', retagInputs);
    const events = () => readJsonLines(join(runDir, 'events.jsonl')).values;
    expect(first.exitCode, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/^error RUN_ABORTED: /m);
    const collectEnd = events().find((e) => e['event'] === 'stepEnd' && e['step'] === 'collect')!;
    expect(collectEnd['status']).toBe('ok');
    const stacksBefore = readFileSync(join(runDir, 'stacks.jsonl'), 'utf8');
    expect(stacksBefore.split('\n').filter(Boolean).length).toBe((collectEnd['outputs'] as { stacks: number }).stacks);
    const linesBefore = events().length;
    type ReportStep = { id: string; status: string };
    const unfinished = (steps: ReportStep[]) => steps.filter((s) => s.status === 'failed').map((s) => s.id);
    const firstReport = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    expect(unfinished(firstReport.steps).length).toBeGreaterThan(0);

    const resumed = await execa(process.execPath, [cli, 'resume', runDir], { reject: false, cwd: root });
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    const after = events().slice(linesBefore);
    const started = after.filter((e) => e['event'] === 'stepStart').map((e) => e['step']);
    expect(started).not.toContain('collect');
    expect(started).not.toContain('rank');
    const collected = (collectEnd['outputs'] as { allocSites: number }).allocSites;
    if (collected > 1) expect(started).toContain('retag');
    expect(after.some((e) => e['event'] === 'log' && /reused from the interrupted run/.test(String(e['message'])) && e['step'] === 'collect')).toBe(true);
    // Not one stack more: what was collected is what the verdict used.
    expect(readFileSync(join(runDir, 'stacks.jsonl'), 'utf8')).toBe(stacksBefore);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    expect(report.verdict).toBe('leak');
    expect(report.culprit).toMatchObject({ module: 'xyzflt', function: 'XyzAllocateRequest' });
    // This verdict is the resumed run's: the step aborted the first time finished now, none failed.
    expect(started).toContain('verdict');
    expect(unfinished(report.steps)).toEqual([]);
    expect(report.steps.map((s: ReportStep) => s.id)).toEqual(firstReport.steps.map((s: ReportStep) => s.id));
    const state = JSON.parse(readFileSync(join(machine, 'sim-state.json'), 'utf8'));
    expect(state).toMatchObject({ poolHitTag: POOL_HIT_TAG_DEFAULT, patchedBytes: [], halted: false });
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).resumedAt).toHaveLength(1);
  }, 120_000);

  test('Ctrl+C during collect, then resume: collect runs again and stacks.jsonl holds its stacks once, the partial ones set aside', async () => {
    const { runDir, first } = await interruptedHunt('hold-at-hit:6', [...huntInputs, 'stacks=20']);
    expect(first.exitCode, first.stderr).toBe(1);
    const stacksFile = join(runDir, 'stacks.jsonl');
    const partial = readJsonLines(stacksFile).values;
    expect(partial.length).toBeGreaterThan(0);
    const resumed = await execa(process.execPath, [cli, 'resume', runDir], { reject: false, cwd: root });
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    const stacks = readJsonLines(stacksFile).values;
    const seqs = stacks.map((line) => line['seq']);
    // Each stack once: no sequence number twice, as many as the resumed collect reported.
    expect(new Set(seqs).size).toBe(seqs.length);
    const events = readJsonLines(join(runDir, 'events.jsonl')).values;
    const collectEnds = events.filter((e) => e['event'] === 'stepEnd' && e['step'] === 'collect');
    expect((collectEnds.at(-1)!['outputs'] as { stacks: number }).stacks).toBe(stacks.length);
    // The interrupted collect's stacks are kept aside, not lost.
    expect(readJsonLines(join(runDir, 'stacks.interrupted.jsonl')).values).toEqual(partial);
  }, 120_000);

  test('resume of a folder that is not a run directory is a usage error with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-not-a-run-'));
    const result = await execa(process.execPath, [cli, 'resume', dir], { reject: false, cwd: root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(join(dir, 'run.json'));
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
