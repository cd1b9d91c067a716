// Every terminal trial (issue 13 §1), run by npm run test:faults: Ctrl+C once in each step of
// the hunt, Ctrl+C twice, the terminal closing. Prints fired/total per step and per action.
import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { cli } from './harness.js';
import { checkPtyTrial, haveTmux, ptyTrials, runPtyTrials } from './pty.js';

const concurrency = Number(process.env['LEAKHUNT_FAULT_CONCURRENCY'] ?? 2);

test.runIf(existsSync(cli) && haveTmux)(`${ptyTrials.length} trials at a terminal`, async () => {
  const outcomes = await runPtyTrials(ptyTrials, concurrency);
  const tally = (key: (o: (typeof outcomes)[number]) => string) => {
    const counts: Record<string, string> = {};
    const groups = new Map<string, { fired: number; total: number }>();
    for (const o of outcomes) {
      const group = groups.get(key(o)) ?? { fired: 0, total: 0 };
      group.total++;
      if (o.fired) group.fired++;
      groups.set(key(o), group);
    }
    for (const [name, group] of groups) counts[name] = `${group.fired}/${group.total}`;
    return counts;
  };
  const problems = outcomes.flatMap(checkPtyTrial);
  for (const o of outcomes) process.stdout.write(`${o.trial.name}: ${o.fired ? `fired in ${o.faultStep}` : 'FAULT NOT FIRED'}, exit ${o.exitCode}, ${checkPtyTrial(o).length ? 'FAILED' : 'ok'} (${o.durationMs} ms)\n`);
  process.stdout.write(`${JSON.stringify({ firedByStep: tally((o) => o.trial.step), firedByAction: tally((o) => o.trial.action), problems: problems.length }, null, 2)}\n`);
  expect(problems).toEqual([]);
}, 30 * 60_000);
