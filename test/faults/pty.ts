// Fault trials at a real pseudo-terminal: `leakhunt run` in a tmux pane, as a person runs it
// (stdout and stderr a TTY, the live task list drawn), stopped by keys typed into the pane
// (Ctrl+C once or twice) or by the terminal closing (the tmux server killed: SIGHUP). The
// simulator holds at a moment of the run (hold-at faults) until the keys are in, so each trial
// lands in the step it names however fast the host. Shared by the fast subset (npm test) and
// the long run (npm run test:faults).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { cli, POOL_HIT_TAG_DEFAULT, readJsonLines, releaseHold, retagInputs, root, stepAt, waitForHold, type HeldNotice, type Moment, type SimState } from './harness.js';

/** What is done to the terminal at the moment. */
export type PtyAction = 'ctrl-c' | 'ctrl-c-twice' | 'hangup';

/** One trial at a terminal. */
export interface PtyTrial {
  name: string;
  /** The `--target` (a sim: spec: the simulator with its host channel, as a user runs it). */
  target: string;
  moment: Moment;
  action: PtyAction;
  /** The step the moment falls in (`cleanup`: one of the always: steps). */
  step: string;
  inputs?: string[];
}

/** What a terminal trial left. */
export interface PtyOutcome {
  trial: PtyTrial;
  exitCode: number | undefined;
  /** Everything the pane showed (escape sequences removed), up to the hangup for hangup trials. */
  screen: string;
  runDir: string;
  state: SimState | undefined;
  /** Where the simulator held, if the run got there. */
  heldAt?: string;
  /** The step running when the keys went in (events.jsonl). */
  faultStep?: string;
  /** The keys went in (or the terminal closed) while leakhunt ran at the moment. */
  fired: boolean;
  /** events.jsonl recorded leakhunt taking each signal. */
  signalsSeen: number;
  pendingAfter: number;
  durationMs: number;
}

/** Is tmux there to give the trials a terminal? */
export const haveTmux = (() => {
  try {
    return execaSync('tmux', ['-V'], { reject: false }).exitCode === 0;
  } catch {
    return false;
  }
})();

const shortInputs = ['samples=2', 'interval=500ms', 'growth-window=0s', 'stacks=10', 'collect-timeout=5s', 'retag-duration=1s'];
/** The steps of find-pool-leak.yaml's always: section. */
const cleanupSteps = ['clear-hit-tag', 'restore', 'verdict'];
const twoSites = `sim:${join(root, 'scenarios/two-sites-one-tag.yaml')}`;

/**
 * The terminal trials: Ctrl+C once in each step of the hunt (tagging and reboot on the default
 * XP target, whose pool tagging is off; the others on two-sites-one-tag.yaml, whose suspect
 * tag has two sites, so retag runs), Ctrl+C twice, and the terminal closing.
 */
export const ptyTrials: readonly PtyTrial[] = [
  { name: 'Ctrl+C during tagging', target: 'sim:', moment: 'hold-at:+ptg', action: 'ctrl-c', step: 'tagging' },
  { name: 'Ctrl+C during reboot', target: 'sim:', moment: 'hold-at:.reboot', action: 'ctrl-c', step: 'reboot' },
  { name: 'Ctrl+C during rank', target: twoSites, moment: 'hold-at:!poolused#2', action: 'ctrl-c', step: 'rank' },
  { name: 'Ctrl+C during collect', target: twoSites, moment: 'hold-at-hit:3', action: 'ctrl-c', step: 'collect' },
  { name: 'Ctrl+C during retag', target: twoSites, moment: 'hold-at:L10#1', action: 'ctrl-c', step: 'retag', inputs: retagInputs },
  { name: 'Ctrl+C during cleanup', target: twoSites, moment: 'hold-at:nt!poolhittag#3', action: 'ctrl-c', step: 'cleanup' },
  { name: 'Ctrl+C twice during collect', target: twoSites, moment: 'hold-at-hit:4', action: 'ctrl-c-twice', step: 'collect' },
  { name: 'Ctrl+C twice during retag', target: twoSites, moment: 'hold-at:L10#1', action: 'ctrl-c-twice', step: 'retag', inputs: retagInputs },
  { name: 'terminal closed during collect', target: twoSites, moment: 'hold-at-hit:2', action: 'hangup', step: 'collect' },
  { name: 'terminal closed during retag', target: twoSites, moment: 'hold-at:L10#1', action: 'hangup', step: 'retag', inputs: retagInputs },
];

