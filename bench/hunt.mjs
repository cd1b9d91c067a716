/**
 * Benchmark 7: the whole hunt. `playbooks/find-pool-leak.yaml` on the default scenario (the
 * built-in simulator: Windows XP, tagging off, so gflags and a reboot come first), its wall
 * time as `leakhunt run` (process start to exit) and its debugger commands counted from
 * transcript.jsonl, against the procedure done by hand for the same snapshots and stacks
 * (bench/manual-procedure.mjs).
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { manualCommands } from './manual-procedure.mjs';
import { countByCommand, exchanges, readRunDir, runPlaybook, stepWindow, tempDir } from './lib/run-dir.mjs';
import { summarize } from './lib/stats.mjs';

// The playbook's defaults the manual count must match: 5 !poolused samples, 40 stacks.
const SAMPLES = 5;
const STACKS = 40;

/** Run the benchmark: `runs` hunts in a row. */
export async function run({ runs }) {
  const dir = tempDir();
  const hunts = [];
  try {
    for (let index = 0; index < runs; index++) {
      const out = join(dir, `hunt-${index}`);
      const { wallMs } = await runPlaybook({ playbook: 'playbooks/find-pool-leak.yaml', out });
      const run = readRunDir(out);
      const sent = exchanges(run.transcript);
      const end = run.events.find((e) => e.event === 'runEnd');
      const verdict = stepWindow(run.events, 'verdict')?.outputs;
      const collect = stepWindow(run.events, 'collect');
      const perStep = {};
      for (const e of run.events.filter((e) => e.event === 'stepEnd')) {
        const window = stepWindow(run.events, e.step);
        if (window) perStep[e.step] = exchanges(run.transcript, window).length;
      }
      hunts.push({ wallMs, sent: sent.length, byCommand: countByCommand(sent), perStep, stacks: run.stacks.length, verdict: verdict?.verdict ?? end?.status, collectStacks: collect?.outputs?.stacks, runMs: end?.durationMs });
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const manual = manualCommands({ samples: SAMPLES, stacks: STACKS, reboot: true });
  const asWritten = manualCommands({ samples: 1, stacks: STACKS, reboot: true });
  return [
    { id: 'hunt.wall', name: `find-pool-leak.yaml on the default scenario, leakhunt run wall time`, unit: 's', readme: 'Whole hunt (find-pool-leak.yaml, default scenario): wall time', ...summarize(hunts.map((h) => h.wallMs / 1000)), detail: { runMs: summarize(hunts.filter((h) => h.runMs).map((h) => h.runMs)), verdicts: hunts.map((h) => h.verdict), stacks: hunts.map((h) => h.stacks) } },
    { id: 'hunt.commands', name: `debugger commands of the hunt (manual, ${SAMPLES} samples + ${STACKS} stacks: ${manual.length})`, unit: 'commands', readme: `Whole hunt: debugger commands (the manual procedure for the same ${SAMPLES} samples and ${STACKS} stacks: ${manual.length})`, ...summarize(hunts.map((h) => h.sent)), detail: { byCommand: hunts[0].byCommand, perStep: hunts[0].perStep, manual: manual.length, manualAsWritten: asWritten.length, manualByCommand: countByCommand(manual.map((c) => ({ event: c.command === '<Ctrl+C>' ? 'break-in' : 'command', command: c.command }))) } },
    { id: 'hunt.vsManual', name: 'hunt commands ÷ manual procedure commands', unit: '×', ...summarize(hunts.map((h) => h.sent / manual.length)) },
  ];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'hunt', title: '7. Whole hunt', run };
