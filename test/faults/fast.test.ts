// The fast subset of the fault matrix (issue 7 §1), inside npm test: one trial of each fault kind
// against the simulator process, checked as the long run checks them (npm run test:faults).
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { checkTrial, cli, makeTrial, runTrials, type Trial } from './harness.js';

// Early moments, so the subset stays under a minute on a busy machine.
const trials: Trial[] = [

  { ...makeTrial(0, 1, 'exit-after'), faults: ['exit-after:40'] },
  { ...makeTrial(1, 1, 'exit-after'), faults: ['exit-after:120'] },
  { ...makeTrial(2, 1, 'garbage'), faults: ['garbage:0.2'] },
  { ...makeTrial(3, 1, 'truncate'), faults: ['truncate:60'] },
  { ...makeTrial(4, 1, 'stall'), faults: ['stall:30@3'] },
  { ...makeTrial(5, 1, 'sigint'), signal: { name: 'SIGINT', atMs: 2500, count: 1 } },
  { ...makeTrial(6, 1, 'sigterm'), signal: { name: 'SIGTERM', atMs: 3500, count: 2 } },
  { ...makeTrial(7, 1, 'sigint'), signal: { name: 'SIGINT', atMs: 3000, count: 3 } },
  { ...makeTrial(8, 1, 'dir-gone'), unwritable: { atMs: 3000 } },
  { ...makeTrial(9, 1, 'disk-full'), unwritable: { atMs: 3000, file: 'stacks.jsonl' } },
];

describe.runIf(existsSync(cli))('fault matrix, fast subset', () => {
  test('ten faults: target left clean (or restored by the next run), one-line cause, JSON lines intact', async () => {
    const problems: string[] = [];
    const outcomes = await runTrials(trials, 3, (_outcome, found) => problems.push(...found));
    expect(problems).toEqual([]);
    // The faults really happened: the debugger died where it was told to, signals were sent.
    expect(outcomes[0]!.debuggerDied).toBe(true);
    expect(outcomes[0]!.recovery?.exitCode).toBe(0);
    expect(outcomes[5]!.signalsSent).toBe(1);
    expect(outcomes[5]!.exitCode).toBe(1);
    expect(outcomes[8]!.brokeRunDir).toBe(true);
    expect(outcomes[8]!.exitCode).toBe(1);
    expect(outcomes[8]!.stderr).toMatch(/error RUN_ABORTED: .*cannot write .* ENOTDIR/);
    expect(outcomes[9]!.stderr).toMatch(/ENOSPC/);
  }, 170_000);
});