// Wait real time (polling only: every wait below ends on an event).
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Quote a word for sh.
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Remove terminal escape sequences and carriage returns from a pane log. */
export function plainScreen(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '').replace(/\u001b[()][0-9A-B]/g, '').replace(/\u001b[=>78]/g, '').replace(/\r/g, '');
}

/** Run one trial in a tmux server of its own. */
export async function runPtyTrial(trial: PtyTrial, base = tmpdir()): Promise<PtyOutcome> {
  const started = Date.now();
  const dir = mkdtempSync(join(base, 'leakhunt-pty-'));
  const runDir = join(dir, 'run');
  mkdirSync(runDir);
  const exitFile = join(dir, 'exit-code');
  const paneLog = join(dir, 'pane.log');
  const socket = `leakhunt-pty-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', '/dev/null', ...args], { reject: false });
  const inputs = (trial.inputs ?? shortInputs).flatMap((i) => ['--input', i]);
  const command = [process.execPath, cli, 'run', join(root, 'playbooks/find-pool-leak.yaml'), '--target', trial.target, '--out', runDir, ...inputs].map(sh).join(' ');
  // The pane's shell stands in for a person's interactive shell: leakhunt runs as its job with the
  // terminal as stdin, stdout and stderr; a hangup of the terminal reaches the shell, which passes
  // SIGHUP on to its job as bash does, and the shell outlives both the hangup and Ctrl+C only to
  // record leakhunt's exit code. No CI or test-runner variables (they change how output is drawn).
  const script = [
    `cd ${sh(root)}`,
    'exec 3<&0',
    `env -u CI -u VITEST -u VITEST_WORKER_ID -u VITEST_POOL_ID -u NODE_ENV LEAKHUNT_SIM_FAULTS=${sh(trial.moment)} ${command} <&3 &`,
    'child=$!',
    `trap 'kill -HUP $child 2>/dev/null' HUP`,
    `trap ':' INT`,
    'while kill -0 $child 2>/dev/null; do wait $child; done',
    'wait $child',
    `echo $? > ${sh(exitFile)}`,
  ].join('\n');
  writeFileSync(join(dir, 'command.sh'), `${script}\n`);
  await tmux('new-session', '-d', '-x', '160', '-y', '50', `sh ${sh(join(dir, 'command.sh'))}`);
  await tmux('pipe-pane', '-o', `cat >> ${sh(paneLog)}`);
  const ended = (async () => {
    while (!existsSync(exitFile)) await sleep(25);
  })();
  const events = () => readJsonLines(join(runDir, 'events.jsonl')).values;
  const signalsSeen = () => events().filter((e) => e['event'] === 'log' && /: stopping the current step| again: skipping/.test(String(e['message']))).length;
  const seen = async (count: number) => {
    let finished = false;
    void ended.then(() => (finished = true));
    while (signalsSeen() < count && !finished) await sleep(25);
    return signalsSeen() >= count;
  };
  let held: HeldNotice | undefined;
  let fired = false;
  let screenBeforeHangup = '';
  held = await waitForHold(runDir, ended);
  if (held) {
    if (trial.action === 'hangup') {
      screenBeforeHangup = existsSync(paneLog) ? readFileSync(paneLog, 'utf8') : '';
      await tmux('kill-server');
      fired = await seen(1);
    } else {
      await tmux('send-keys', '-t', '0', 'C-c');
      fired = await seen(1);
      if (fired && trial.action === 'ctrl-c-twice') {
        await tmux('send-keys', '-t', '0', 'C-c');
        fired = await seen(2);
      }
    }
    // The debugger answers now, as it would have right after the keys.
    releaseHold(held);
  }
  await ended;
  await tmux('kill-server');
  const exitText = readFileSync(exitFile, 'utf8').trim();
  const stateFile = join(runDir, 'sim-state.json');
  let pendingAfter = -1;
  try {
    pendingAfter = loadPendingUndo(runDir).length;
  } catch {
    // unreadable undo log: counted as a problem by checkPtyTrial
  }
  return {
    trial,
    exitCode: exitText === '' ? undefined : Number(exitText),
    screen: plainScreen(trial.action === 'hangup' ? screenBeforeHangup : existsSync(paneLog) ? readFileSync(paneLog, 'utf8') : ''),
    runDir,
    state: existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as SimState) : undefined,
    ...(held && { heldAt: held.where, faultStep: stepAt(runDir, Date.parse(held.time)) }),
    fired,
    signalsSeen: signalsSeen(),
    pendingAfter,
    durationMs: Date.now() - started,
  };
}

/** Every way a terminal trial fails its checks (empty when it passed). */
export function checkPtyTrial(outcome: PtyOutcome): string[] {
  const problems: string[] = [];
  const where = `${outcome.trial.name} (${outcome.trial.moment})`;
  if (!outcome.fired) problems.push(`${where}: the fault did not fire (held at ${outcome.heldAt ?? 'nothing'}, ${outcome.signalsSeen} signal(s) seen)`);
  const inStep = outcome.trial.step === 'cleanup' ? cleanupSteps.includes(outcome.faultStep ?? '') : outcome.faultStep === outcome.trial.step;
  if (outcome.faultStep !== undefined && !inStep) problems.push(`${where}: the keys went in during ${outcome.faultStep}, not ${outcome.trial.step}`);
  if (outcome.exitCode !== 1) problems.push(`${where}: exit code ${outcome.exitCode}, want 1`);
  const events = readJsonLines(join(outcome.runDir, 'events.jsonl'));
  if (events.bad.length) problems.push(`${where}: events.jsonl lines ${events.bad.join(', ')} are not JSON`);
  const end = events.values.find((e) => e['event'] === 'runEnd');
  if (!end || end['status'] !== 'aborted') problems.push(`${where}: the run did not end aborted (${JSON.stringify(end?.['status'])})`);
  // One cause line on the screen (a closed terminal shows nothing more: events.jsonl has the cause).
  if (outcome.trial.action !== 'hangup') {
    const causes = outcome.screen.split('\n').filter((line) => /^error (?:[a-z0-9-]+\/)?[A-Z_]+: /.test(line.trim()));
    if (causes.length !== 1) problems.push(`${where}: ${causes.length} cause lines on the screen, want 1:\n${outcome.screen.slice(-3000)}`);
    if (/^\s+at .+:\d+:\d+\)?$/m.test(outcome.screen) || /internal error/i.test(outcome.screen)) problems.push(`${where}: a stack trace or internal error on the screen`);
  }
  const s = outcome.state;
  if (!s) problems.push(`${where}: no sim-state.json`);
  else {
    if (s.poolHitTag >>> 0 !== POOL_HIT_TAG_DEFAULT) problems.push(`${where}: PoolHitTag left at 0x${(s.poolHitTag >>> 0).toString(16)}`);
    if (s.patchedBytes.length) problems.push(`${where}: ${s.patchedBytes.length} patched byte(s) left`);
    if (s.halted) problems.push(`${where}: target left halted`);
  }
  if (outcome.pendingAfter !== 0) problems.push(`${where}: ${outcome.pendingAfter} write(s) pending in undo.jsonl`);
  return problems;
}

/** Run terminal trials `concurrency` at a time, in order. */
export async function runPtyTrials(trials: readonly PtyTrial[], concurrency: number): Promise<PtyOutcome[]> {
  const outcomes: PtyOutcome[] = new Array(trials.length);
  let next = 0;
  const worker = async () => {
    while (next < trials.length) {
      const index = next++;
      outcomes[index] = await runPtyTrial(trials[index]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}
