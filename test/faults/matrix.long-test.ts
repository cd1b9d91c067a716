// The long fault matrix (issue 7 §1): at least 200 seeded trials, every fault kind at many
// moments, run by `npm run test:faults` (its own vitest config; npm test runs the fast subset).
// LEAKHUNT_FAULT_SEED and LEAKHUNT_FAULT_TRIALS change the seed and the count.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { checkTrial, makeTrial, runTrials, stepOfMoment, trialMoment, type TrialOutcome } from './harness.js';

const seed = Number(process.env['LEAKHUNT_FAULT_SEED'] ?? 7);
const count = Number(process.env['LEAKHUNT_FAULT_TRIALS'] ?? 216);
const concurrency = Number(process.env['LEAKHUNT_FAULT_CONCURRENCY'] ?? 2);

test(`${count} seeded fault trials (seed ${seed})`, async () => {
  const trials = Array.from({ length: count }, (_, id) => makeTrial(id, seed));
  const problems: string[] = [];
  let done = 0;
  const outcomes: TrialOutcome[] = await runTrials(trials, concurrency, (outcome, found) => {
    done++;
    problems.push(...found);
    const t = outcome.trial;
    process.stdout.write(`[${done}/${count}] #${t.id} ${t.kind} ${t.faults.join(' ')}${t.signal ? ` ${t.signal.name}×${t.signal.count} at ${t.signal.at}` : ''}${t.unwritable ? ` ${t.unwritable.file ?? 'dir'} at ${t.unwritable.at}` : ''}${t.debuggerExit ? ` debugger killed at ${t.debuggerExit.at}` : ''}${t.stall ? ` debugger stopped ${t.stall.seconds} s at ${t.stall.at}` : ''} → ${outcome.fired ? `fired in ${outcome.faultStep ?? '?'}, ` : 'FAULT NOT FIRED, '}exit ${outcome.exitCode}${outcome.debuggerDied ? ', debugger died, next run exit ' + outcome.recovery?.exitCode : ''}${outcome.rebootDuring ? `, reboot during ${outcome.rebootDuring}` : ''} ${found.length ? 'FAILED' : 'ok'} (${outcome.durationMs} ms)\n`);
  });
  // The figures for docs/reliability-faults.md.
  const byKind: Record<string, { trials: number; fired: number; failedRun: number; succeeded: number; debuggerDied: number; recovered: number; problems: number }> = {};
  outcomes.forEach((o) => {
    const k = (byKind[o.trial.kind] ??= { trials: 0, fired: 0, failedRun: 0, succeeded: 0, debuggerDied: 0, recovered: 0, problems: 0 });
    k.trials++;
    if (o.fired) k.fired++;
    if (o.exitCode === 0) k.succeeded++;
    else k.failedRun++;
    if (o.debuggerDied) k.debuggerDied++;
    if (o.recovery?.exitCode === 0) k.recovered++;
    if (checkTrial(o).length) k.problems++;
  });
  // Fired/total per fault kind and per step the fault landed in (a fault that did not fire is a failure).
  const firedByKind: Record<string, string> = {};
  for (const [kind, k] of Object.entries(byKind)) firedByKind[kind] = `${k.fired}/${k.trials}`;
  // Per step: the step each trial's moment belongs to (faults without one act on every output).
  const plannedStep = (o: TrialOutcome): string => {
    const moment = trialMoment(o.trial);
    if (moment !== undefined) return stepOfMoment(moment) ?? moment;
    const reboot = o.trial.faults.find((f) => f.startsWith('reboot-'));
    if (reboot) return reboot.startsWith('reboot-at-hit') ? 'collect (reboot at a PoolHitTag break)' : 'target time (reboot-at)';
    return 'every output (garbage, truncate)';
  };
  const tallies: Record<string, { fired: number; total: number }> = {};
  for (const o of outcomes) {
    const tally = (tallies[plannedStep(o)] ??= { fired: 0, total: 0 });
    tally.total++;
    if (o.fired) tally.fired++;
  }
  const firedByPlannedStep: Record<string, string> = {};
  for (const [step, tally] of Object.entries(tallies)) firedByPlannedStep[step] = `${tally.fired}/${tally.total}`;
  // Where the fired faults landed (the step running at the moment, from events.jsonl).
  const byStep: Record<string, number> = {};
  for (const o of outcomes) if (o.fired && o.faultStep !== undefined) byStep[o.faultStep] = (byStep[o.faultStep] ?? 0) + 1;
  const notFired = outcomes.filter((o) => !o.fired && !o.preStart).map((o) => `trial ${o.trial.id} (${o.trial.kind}): the fault did not fire`);
  // A fault at a moment lands in the step the moment names (else the moment's text matched something else).
  const misplaced = outcomes
    .filter((o) => o.fired && trialMoment(o.trial) !== undefined && stepOfMoment(trialMoment(o.trial)!) !== o.faultStep)
    .map((o) => `trial ${o.trial.id} (${o.trial.kind} at ${trialMoment(o.trial)}): landed in ${o.faultStep}, not ${stepOfMoment(trialMoment(o.trial)!)}`);
  const rebootSteps: Record<string, number> = {};
  for (const o of outcomes) if (o.trial.kind === 'reboot') rebootSteps[o.rebootDuring ?? 'none (after the run)'] = (rebootSteps[o.rebootDuring ?? 'none (after the run)'] ?? 0) + 1;
  const summary = { seed, trials: outcomes.length, misplaced, preStart: outcomes.filter((o) => o.preStart).length, postExit: outcomes.filter((o) => o.postExit).length, fired: outcomes.filter((o) => o.fired).length, firedByKind, firedByPlannedStep, landedInStep: byStep, survived: outcomes.filter((o) => checkTrial(o).length === 0).length, byKind, rebootSteps, problems };
  const file = join(tmpdir(), `leakhunt-faults-summary-${seed}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`summary: ${file}\n${JSON.stringify({ ...summary, problems: problems.length }, null, 2)}\n`);
  expect(outcomes.length).toBeGreaterThanOrEqual(200);
  // Reboots landed in both phases the issue names.
  expect(rebootSteps['collect'] ?? 0).toBeGreaterThan(0);
  expect(rebootSteps['retag'] ?? 0).toBeGreaterThan(0);
  expect(problems).toEqual([]);
  expect(notFired).toEqual([]);
  expect(misplaced).toEqual([]);
}, 4 * 60 * 60_000);
