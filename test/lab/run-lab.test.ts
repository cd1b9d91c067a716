// The lab scheduler with a stand-in for the hunt: at most N targets at once, a hung target
// stopped by its timeout while the others finish, a crash in one target's hunt kept to that
// target, a stop aborting the running ones and leaving the queued ones not-run, JSON lines
// carrying the target's name.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { LabTarget } from '../../src/lab/inventory.js';
import { runLab, targetDir, type TargetRun } from '../../src/lab/run.js';

const target = (name: string): LabTarget => ({ name, spec: `sim:${name}`, shownSpec: `sim:${name}`, inputs: {}, labels: {}, runner: [], groups: [] });
const sink = () => {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) };
};
// Resolves when the run's signal aborts (a hunt that stops at the next step boundary).
const untilAborted = (run: TargetRun, code: number) => new Promise<number>((resolve) => run.signal.signal.addEventListener('abort', () => resolve(code), { once: true }));

describe('runLab', () => {
  test('never more than --parallel targets at once, each in its own directory', async () => {
    const labDir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-unit-'));
    let running = 0;
    let most = 0;
    const out = sink();
    const lab = runLab({
      labDir,
      targets: ['a', 'b', 'c', 'd', 'e'].map(target),
      parallel: 2,
      out,
      runTarget: async (run) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        expect(run.runDir).toBe(targetDir(labDir, run.target.name));
        return 0;
      },
    });
    const records = await lab.done;
    expect(most).toBe(2);
    expect(records.map((r) => [r.name, r.status])).toEqual(['a', 'b', 'c', 'd', 'e'].map((name) => [name, 'succeeded']));
    expect(JSON.parse(readFileSync(join(labDir, 'targets', 'c', 'lab-target.json'), 'utf8'))).toMatchObject({ name: 'c', status: 'succeeded', exitCode: 0 });
    expect(out.lines.at(-1)).toBe('lab      e: succeeded; 5/5 finished (5 succeeded, 0 not), 0 running, 0 waiting');
  });

  test('a hung target is stopped by its timeout, a crashing one fails alone, the others succeed', async () => {
    const labDir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-unit-'));
    const lab = runLab({
      labDir,
      targets: ['hang', 'crash', 'ok'].map(target),
      parallel: 3,
      targetTimeoutMs: 1,
      out: sink(),
      runTarget: (run) => (run.target.name === 'hang' ? untilAborted(run, 1) : run.target.name === 'crash' ? Promise.reject(new Error('boom')) : Promise.resolve(0)),
    });
    // `ok` resolves at once, before its 1 ms timer can fire; `hang` resolves only when stopped.
    expect((await lab.done).map((r) => [r.name, r.status])).toEqual([['hang', 'timed-out'], ['crash', 'failed'], ['ok', 'succeeded']]);
  });

  test('a stop aborts the running targets (a second stop their cleanup) and leaves the queued ones not-run', async () => {
    const labDir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-unit-'));
    const started: TargetRun[] = [];
    let lab: ReturnType<typeof runLab>;
    const bothStarted = new Promise<void>((resolve) => {
      lab = runLab({
        labDir,
        targets: ['a', 'b', 'c'].map(target),
        parallel: 2,
        json: true,
        out: sink(),
        runTarget: (run) => {
          started.push(run);
          if (started.length === 2) resolve();
          return new Promise<number>((done) => run.cleanupSignal.signal.addEventListener('abort', () => done(1), { once: true }));
        },
      });
    });
    await bothStarted;
    lab!.stop();
    expect(started.map((run) => run.signal.signal.aborted)).toEqual([true, true]);
    lab!.stop();
    expect((await lab!.done).map((r) => [r.name, r.status])).toEqual([['a', 'aborted'], ['b', 'aborted'], ['c', 'not-run']]);
    expect(started).toHaveLength(2);
  });

  test('--json: the lab\'s lines and every target\'s events are JSON objects with the target\'s name', async () => {
    const out = sink();
    await runLab({
      labDir: mkdtempSync(join(tmpdir(), 'leakhunt-lab-unit-')),
      targets: [target('w7')],
      parallel: 1,
      json: true,
      out,
      runTarget: async (run) => {
        await run.reporter.onLog?.({ event: 'log', time: new Date().toISOString(), level: 'info', message: 'hello' });
        return 0;
      },
    }).done;
    const events = out.lines.map((line) => JSON.parse(line));
    expect(events.find((e) => e.event === 'log')).toMatchObject({ target: 'w7', message: 'hello' });
    expect(events.filter((e) => e.event === 'lab').at(-1)).toMatchObject({ finished: 1, succeeded: 1, total: 1 });
  });
});
