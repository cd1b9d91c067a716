// A lab run at a real terminal (tmux), as a person runs it: the live task list drawn, Ctrl+C
// typed while one target is collecting (PoolHitTag set) and another retagging (a call site
// patched), a third still waiting. Every running target's cleanup runs: each one's machine ends
// with PoolHitTag as found, no patched bytes and not halted; the waiting one is left for resume.
// Each simulator holds at its moment until the keys are in (hold-at faults), so the trial lands
// there however fast the host.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { cli, POOL_HIT_TAG_DEFAULT, releaseHold, root, scenario, stepAt, waitForHold } from '../faults/harness.js';
import { haveTmux, plainScreen } from '../faults/pty.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
// Short hunts; retag=always so the retag target retags whatever the stacks explain.
const inputs = '{ samples: 2, interval: 500ms, stacks: 40, collect-timeout: 60s, retag-duration: 1s, retag: always }';

test.runIf(existsSync(cli) && haveTmux)('Ctrl+C during a lab run at a terminal runs every running target\'s cleanup', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-pty-'));
  const labDir = join(dir, 'lab');
  // Two machines behind process: (the simulator with a hold of its own: in collect, in retag).
  const machines = { collect: 'hold-at-hit:3', retag: 'hold-at:eb#4' };
  const machineDir = (name: string) => join(dir, 'machines', name);
  const lines = Object.entries(machines).map(([name, fault]) => {
    mkdirSync(machineDir(name), { recursive: true });
    const q = JSON.stringify;
    return `  - { name: ${name}, inputs: ${inputs}, target: ${q(`process:${q(process.execPath)} ${q(cli)} sim --scenario ${q(scenario)} --state-out ${q(join(machineDir(name), 'sim-state.json'))} --host-state ${q(machineDir(name))} --fault ${fault}`)} }`;
  });
  writeFileSync(join(dir, 'lab.yaml'), `targets:\n${lines.join('\n')}\n  - { name: waiting, inputs: ${inputs}, target: ${JSON.stringify(`sim:${scenario}`)} }\n`);

  // The pane's shell stands in for a person's: leakhunt its job on the terminal, Ctrl+C reaching
  // leakhunt's process group only; the shell records the exit code. No CI variables (they change the drawing).
  const exitFile = join(dir, 'exit-code');
  const command = [process.execPath, cli, 'run', join(root, 'playbooks/find-pool-leak.yaml'), '--inventory', join(dir, 'lab.yaml'), '--parallel', '2', '--out', labDir].map(sh).join(' ');
  writeFileSync(join(dir, 'command.sh'), [`cd ${sh(root)}`, 'exec 3<&0', `env -u CI -u VITEST -u VITEST_WORKER_ID -u VITEST_POOL_ID -u NODE_ENV ${command} <&3 &`, 'child=$!', `trap ':' INT`, 'while kill -0 $child 2>/dev/null; do wait $child; done', 'wait $child', `echo $? > ${sh(exitFile)}`, ''].join('\n'));
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

    await tmux('send-keys', '-t', '0', 'C-c');
    // Taken once the lab's line says so (the keys went in while both held), then the debuggers answer.
    let stopping = false;
    while (!(stopping = /stopping: each running target runs its cleanup/.test(await screen())) && !existsSync(exitFile)) await sleep(25);
    expect(stopping, 'the lab did not show the stop').toBe(true);
    for (const notice of held) releaseHold(notice!);
    await ended;

    expect(readFileSync(exitFile, 'utf8').trim()).toBe('1');
    expect(held.map((notice, i) => stepAt(runDir(Object.keys(machines)[i]!), Date.parse(notice!.time)))).toEqual(['collect', 'retag']);
    expect(Object.fromEntries(['collect', 'retag', 'waiting'].map((name) => [name, json(join(runDir(name), 'lab-target.json')).status]))).toEqual({ collect: 'aborted', retag: 'aborted', waiting: 'not-run' });
    for (const name of Object.keys(machines)) {
      const state = json(join(machineDir(name), 'sim-state.json'));
      expect({ name, poolHitTag: state.poolHitTag >>> 0, patchedBytes: state.patchedBytes, halted: state.halted }).toEqual({ name, poolHitTag: POOL_HIT_TAG_DEFAULT, patchedBytes: [], halted: false });
      expect(loadPendingUndo(runDir(name)), name).toEqual([]);
      // The cleanup steps ran (not only the engine's restore of what was written).
      const ends = readFileSync(join(runDir(name), 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((e) => e.event === 'stepEnd');
      expect(ends.filter((e) => ['clear-hit-tag', 'restore'].includes(e.step)).map((e) => e.status), name).not.toContain('failed');
      expect(ends.map((e) => e.step), name).toEqual(expect.arrayContaining(['clear-hit-tag', 'restore']));
    }
    const shown = plainScreen(readFileSync(paneLog, 'utf8'));
    expect(shown).toContain('SIGINT (Ctrl+C): stopping every running target');
    expect(shown).toMatch(/lab {2}2\/3 finished \(0 succeeded, 2 not\) · 0 running · 0 waiting · 1 not run/);
    expect(shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  } finally {
    await tmux('kill-server');
  }
}, 180_000);
