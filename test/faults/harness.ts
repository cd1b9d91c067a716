// Fault trials: one `leakhunt run playbooks/find-pool-leak.yaml` against the simulator process
// with one fault, then the checks of issue 7 §1 on what it left behind. Shared by the fast subset
// (npm test) and the long run (npm run test:faults).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { seededRandom } from '../../src/sim/seeded-random.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(root, 'dist/src/cli/main.js');
export const POOL_HIT_TAG_DEFAULT = 0xffffff0f;

/** The fault kinds of the matrix. */
export type FaultKind = 'exit-after' | 'garbage' | 'truncate' | 'stall' | 'reboot' | 'sigint' | 'sigterm' | 'dir-gone' | 'disk-full';

/**
 * A moment of the run, as the simulator's hold fault names it (`hold-at:TEXT#N`: before the N-th
 * command containing TEXT; `hold-at-hit:N`: at the N-th PoolHitTag break). The target holds there
 * until the harness has acted, so the fault lands at that moment however fast the host is.
 */
export type Moment = string;

/** The moment leakhunt's process has been spawned, before any of its code ran (no simulator yet). */
export const atSpawn: Moment = 'spawn';

/** One seeded trial. */
export interface Trial {
  id: number;
  kind: FaultKind;
  /** Simulator fault specs (LEAKHUNT_SIM_FAULTS). */
  faults: string[];
  /** Signals to leakhunt at a moment of the run, and how many (1 runs cleanup, 2 skips it, 3 exits). */
  signal?: { name: 'SIGINT' | 'SIGTERM'; at: Moment; count: number };
  /** The run directory stops taking writes at a moment of the run. */
  unwritable?: { at: Moment; file?: string };
  /** The debugger process dies at a moment of the run (SIGTERM: it ends as a killed kd does, the target keeps its memory). */
  debuggerExit?: { at: Moment };
  /** The debugger stops reading and writing for `seconds` at a moment of the run (SIGSTOP, then SIGCONT). */
  stall?: { at: Moment; seconds: number };
  /** Playbook inputs instead of huntInputs. */
  inputs?: string[];
  seed: number;
}

/** What a trial left behind. */
export interface TrialOutcome {
  trial: Trial;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  runDir: string;
  /** Where the run's files are after the fault (the moved directory when it was replaced). */
  filesDir: string;
  machineDir: string;
  state: SimState | undefined;
  /** The debugger process died under leakhunt (exit-after fired, or leakhunt exited on a third signal). */
  debuggerDied: boolean;
  /** Writes left pending in the run's undo log when it ended. */
  pendingAfterRun: number;
  recovery?: { exitCode: number | undefined; stderr: string; stdout: string; state: SimState | undefined; pendingAfter: number };
  /** The step running when the target rebooted (reboot trials), from the transcript and events. */
  rebootDuring?: string;
  /** leakhunt reached the debugger (the transcript has its banner); else there is no target to check. */
  connected: boolean;
  /** A signal ended node before leakhunt's first line ran (no run directory, killed by that signal). */
  preStart: boolean;
  /** A signal ended node while it was exiting after a finished hunt (runEnd written, last line printed). */
  postExit: boolean;
  /** The fault happened while leakhunt ran (an exit-after past the last command, a moment after the end do not). */
  fired: boolean;
  /** Signals actually sent (0 when leakhunt had ended before the moment came). */
  signalsSent: number;
  /** Where the simulator held for the trial's moment (held.json), if it got there. */
  heldAt?: string;
  /** The step that was running at the fault (signal, broken run directory, reboot). */
  faultStep?: string;
  /** The run directory was broken while leakhunt ran. */
  brokeRunDir: boolean;
  /** The harness killed the debugger (debuggerExit) while leakhunt ran. */
  killedDebugger: boolean;
  /** The harness stalled the debugger (stall) while leakhunt ran. */
  stalledDebugger: boolean;
  durationMs: number;
}

/** The parts of sim-state.json the checks read. */
export interface SimState {
  poolHitTag: number;
  patchedBytes: unknown[];
  halted: boolean;
  bootCount: number;
}

