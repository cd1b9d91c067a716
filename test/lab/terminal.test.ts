// A lab run at a real terminal (tmux), as a person runs it: the live task list drawn, Ctrl+C
// typed while one target is collecting (PoolHitTag set) and another retagging (a call site
// patched), a third still waiting. Every running target's cleanup runs: each one's machine ends
// with PoolHitTag as found, no patched bytes and not halted; the waiting one is left for resume.
// Ctrl+C twice skips the cleanup steps but still restores what was written; the terminal closing
// (SIGHUP) is taken like Ctrl+C. Each simulator holds at its moment until the keys are in
// (hold-at faults), so the trial lands there however fast the host.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { cli, POOL_HIT_TAG_DEFAULT, releaseHold, root, scenario, stepAt, waitForHold } from '../faults/harness.js';
import { haveTmux, plainScreen } from '../faults/pty.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
// Short hunts; retag=always so the retag target retags whatever the stacks explain.
const inputs = '{ samples: 2, interval: 500ms, stacks: 40, collect-timeout: 60s, retag-duration: 1s, retag: always }';

const actions = ['ctrl-c', 'ctrl-c-twice', 'hangup'] as const;

describe.runIf(existsSync(cli) && haveTmux)('a lab run at a terminal', () => {
test.each(actions)('%s while targets collect and retag: every running target restored, the waiting one not run', async (action) => {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-pty-'));
  const labDir = join(dir, 'lab');
  // Two machines behind process: (the simulator with a hold of its own: in collect at its third
  // PoolHitTag break; in retag before the second site is patched to tag Xyz2, the first one patched
  // to Xyz1 already: `eb <address> 58 79 7a 32`; plain `eb` would also match a framing marker).
  const machines = { collect: 'hold-at-hit:3', retag: 'hold-at:7a 32#1' };
  const machineDir = (name: string) => join(dir, 'machines', name);
  const lines = Object.entries(machines).map(([name, fault]) => {
    mkdirSync(machineDir(name), { recursive: true });
    const q = JSON.stringify;
    return `  - { name: ${name}, inputs: ${inputs}, target: ${q(`process:${q(process.execPath)} ${q(cli)} sim --scenario ${q(scenario)} --state-out ${q(join(machineDir(name), 'sim-state.json'))} --host-state ${q(machineDir(name))} --fault ${q(fault)}`)} }`;
  });
  writeFileSync(join(dir, 'lab.yaml'), `targets:\n${lines.join('\n')}\n  - { name: waiting, inputs: ${inputs}, target: ${JSON.stringify(`sim:${scenario}`)} }\n`);

  // The pane's shell stands in for a person's: leakhunt its job on the terminal, Ctrl+C reaching
  // leakhunt's process group only; the shell records the exit code. No CI variables (they change the drawing).
  const exitFile = join(dir, 'exit-code');
  const command = [process.execPath, cli, 'run', join(root, 'playbooks/find-pool-leak.yaml'), '--inventory', join(dir, 'lab.yaml'), '--parallel', '2', '--out', labDir].map(sh).join(' ');
  writeFileSync(join(dir, 'command.sh'), [`cd ${sh(root)}`, 'exec 3<&0', `env -u CI -u VITEST -u VITEST_WORKER_ID -u VITEST_POOL_ID -u NODE_ENV ${command} <&3 &`, 'child=$!', `trap 'kill -HUP $child 2>/dev/null' HUP`, `trap ':' INT`, 'while kill -0 $child 2>/dev/null; do wait $child; done', 'wait $child', `echo $? > ${sh(exitFile)}`, ''].join('\n'));
  const socket = `leakhunt-lab-pty-${process.pid}-${Date.now().toString(36)}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', '/dev/null', ...args], { reject: false });
  const paneLog = join(dir, 'pane.log');
  await tmux('new-session', '-d', '-x', '200', '-y', '50', `sh ${sh(join(dir, 'command.sh'))}`);
  await tmux('pipe-pane', '-o', `cat >> ${sh(paneLog)}`);
  const ended = (async () => {
    while (!existsSync(exitFile)) await sleep(25);
  })();
  const screen = async () => String((await tmux('capture-pane', '-p', '-t', '0')).stdout);
  try {
    // Both running targets at their moments.
    const held = await Promise.all(Object.keys(machines).map((name) => waitForHold(machineDir(name), ended)));
    expect(held.every(Boolean), 'a target ended before its moment').toBe(true);
    // At the moment, each has a write of its own on the target to undo (PoolHitTag; a patched call site).
    const runDir = (name: string) => join(labDir, 'targets', name);
    expect(loadPendingUndo(runDir('collect')).map((r) => r.purpose)).toEqual(['PoolHitTag']);
    const patched = loadPendingUndo(runDir('retag')).map((r) => r.purpose);
    expect(patched.length).toBeGreaterThan(0);
    for (const purpose of patched) expect(purpose).toMatch(/^retag site /);
    // The live list shows the lab and the step each target is on.
    const before = await screen();
    expect(before).toMatch(/lab {2}0\/3 finished \(0 succeeded, 0 not\) · 2 running · 1 waiting/);
    expect(before).toMatch(/collect {2}step \d+\/\d+ collect {2}pool\.collect-stacks/);
    expect(before).toMatch(/retag {2}step \d+\/\d+ retag {2}pool\.retag-sites/);

    const shownOnScreen = () => (existsSync(paneLog) ? plainScreen(readFileSync(paneLog, 'utf8')) : '');
    // Every running target's events.jsonl records each stop the lab took.
    const stopsRecorded = (name: string) => readFileSync(join(runDir(name), 'events.jsonl'), 'utf8').split('\n').filter((line) => /"level":"warn".*(: stopping every running target| again: skipping the remaining cleanup)/.test(line)).length;
    // A target whose hunt ended before a second stop (its hold was at a PoolHitTag break, which the
    // first stop's break-in ends) cannot take it; the retag target, held in a command, always can.
    const finished = (name: string) => json(join(runDir(name), 'lab-target.json')).status !== 'not-run';
    const recorded = async (count: number) => {
      const taken = (name: string) => stopsRecorded(name) >= count || (count > 1 && finished(name));
      while (!Object.keys(machines).every(taken) && !existsSync(exitFile)) await sleep(25);
      return Object.keys(machines).every(taken) && stopsRecorded('retag') >= count;
    };
    if (action === 'hangup') {
      // The terminal goes away (nothing to read on it any more): the lab's record of the stop, then the debuggers answer.
      await tmux('kill-server');
      expect(await recorded(1), 'the lab did not record the hangup').toBe(true);
      for (const notice of held) releaseHold(notice!);
    } else {
      // Each press is taken once the lab's line says so (the keys went in while both held).
      const pressed = [/stopping: each running target runs its cleanup/, /stopping: cleanup steps skipped, writes still restored/].slice(0, action === 'ctrl-c' ? 1 : 2);
      for (const taken of pressed) {
        await tmux('send-keys', '-t', '0', 'C-c');
        let shown = false;
        while (!(shown = taken.test(await screen())) && !existsSync(exitFile)) await sleep(25);
        expect(shown, `the lab did not show ${taken}`).toBe(true);
        expect(await recorded(pressed.indexOf(taken) + 1), 'the lab did not record the stop').toBe(true);
      }
      // The debuggers answer now, as they would have right after the keys.
      for (const notice of held) releaseHold(notice!);
    }
    await ended;

    expect(readFileSync(exitFile, 'utf8').trim()).toBe('1');
    expect(held.map((notice, i) => stepAt(runDir(Object.keys(machines)[i]!), Date.parse(notice!.time)))).toEqual(['collect', 'retag']);
    expect(Object.fromEntries(['collect', 'retag', 'waiting'].map((name) => [name, json(join(runDir(name), 'lab-target.json')).status]))).toEqual({ collect: 'aborted', retag: 'aborted', waiting: 'not-run' });
    for (const name of Object.keys(machines)) {
      const state = json(join(machineDir(name), 'sim-state.json'));
      expect({ name, poolHitTag: state.poolHitTag >>> 0, patchedBytes: state.patchedBytes, halted: state.halted }).toEqual({ name, poolHitTag: POOL_HIT_TAG_DEFAULT, patchedBytes: [], halted: false });
      expect(loadPendingUndo(runDir(name)), name).toEqual([]);
      // The cleanup steps ran (not only the engine's restore of what was written), unless a second Ctrl+C skipped them.
      const ends = readFileSync(join(runDir(name), 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((e) => e.event === 'stepEnd');
      if (action !== 'ctrl-c-twice') {
        expect(ends.filter((e) => ['clear-hit-tag', 'restore'].includes(e.step)).map((e) => e.status), name).not.toContain('failed');
        expect(ends.map((e) => e.step), name).toEqual(expect.arrayContaining(['clear-hit-tag', 'restore']));
      }
    }
    if (action !== 'hangup') {
      const shown = shownOnScreen();
      expect(shown).toContain('SIGINT (Ctrl+C): stopping every running target');
      if (action === 'ctrl-c-twice') expect(shown).toContain('SIGINT (Ctrl+C) again: skipping the remaining cleanup steps of every target');
      expect(shown).toMatch(/lab {2}2\/3 finished \(0 succeeded, 2 not\) · 0 running · 0 waiting · 1 not run/);
      expect(shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    }
  } finally {
    await tmux('kill-server');
  }
}, 180_000);
});
