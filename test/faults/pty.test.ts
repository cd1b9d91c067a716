// The fast subset of the terminal trials (issue 13 §1), inside npm test: leakhunt in a real
// pseudo-terminal (tmux), stopped by Ctrl+C once, Ctrl+C twice and the terminal closing, each
// at a moment the simulator holds for (or, for tagging, the target machine's command line: the
// Ctrl+C reaches the host command as well as leakhunt). The whole set runs in npm run test:faults.
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { cli } from './harness.js';
import { checkPtyTrial, haveTmux, ptyTrials, runPtyTrials } from './pty.js';

const subset = ['Ctrl+C during retag', 'Ctrl+C twice during collect', 'terminal closed during retag', 'Ctrl+C during tagging'].map((name) => ptyTrials.find((trial) => trial.name === name)!);

describe.runIf(existsSync(cli) && haveTmux)('leakhunt at a terminal', () => {
  test('Ctrl+C, Ctrl+C twice, terminal closed, Ctrl+C in a host command: exit 1, one cause line, the target clean', async () => {
    const outcomes = await runPtyTrials(subset, 3);
    expect(outcomes.flatMap(checkPtyTrial)).toEqual([]);
    // The keys went in during the step each trial names, and leakhunt took each of them.
    expect(outcomes.map((o) => [o.faultStep, o.signalsSeen])).toEqual([['retag', 1], ['collect', 2], ['retag', 1], ['tagging', 1]]);
    // The Ctrl+C came while `gflags /r +ptg` ran on the target machine: the run says it was interrupted.
    expect(outcomes[3]!.heldAt).toBe('host command "gflags /r +ptg"');
    expect(outcomes[3]!.screen).toMatch(/^error RUN_ABORTED: /m);
    // At a terminal the live task list was drawn (the trial ran as a person runs it).
    expect(outcomes[0]!.screen).toMatch(/Retag the call sites/);
    expect(outcomes[0]!.screen).toMatch(/SIGINT \(Ctrl\+C\): stopping the current step/);
  }, 120_000);
});
