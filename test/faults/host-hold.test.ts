// The simulated target machine's command line (`leakhunt sim-host`) held by a hold-at fault, as
// the terminal trial "Ctrl+C during tagging" holds `gflags /r +ptg`: the command waits, unrun,
// until the harness releases it (SIGUSR2) or a Ctrl+C ends it. Real child processes.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { cli, releaseHold, signalHolder, waitForHold } from './harness.js';

// `leakhunt sim-host -- gflags /r +ptg` on a fresh machine folder, held at `+ptg`.
function heldGflags() {
  const state = mkdtempSync(join(tmpdir(), 'leakhunt-host-hold-'));
  const gflags = (...args: string[]) => execa(process.execPath, [cli, 'sim-host', '--state', state, '--', 'gflags', '/r', ...args], { reject: false, env: { LEAKHUNT_SIM_FAULTS: 'hold-at:+ptg' } });
  return { state, held: gflags('+ptg'), gflags };
}

describe.runIf(existsSync(cli))('a held host command', () => {
  test('waits for its release, then runs and prints what gflags prints', async () => {
    const { state, held } = heldGflags();
    const notice = await waitForHold(state, held);
    expect(notice?.where).toBe('host command "gflags /r +ptg"');
    releaseHold(notice!);
    const result = await held;
    expect([result.exitCode, result.stdout]).toEqual([0, 'Current Boot Registry Settings are: 00000400\r\n    ptg - Enable pool tagging']);
  }, 30_000);

  test('a Ctrl+C while it waits ends it unrun: the registry keeps its flags', async () => {
    const { state, held, gflags } = heldGflags();
    const notice = await waitForHold(state, held);
    expect(signalHolder(notice!, 'SIGINT')).toBe(true);
    const result = await held;
    expect([result.signal, result.stdout]).toEqual(['SIGINT', '']);
    const after = await gflags();
    expect(after.stdout).toBe('Current Boot Registry Settings are: 00000000');
  }, 30_000);
});
