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
  { ...makeTrial(9, 1, 'disk-full'), unwritable: { atMs: 2500, file: 'events.jsonl' } },
  // Output cut so short that no framing marker survives: the session never opens, the target must still run on.
  { ...makeTrial(10, 1, 'truncate'), faults: ['truncate:19'] },
  // Ctrl+C while leakhunt is still loading its command: one line, exit 1, nothing sent.
  { ...makeTrial(11, 1, 'sigint'), signal: { name: 'SIGINT', atMs: 250, count: 1 } },
  { ...makeTrial(12, 1, 'reboot'), faults: ['reboot-at-hit:3'] },
];

describe.runIf(existsSync(cli))('fault matrix, fast subset', () => {
  test('thirteen faults: target left clean (or restored by the next run), one-line cause, JSON lines intact', async () => {
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
    expect(outcomes[10]!.exitCode).toBe(1);
    expect(outcomes[10]!.state?.halted).toBe(false);
    // Exit 1 with its one line, unless the signal beat node's own start-up (then nothing ran at all).
    expect(outcomes[11]!.exitCode === 1 || outcomes[11]!.preStart).toBe(true);
    expect(outcomes[12]!.rebootDuring).toBe('collect');
  }, 170_000);
});
