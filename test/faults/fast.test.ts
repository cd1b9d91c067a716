// The fast subset of the fault matrix (issue 7 §1), inside npm test: one trial of each fault kind
// against the simulator process, checked as the long run checks them (npm run test:faults).
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { atSpawn, checkTrial, cli, makeTrial, retagInputs, runTrials, type Trial } from './harness.js';

// Faults at moments of the run (the simulator holds there until the harness has acted), so each
// one lands where it is meant to however fast or busy the host.
const trials: Trial[] = [

  // The simulator's own fault: it exits after its 40th command (a hunt sends more than that).
  { ...makeTrial(0, 1, 'exit-after'), debuggerExit: undefined, faults: ['exit-after:40'] },
  // The debugger killed at a PoolHitTag break in collect (a moment, not a command count).
  { ...makeTrial(1, 1, 'exit-after'), debuggerExit: { at: 'hold-at-hit:2' } },
  { ...makeTrial(2, 1, 'garbage'), faults: ['garbage:0.2'] },
  { ...makeTrial(3, 1, 'truncate'), faults: ['truncate:60'] },
  // The debugger stopped for 3 s (twice the command timeout) before rank's second snapshot.
  { ...makeTrial(4, 1, 'stall'), stall: { at: 'hold-at:!poolused#2', seconds: 3 } },
  { ...makeTrial(5, 1, 'sigint'), signal: { name: 'SIGINT', at: 'hold-at:!poolused#2', count: 1 } },
  { ...makeTrial(6, 1, 'sigterm'), signal: { name: 'SIGTERM', at: 'hold-at-hit:3', count: 2 } },
  { ...makeTrial(7, 1, 'sigint'), signal: { name: 'SIGINT', at: 'hold-at:L10#1', count: 3 }, inputs: retagInputs, seed: 23 },
  { ...makeTrial(8, 1, 'dir-gone'), unwritable: { at: 'hold-at-hit:2' } },
  { ...makeTrial(9, 1, 'disk-full'), unwritable: { at: 'hold-at:!poolused#1', file: 'events.jsonl' } },
  // Output cut so short that no framing marker survives: the session never opens, the target must still run on.
  { ...makeTrial(10, 1, 'truncate'), faults: ['truncate:19'] },
  // Ctrl+C while leakhunt is still loading its command: one line, exit 1, nothing sent.
  { ...makeTrial(11, 1, 'sigint'), signal: { name: 'SIGINT', at: atSpawn, count: 1 } },
  { ...makeTrial(12, 1, 'reboot'), faults: ['reboot-at-hit:3'] },
];

describe.runIf(existsSync(cli))('fault matrix, fast subset', () => {
  test('thirteen faults: target left clean (or restored by the next run), one-line cause, JSON lines intact', async () => {
    const problems: string[] = [];
    const outcomes = await runTrials(trials, 3, (_outcome, found) => problems.push(...found));
    expect(problems).toEqual([]);
    // Every fault fired, at the step it was meant for.
    expect(outcomes.filter((o) => !o.fired).map((o) => o.trial.id)).toEqual([]);
    expect(outcomes.slice(5, 10).map((o) => o.faultStep)).toEqual(['rank', 'collect', 'retag', 'collect', 'rank']);
    expect([outcomes[1]!.faultStep, outcomes[4]!.faultStep]).toEqual(['collect', 'rank']);
    expect(outcomes[1]!.killedDebugger && outcomes[1]!.debuggerDied).toBe(true);
    expect(outcomes[1]!.recovery?.exitCode).toBe(0);
    expect(outcomes[4]!.stalledDebugger).toBe(true);
    // The faults really happened: the debugger died where it was told to, signals were sent.
    expect(outcomes[0]!.debuggerDied).toBe(true);
    expect(outcomes[0]!.recovery?.exitCode).toBe(0);
    expect(outcomes[5]!.signalsSent).toBe(1);
    expect(outcomes[5]!.exitCode).toBe(1);
    expect(outcomes[6]!.signalsSent).toBe(2);
    expect(outcomes[7]!.signalsSent).toBe(3);
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
