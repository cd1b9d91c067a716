/**
 * Benchmark 8: the progress display's cost. collect-stacks of find-pool-leak.yaml on
 * two-sites-one-tag.yaml, 1,000 stacks, run as `leakhunt run` twice per round: once with its
 * output piped (plain lines) and once in a real pseudo-terminal (a tmux pane, the live task list
 * drawn), in turns so both see the same load. The figure is stacks per second of the collect step
 * (from events.jsonl) and the TTY ÷ piped ratio; the display must not slow the hunt. Needs tmux.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cli, readRunDir, root, runPlaybook, tempDir } from './lib/run-dir.mjs';
import { summarize } from './lib/stats.mjs';

const STACKS = 1000;
const inputs = { samples: 2, interval: '500ms', stacks: STACKS, 'collect-timeout': '600s', 'retag-duration': '1s' };
const playbook = 'playbooks/find-pool-leak.yaml';
const target = `sim:${join(root, 'scenarios/two-sites-one-tag.yaml')}`;

// Stacks per second of the collect step of a finished run.
function collectRate(dir) {
  const end = readRunDir(dir).events.find((e) => e.event === 'stepEnd' && e.step === 'collect');
  if (!end?.outputs?.stacks) throw new Error(`no collect step in ${dir}`);
  return end.outputs.stacks / (end.durationMs / 1000);
}

// Quote a word for sh.
const sh = (word) => `'${String(word).replace(/'/g, `'\\''`)}'`;

// One run in a tmux pane of its own; resolves when leakhunt has exited.
async function runInTerminal(out) {
  const socket = `leakhunt-bench-${process.pid}`;
  const exitFile = `${out}.exit`;
  const args = [process.execPath, cli, 'run', playbook, '--target', target, '--out', out, ...Object.entries(inputs).flatMap(([k, v]) => ['--input', `${k}=${v}`])];
  const script = `${out}.sh`;
  writeFileSync(script, `cd ${sh(root)}\nenv -u CI ${args.map(sh).join(' ')}\necho $? > ${sh(exitFile)}\n`);
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '50', `sh ${sh(script)}`]);
  while (!existsSync(exitFile)) await new Promise((resolve) => setTimeout(resolve, 100));
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // the server ended with its only pane
  }
}

/** Run the benchmark: `runs` rounds of a piped and a terminal hunt. */
export async function run({ runs }) {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('tmux is not installed: the terminal half of this benchmark cannot run (apt-get install tmux)');
  }
  const dir = tempDir();
  const piped = [];
  const terminal = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (let index = 0; index < runs; index++) {
      const plainOut = join(dir, `piped-${index}`);
      await runPlaybook({ playbook, target, inputs, out: plainOut });
      piped.push(collectRate(plainOut));
      const ttyOut = join(dir, `tty-${index}`);
      await runInTerminal(ttyOut);
      terminal.push(collectRate(ttyOut));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    { id: 'tty.piped', name: `collect-stacks, ${STACKS} stacks, output piped (plain lines)`, unit: 'stacks/s', readme: 'Stacks per second, output piped', ...summarize(piped) },
    { id: 'tty.terminal', name: `collect-stacks, ${STACKS} stacks, in a terminal (live task list)`, unit: 'stacks/s', readme: 'Stacks per second in a terminal (live task list)', ...summarize(terminal) },
    { id: 'tty.ratio', name: 'terminal ÷ piped stacks per second (same round)', unit: '×', goal: { op: '>=', value: 0.8 }, readme: 'Progress display cost: terminal ÷ piped stacks per second', ...summarize(terminal.map((rate, i) => rate / piped[i])) },
  ];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'tty', title: '8. Progress display cost', run };