export const scenario = join(root, 'scenarios/two-sites-one-tag.yaml');
export const playbook = join(root, 'playbooks/find-pool-leak.yaml');
// Short inputs: a whole hunt (rank, collect, retag, verdict) in about ten seconds. No growth
// window: its 30 minutes of target time would hold rank long enough to move every time-based
// fault (a reboot at 320–950 s) into it, and the matrix is about each step, not the decision.
export const huntInputs = ['samples=2', 'interval=500ms', 'growth-window=0s', 'stacks=10', 'collect-timeout=5s', 'retag-duration=1s'];
export const commandTimeout = '1500ms';
/**
 * Inputs under which retag runs whatever the host's load: `retag=always`, since the verdict
 * retags on its own only when the stacks seen do not explain the growth, and enough stacks that
 * both sites of two-sites-one-tag.yaml are seen (with 10 and a 5 s limit a busy host sometimes
 * sees one).
 */
export const retagInputs = ['samples=2', 'interval=500ms', 'growth-window=0s', 'stacks=40', 'collect-timeout=60s', 'retag-duration=1s', 'retag=always'];

/** A small seeded generator (mulberry32), the simulator's own. */
export const random = seededRandom;

const kinds: FaultKind[] = ['exit-after', 'garbage', 'truncate', 'stall', 'reboot', 'sigint', 'sigterm', 'dir-gone', 'disk-full'];
const runFiles = ['transcript.jsonl', 'events.jsonl', 'stacks.jsonl', 'undo.jsonl'];

/** Trial `id` of the matrix with this seed: kinds in turn, the moment and size of each fault drawn. */
export function makeTrial(id: number, seed: number, kind: FaultKind = kinds[id % kinds.length]!): Trial {
  const next = random(seed * 7919 + id);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const trial: Trial = { id, kind, faults: [], seed: int(1, 1000) };
  switch (kind) {
    case 'exit-after':
      // At a moment of the run, not after N commands: how many commands a hunt sends changes with
      // the code and the host (fast-mode collect sends a few dozen), so a count could land past the end.
      trial.debuggerExit = { at: pick(next) };
      break;
    case 'garbage':
      // Drawn per output: at 0.01 a short hunt's ~100 outputs could all come through clean.
      trial.faults.push(`garbage:${(0.08 + next() * 0.23).toFixed(3)}`);
      break;
    case 'truncate':
      // Every response longer than N is cut; the longest a hunt on two-sites-one-tag.yaml gets is
      // rank's `!poolused 4` (446 characters), so a larger N would cut nothing.
      trial.faults.push(`truncate:${int(8, 400)}`);
      break;
    case 'stall':
      // Past --command-timeout (1.5 s): the command times out, kd is broken into, framing resyncs.
      trial.stall = { at: pick(next), seconds: 3 };
      break;
    case 'reboot':
      // Target time since connect: rank runs ~300 s of it, collect and retag follow.
      // Collect spans a few seconds of target time whose start depends on the machine's load, so
      // a reboot there is tied to the N-th PoolHitTag break; retag runs 600 s of target time after
      // rank's ~300 s, where a clock time lands (some land before or after).
      trial.faults.push(next() < 0.5 ? `reboot-at-hit:${int(1, 14)}` : `reboot-at:${int(320, 950)}s`);
      break;
    case 'sigint':
    case 'sigterm': {
      const count = [1, 1, 1, 2, 3][int(0, 4)]!;
      trial.signal = { name: kind === 'sigint' ? 'SIGINT' : 'SIGTERM', at: pick(next), count };
      break;
    }
    case 'dir-gone':
      trial.unwritable = { at: pick(next) };
      break;
    case 'disk-full':
      trial.unwritable = { at: pick(next), file: runFiles[int(0, runFiles.length - 1)]! };
      break;
  }
  const moment = trialMoment(trial);
  if (moment !== undefined && moments['retag']!.includes(moment)) trial.inputs = retagInputs;
  return trial;
}

/** The moment a trial acts at, if it has one. */
export function trialMoment(trial: Trial): Moment | undefined {
  return trial.signal?.at ?? trial.unwritable?.at ?? trial.debuggerExit?.at ?? trial.stall?.at;
}

/**
 * Moments of a hunt on two-sites-one-tag.yaml, by the step they fall in (the commands each step
 * sends: docs/reliability-faults.md). Each one is reached in every run that gets that far.
 */
