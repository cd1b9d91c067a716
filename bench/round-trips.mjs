/**
 * Benchmark 1: debugger round trips per collected stack. `playbooks/collect-stacks.yaml` runs on
 * the simulator process (spawned by the kd-console transport exactly as kd.exe would be), and
 * the collect step's exchanges are counted from transcript.jsonl: each command sent and
 * answered, each go command (answered by the next stop), each break-in. The manual procedure
 * takes 2 per stack: `kb`, then `g`.
 *
 * Counts: per-hit collects 50 stacks (the step's default); fast collects 500, a count for which
 * `mode: auto` picks fast on a real kd (it does above 200). Fast mode's exchanges do not grow
 * with the count (set the counter, set the event command, `g`, clear the event command).
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { countByCommand, exchanges, readRunDir, root, runPlaybook, stepWindow, tempDir } from './lib/run-dir.mjs';
import { summarize } from './lib/stats.mjs';

/** The simulator target of this benchmark: the default scenario with pool tagging on. */
export const taggedTarget = `sim:${join(root, 'bench', 'scenarios', 'tagged-default.yaml')}`;

/** Collect `count` stacks in `mode` once; exchanges of the collect step and stacks read. */
export async function collectOnce({ mode, count, target = taggedTarget, dir }) {
  const out = join(dir, `${mode}-${count}-${Date.now()}`);
  const { wallMs } = await runPlaybook({ playbook: 'playbooks/collect-stacks.yaml', target, inputs: { tag: 'Abc', count, mode, timeout: '5m' }, out });
  const run = readRunDir(out);
  const window = stepWindow(run.events, 'collect');
  if (!window) throw new Error(`collect step did not run in ${out}`);
  const sent = exchanges(run.transcript, window);
  rmSync(out, { recursive: true, force: true });
  return { wallMs, window, sent, stacks: run.stacks.length, transcript: run.transcript, byCommand: countByCommand(sent) };
}

/** Run the benchmark: per-hit and fast alternately, `runs` times each. */
export async function run({ runs }) {
  const dir = tempDir();
  const perHit = [];
  const fast = [];
  try {
    for (let index = 0; index < runs; index++) {
      perHit.push(await collectOnce({ mode: 'per-hit', count: 50, dir }));
      fast.push(await collectOnce({ mode: 'fast', count: 500, dir }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (mode, results, goal) => ({
    id: `roundtrips.${mode}`,
    name: `round trips per stack, ${mode} (${results[0].stacks} stacks; manual: 2)`,
    unit: 'per stack',
    readme: `Round trips per collected stack, ${mode} mode (manual procedure: 2)`,
    ...summarize(results.map((r) => r.sent.length / r.stacks)),
    goal: { op: '<=', value: goal },
    detail: { exchanges: summarize(results.map((r) => r.sent.length)), stacks: summarize(results.map((r) => r.stacks)), byCommand: results[0].byCommand, vsManual: summarize(results.map((r) => r.sent.length / r.stacks / 2)) },
  });
  return [row('per-hit', perHit, 1.0), row('fast', fast, 0.05)];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'roundtrips', title: '1. Round trips per collected stack', run };