export const moments: Readonly<Record<string, readonly Moment[]>> = {
  // Keys are the step ids of find-pool-leak.yaml the moments fall in.
  symbols: ['hold-at:.reload'],
  rank: ['hold-at:!poolused#1', 'hold-at:!poolused#2'],
  'hit-tag': ['hold-at:nt!PoolHitTag#2'],
  // The simulator counts the PoolHitTag breaks kd halts at; per-hit collection runs on past the
  // stops it need not halt at, so a 10-stack collect halts fewer times than it reads stacks (one
  // of 216 trials halted fewer than 9 times): the moments stay within the first few halts.
  collect: ['hold-at:sxe#1', 'hold-at-hit:1', 'hold-at-hit:4', 'hold-at-hit:6'],
  'unset-hit-tag': ['hold-at:nt!poolhittag#2'],
  // `L0x4#4`: retag reading back the first site it patched. Not `eb#3`: a moment's text must not be
  // hex, since the framing markers (`.echo LHSYNC_27b3ebde_3_END`) are (seen: a kill meant for
  // retag landed on a marker during connect).
  retag: ['hold-at:L10#1', 'hold-at:L0x4#4'],
  'clear-hit-tag': ['hold-at:nt!poolhittag#3'],
};
const allMoments = Object.values(moments).flat();

/** The step a moment belongs to (the key of `moments`), or undefined for one of no step. */
export function stepOfMoment(moment: Moment): string | undefined {
  return Object.entries(moments).find(([, list]) => list.includes(moment))?.[0];
}

// A moment drawn from the seeded generator.
function pick(next: () => number): Moment {
  return allMoments[Math.floor(next() * allMoments.length)]!;
}

/** The target spec of a machine: the simulator process with its state in `machineDir`. */
export function targetSpec(machineDir: string, seed: number): string {
  const q = (text: string) => JSON.stringify(text);
  return `process:${q(process.execPath)} ${q(cli)} sim --scenario ${q(scenario)} --seed ${seed} --state-out ${q(join(machineDir, 'sim-state.json'))} --host-state ${q(machineDir)}`;
}

// Read sim-state.json of a machine, if the simulator wrote one.
function readState(machineDir: string): SimState | undefined {
  const file = join(machineDir, 'sim-state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SimState) : undefined;
}

// Wait real time.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the simulator wrote when it held for a moment (src/sim/process.ts announceHold). */
export interface HeldNotice {
  pid: number;
  where: string;
  time: string;
}

/**
 * Resolves with the hold notice once `<dir>/held.json` appears, or undefined once `done` settles
 * first (the run ended before the moment came). Polled: the target waits while held.
 */
export async function waitForHold(dir: string, done: Promise<unknown>): Promise<HeldNotice | undefined> {
  let finished = false;
  void done.finally(() => (finished = true));
  const file = join(dir, 'held.json');
  for (;;) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as HeldNotice;
      } catch {
        // written atomically; a failed read is a file being replaced: read again
      }
    }
    if (finished) return undefined;
    await sleep(20);
  }
}

/**
 * Resolves once the process has ended (at most a minute; a pid below 0 is no process). An orphan
 * that ended stays a zombie until its new parent reaps it, which some container inits never do:
 * that counts as ended (Linux /proc).
 */
export async function processGone(pid: number): Promise<void> {
  for (let waited = 0; pid > 0 && waited < 60_000; waited += 20) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (/\) Z /.test(stat)) return;
    await sleep(20);
  }
}

/** Let a held simulator go on (SIGUSR2); nothing when it has ended. */
export function releaseHold(notice: HeldNotice): void {
  if (notice.pid < 0) return;
  try {
    process.kill(notice.pid, 'SIGUSR2');
  } catch {
    // it ended
  }
}

/** Send a signal to the held simulator; false when it has ended. */
export function signalHolder(notice: HeldNotice, signal: NodeJS.Signals): boolean {
  if (notice.pid < 0) return false;
  try {
    process.kill(notice.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves true once `text()` matches, false once `done` settles first. */
export async function waitForText(text: () => string, pattern: RegExp, done: Promise<unknown>): Promise<boolean> {
  let finished = false;
  void done.finally(() => (finished = true));
  for (;;) {
    if (pattern.test(text())) return true;
    if (finished) return false;
    await sleep(20);
  }
}

/** What leakhunt prints when it takes its n-th signal (src/cli/commands/run.ts), or exits at one. */
export const signalAcknowledged = [/stopping the current step|before the (?:run|resume) started/, / again: skipping/, /a third time: exiting/];

// Make the run directory refuse writes, as root (chmod does not stop root): the whole directory
// replaced by a file (ENOTDIR), or one file turned into a link to /dev/full (ENOSPC). What was
// written before is kept aside for the checks.
function breakRunDir(runDir: string, file: string | undefined): string {
  if (file === undefined) {
    const moved = `${runDir}.gone`;
    renameSync(runDir, moved);
    writeFileSync(runDir, 'not a directory\n');
    return moved;
  }
  const path = join(runDir, file);
  if (existsSync(path)) renameSync(path, `${path}.before`);
  symlinkSync('/dev/full', path);
  return runDir;
}

// Undo breakRunDir: the run directory as a real full disk or lost mount would leave it.
function healRunDir(runDir: string, file: string | undefined): string {
  if (file === undefined) {
    rmSync(runDir, { force: true });
    renameSync(`${runDir}.gone`, runDir);
    return runDir;
  }
  const path = join(runDir, file);
  rmSync(path, { force: true });
  if (existsSync(`${path}.before`)) renameSync(`${path}.before`, path);
  return runDir;
}

/** Run one trial in a fresh machine directory under `base`. */
export async function runTrial(trial: Trial, base = tmpdir()): Promise<TrialOutcome> {
  const started = Date.now();
  const machineDir = mkdtempSync(join(base, `leakhunt-fault-${trial.id}-`));
  const runsDir = join(machineDir, 'runs');
  mkdirSync(runsDir);
  const runDir = join(runsDir, 'hunt');
  const spec = targetSpec(machineDir, trial.seed);
  const args = [cli, 'run', playbook, '--out', runDir, '--target', spec, '--command-timeout', commandTimeout, ...(trial.inputs ?? huntInputs).flatMap((i) => ['--input', i])];
  const moment = trialMoment(trial);
  const faults = [...trial.faults, ...(moment && moment !== atSpawn ? [moment] : [])];
  const child = execa(process.execPath, args, { reject: false, cwd: root, timeout: 120_000, forceKillAfterDelay: false, env: { LEAKHUNT_SIM_FAULTS: faults.join(' ') } });
  let stderrSoFar = '';
  child.stderr?.on('data', (chunk: Buffer | string) => (stderrSoFar += String(chunk)));
  const ended = child.then(() => undefined);
  let filesDir = runDir;
  let signalsSent = 0;
  let brokeRunDir = false;
  let killedDebugger = false;
  let stalledDebugger = false;
  let held: HeldNotice | undefined;
  const acting = (async () => {
    if (!moment) return;
    held = moment === atSpawn ? await new Promise<HeldNotice>((resolve) => child.once('spawn', () => resolve({ pid: -1, where: 'spawn', time: new Date().toISOString() }))) : await waitForHold(machineDir, ended);
    if (!held) return;
    if (trial.signal) {
      const { name, count } = trial.signal;
      for (let i = 0; i < count && child.exitCode === null; i++) {
        // process.kill, not child.kill: execa follows a SIGTERM with SIGKILL after 5 s.
        try {
          process.kill(child.pid!, name);
          signalsSent++;
        } catch {
          break; // it ended in between
        }
        // The next signal (and the target going on) only once leakhunt has taken this one.
        if (!(await waitForText(() => stderrSoFar, signalAcknowledged[i]!, ended))) break;
      }
    }
    if (trial.unwritable && child.exitCode === null && existsSync(runDir)) {
      filesDir = breakRunDir(runDir, trial.unwritable.file);
      brokeRunDir = true;
    }
    if (trial.debuggerExit && child.exitCode === null) {
      // The debugger dies where it holds; the held command never runs.
      killedDebugger = signalHolder(held, 'SIGTERM');
      return;
    }
    if (trial.stall && child.exitCode === null && signalHolder(held, 'SIGSTOP')) {
      // Stopped, it reads and writes nothing: not the held command's answer, not a break-in
      // (leakhunt's Ctrl+C after its command timeout waits, pending, with the release).
      stalledDebugger = true;
      releaseHold(held);
      await sleep(trial.stall.seconds * 1000);
      signalHolder(held, 'SIGCONT');
      return;
    }
    releaseHold(held);
  })();
  const result = await child;
  if (result.exitCode === undefined) process.stderr.write(`trial ${trial.id}: leakhunt ended by ${result.signal ?? 'unknown'}\n`);
  await acting;
  // A leakhunt that exits at once (a third signal) leaves its debugger to end on its own, after
  // it: the machine's state is what that process writes as it ends, so wait for it to end.
  if (held) await processGone(held.pid);
  // The disk comes back (space freed, the drive mounted again) with what was written before the fault.
  if (brokeRunDir) filesDir = healRunDir(runDir, trial.unwritable?.file);
  const transcript = readJsonLines(join(filesDir, 'transcript.jsonl')).values;
  const exitEvent = transcript.find((e) => e['event'] === 'exit') as { exitCode?: number } | undefined;
  const debuggerDied = exitEvent?.exitCode === 3 || (killedDebugger && exitEvent !== undefined) || /the debugger exited/i.test(result.stderr) || /exited on the third/.test(result.stderr);
  const pendingAfterRun = safePending(filesDir);
  const outcome: TrialOutcome = {
    trial,
    exitCode: result.exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    runDir,
    filesDir,
    machineDir,
    state: readState(machineDir),
    debuggerDied,
    pendingAfterRun,
    connected: transcript.some((e) => e['event'] === 'banner') || existsSync(join(machineDir, 'sim-state.json')),
    signalsSent,
    brokeRunDir,
    killedDebugger,
    stalledDebugger,
    ...(held && { heldAt: held.where }),
    fired: false,
    preStart: result.exitCode === undefined && result.signal === trial.signal?.name && !existsSync(runDir) && !/RUN_ABORTED/.test(String(result.stderr)),
    postExit:
      result.exitCode === undefined &&
      result.signal === trial.signal?.name &&
      /run directory: .*\n?$/.test(String(result.stderr)) &&
      readJsonLines(join(filesDir, 'events.jsonl')).values.some((e) => e['event'] === 'runEnd'),
    durationMs: 0,
  };
  if (trial.kind === 'reboot') outcome.rebootDuring = stepAtReboot(filesDir, transcript);
  outcome.faultStep = trial.kind === 'reboot' ? outcome.rebootDuring : held ? stepAt(filesDir, Date.parse(held.time)) : undefined;
  outcome.fired = faultFired(outcome, transcript);
  // The next run against the same machine must put back what a dead debugger left.
  if (debuggerDied || pendingAfterRun !== 0) {
    const recoverDir = join(runsDir, 'next');
    const next = await execa(process.execPath, [cli, 'run', join(root, 'playbooks/rank-only.yaml'), '--out', recoverDir, '--target', spec, '--input', 'samples=2'], { reject: false, cwd: root, timeout: 120_000, env: { LEAKHUNT_SIM_FAULTS: '' } });
    outcome.recovery = { exitCode: next.exitCode, stderr: String(next.stderr), stdout: String(next.stdout), state: readState(machineDir), pendingAfter: safePending(filesDir) };
  }
  outcome.durationMs = Date.now() - started;
  return outcome;
}

// Did the trial's fault happen while leakhunt ran? Judged from what it left, not from the plan.
function faultFired(outcome: TrialOutcome, transcript: Record<string, unknown>[]): boolean {
  const outputs = () => transcript.map((e) => String(e['output'] ?? ''));
  switch (outcome.trial.kind) {
    case 'exit-after':
      // At a moment: the harness killed it there. A count (`exit-after:N`): it died.
      return outcome.trial.debuggerExit ? outcome.heldAt !== undefined && outcome.killedDebugger && outcome.debuggerDied : outcome.debuggerDied;
    case 'garbage':
      return outputs().some((text) => text.includes('KDTARGET: Refreshing KD connection') || text.includes('\u00ff\u00fe'));
    case 'truncate': {
      // A response as long as the cut: the cut applied (shorter responses pass untouched). Or the
      // cut is shorter than the framing marker's echo, and the session never opened.
      const characters = Number(/^truncate:(\d+)$/.exec(outcome.trial.faults.find((f) => f.startsWith('truncate:')) ?? '')?.[1] ?? Infinity);
      const cut = transcript.some((e) => e['direction'] === 'receive' && e['event'] === 'command' && String(e['output'] ?? '').length >= characters - 1);
      return cut || /did not answer a framing marker/.test(outcome.stderr);
    }
    case 'stall': {
      if (outcome.trial.stall) return outcome.heldAt !== undefined && outcome.stalledDebugger;
      // A command that timed out, or (a stall while the target ran) a reply that came S seconds late.
      const seconds = Number(/@([\d.]+)$/.exec(outcome.trial.faults[0] ?? '')?.[1] ?? Infinity);
      // Output stops for S seconds after a response: two outputs in a row that far apart.
      const times = transcript.filter((e) => e['direction'] === 'receive').map((e) => Date.parse(String(e['ts'])));
      const late = times.some((time, i) => i > 0 && time - times[i - 1]! >= seconds * 1000 - 20);
      return late || transcript.some((e) => e['complete'] === false) || /TIMEOUT|INCOMPLETE/.test(outcome.stderr);
    }
    case 'reboot':
      return outcome.rebootDuring !== undefined;
    case 'sigint':
    case 'sigterm':
      return outcome.heldAt !== undefined && outcome.signalsSent > 0;
    default:
      return outcome.heldAt !== undefined && outcome.brokeRunDir;
  }
}

// Pending writes of a run's undo log; -1 when the log itself is unreadable.
function safePending(dir: string): number {
  try {
    return loadPendingUndo(dir).length;
  } catch {
    return -1;
  }
}

/** Parse a JSON-lines file; `bad` lists the 1-based numbers of lines that are not JSON. */
export function readJsonLines(file: string): { values: Record<string, unknown>[]; bad: number[]; lines: number } {
  if (!existsSync(file) || lstatSync(file).isSymbolicLink() || !lstatSync(file).isFile()) return { values: [], bad: [], lines: 0 };
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const values: Record<string, unknown>[] = [];
  const bad: number[] = [];
  lines.forEach((line, index) => {
    if (line === '' && index === lines.length - 1) return;
    try {
      values.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      bad.push(index + 1);
    }
  });
  if (text !== '' && !text.endsWith('\n')) bad.push(lines.length);
  return { values, bad: [...new Set(bad)], lines: lines.length };
}

// Which step was running when the target rebooted: the last stepStart before the reconnect.
function stepAtReboot(dir: string, transcript: Record<string, unknown>[]): string | undefined {
  const reconnect = transcript.find((e) => e['event'] === 'break' && e['kind'] === 'reconnect');
  return reconnect ? stepAt(dir, Date.parse(String(reconnect['ts']))) : undefined;
}

/** The step running at a moment: the last stepStart at or before it (events.jsonl); `connect` before the first. */
export function stepAt(dir: string, at: number): string {
  const events = readJsonLines(join(dir, 'events.jsonl')).values.filter((e) => e['event'] === 'stepStart' && Date.parse(String(e['time'])) <= at);
  return events.length ? String(events[events.length - 1]!['step']) : 'connect';
}

/** Every violation of issue 7 §1's after-trial checks (empty when the trial passed). */
export function checkTrial(outcome: TrialOutcome): string[] {
  const problems: string[] = [];
  const { stderr, exitCode, state } = outcome;
  const t = outcome.trial;
  const where = `trial ${t.id} (${t.kind} ${JSON.stringify(t.faults.length ? t.faults : (t.signal ?? t.unwritable ?? t.debuggerExit ?? t.stall))})`;
  // Killed by the signal itself with nothing written: it came while node was still starting, before
  // any leakhunt code ran (main.ts takes signals from its first line). Counted apart, not a failure.
  if (outcome.preStart) return problems;
  // Likewise a signal that came while node was tearing down after a finished hunt (runEnd written,
  // the last stderr line printed): everything was done; only the exit status became the signal's.
  if (outcome.postExit) return problems;
  if (exitCode === undefined) problems.push(`${where}: leakhunt did not exit (killed by a signal or the harness timeout)`);
  if (/^\s+at .+\(?.+:\d+:\d+\)?$/m.test(stderr) || /internal error/i.test(stderr)) problems.push(`${where}: stack trace or internal error on stderr:\n${stderr}`);
  const causes = stderr.split('\n').filter((line) => /^(?:\S+ )?error (?:[a-z0-9-]+\/)?[A-Z_]+: /.test(line));
  if (exitCode === 0) {
    if (causes.length !== 0) problems.push(`${where}: exit 0 but an error line on stderr`);
    if (!existsSync(join(outcome.filesDir, 'report.json'))) problems.push(`${where}: exit 0 without report.json`);
  } else if (causes.length !== 1) {
    problems.push(`${where}: exit ${exitCode} with ${causes.length} cause lines on stderr (want exactly one):\n${stderr}`);
  }
  // A signal the hunt saw ("stopping the current step") must end in failure; one that came after
  // the hunt had finished leaves its exit code as decided.
  if (outcome.signalsSent > 0 && exitCode === 0 && /stopping the current step/.test(stderr)) problems.push(`${where}: exit 0 after ${outcome.signalsSent} signal(s) the hunt saw`);
  // JSON lines up to the fault: every line of every JSON-lines file parses.
  for (const file of runFiles) {
    const path = join(outcome.filesDir, file);
    const { bad } = readJsonLines(path);
    if (bad.length) problems.push(`${where}: ${path} has lines that are not JSON: ${bad.join(', ')}`);
  }
  // Cleanup must find the target stopped: a step aborted while it ran is followed by a break-in.
  for (const event of readJsonLines(join(outcome.filesDir, 'events.jsonl')).values) {
    const error = event['error'] as { message?: string } | undefined;
    if (event['event'] === 'stepEnd' && event['section'] === 'always' && /the target is running/.test(error?.message ?? '')) {
      problems.push(`${where}: cleanup step ${String(event['step'])} failed because the target was still running`);
    }
  }
  const clean = (s: SimState | undefined, label: string) => {
    if (!s) return problems.push(`${where}: no sim-state.json after ${label}`);
    if (s.poolHitTag >>> 0 !== POOL_HIT_TAG_DEFAULT) problems.push(`${where}: PoolHitTag 0x${(s.poolHitTag >>> 0).toString(16)} after ${label}`);
    if (s.patchedBytes.length) problems.push(`${where}: ${s.patchedBytes.length} patched byte(s) after ${label}`);
    if (s.halted) problems.push(`${where}: target halted after ${label}`);
    return undefined;
  };
  if (!outcome.debuggerDied && outcome.connected) clean(state, 'the run');
  if (outcome.recovery) {
    const r = outcome.recovery;
    if (r.exitCode !== 0) problems.push(`${where}: the next run failed (exit ${r.exitCode}): ${r.stderr}`);
    clean(r.state, 'the next run');
    if (r.pendingAfter !== 0) problems.push(`${where}: ${r.pendingAfter} write(s) still pending in the run's undo log after the next run`);
    if (outcome.pendingAfterRun > 0 && !/restored \d+ memory write\(s\) an earlier run left|already undone on the target/.test(r.stdout)) {
      problems.push(`${where}: the next run did not report restoring the ${outcome.pendingAfterRun} pending write(s)`);
    }
  } else if (outcome.pendingAfterRun !== 0) {
    problems.push(`${where}: ${outcome.pendingAfterRun} write(s) pending in the undo log`);
  }
  return problems;
}

/** Run trials `concurrency` at a time; resolves to every outcome in trial order. */
export async function runTrials(trials: readonly Trial[], concurrency: number, onDone?: (outcome: TrialOutcome, problems: string[]) => void): Promise<TrialOutcome[]> {
  const outcomes: TrialOutcome[] = new Array(trials.length);
  let next = 0;
  const worker = async () => {
    while (next < trials.length) {
      const index = next++;
      const outcome = await runTrial(trials[index]!);
      outcomes[index] = outcome;
      onDone?.(outcome, checkTrial(outcome));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

/** The run files a trial leaves (for reports). */
export function listRunFiles(dir: string): string[] {
  return existsSync(dir) && lstatSync(dir).isDirectory() ? readdirSync(dir).sort() : [];
}
