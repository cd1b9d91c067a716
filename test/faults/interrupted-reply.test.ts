// A Ctrl+C that reaches the debugger as well as leakhunt (kd.exe shares the Windows console) can
// cut a reply short a turn before leakhunt takes the signal itself. The step then fails on the
// truncated reply just before the run is stopped: the run must end aborted and say so, with no
// parse error blamed on kd or the target.
// Real simulator process, real engine and plugins; the Ctrl+C lands as rank's first `!poolused`
// is answered (the pool plugins parse replies themselves, with no await in between).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EventBus } from '../../src/core/events.js';
import { parseInputArgs, resolveInputs } from '../../src/core/inputs.js';
import { loadPlaybook } from '../../src/core/load.js';
import { planPlaybook } from '../../src/core/plan.js';
import { loadRegistry } from '../../src/core/registry.js';
import { createRunFiles, recordEvents } from '../../src/core/run-files.js';
import { runPlan } from '../../src/core/run.js';
import { connectTarget } from '../../src/debuggers/connect.js';
import { createTargetMemory } from '../../src/debuggers/memory.js';
import { cli, huntInputs, playbook, POOL_HIT_TAG_DEFAULT, readJsonLines, scenario, type SimState } from './harness.js';

// rank's first snapshot; its reply is cut where the Ctrl+C lands.
const cutCommand = '!poolused 4';

describe.runIf(existsSync(cli))('a reply cut short by the Ctrl+C that stops the run', () => {
  test('the step and the run end aborted; nothing blames the truncated reply; the target is left clean', async () => {
    const registry = await loadRegistry({ dirs: [] });
    const loaded = loadPlaybook(playbook, { registry });
    expect(loaded.errors).toEqual([]);
    const inputs = resolveInputs(loaded.playbook!.inputs, parseInputArgs(huntInputs).given);
    const runDir = mkdtempSync(join(tmpdir(), 'leakhunt-cut-reply-'));
    const files = createRunFiles(runDir);
    const target = await connectTarget(`sim:${scenario}`, { runDir });
    const stop = new AbortController();
    let cut: string | undefined;
    const execute = target.session.execute.bind(target.session);
    target.session.execute = async (command, options) => {
      const reply = await execute(command, options);
      if (command !== cutCommand || cut !== undefined) return reply;
      // kd stopped printing mid-line at the Ctrl+C; leakhunt's own signal handler runs on its
      // next turn of the event loop, after this reply has been handed over.
      cut = reply.output.slice(0, reply.output.indexOf('Sorting') + 'Sort'.length);
      setImmediate(() => stop.abort(new Error('SIGINT')));
      return { ...reply, output: cut };
    };
    const planned = planPlaybook(loaded.playbook!, target.facts, registry);
    expect(planned.errors).toEqual([]);
    const bus = new EventBus([]);
    recordEvents(bus, files);
    let result;
    try {
      result = await runPlan({ plan: planned.plan!, target, inputs: inputs.values, files, bus, memory: createTargetMemory, signal: stop.signal, runDir });
    } finally {
      await target.close({ resume: true });
      await bus.close();
    }
    // The Ctrl+C landed where it was meant to: in rank, on a reply with no tag table left.
    expect(cut).toMatch(/^\s*Sort$/);
    expect(result.status).toBe('aborted');
    expect(result.error?.code).toBe('RUN_ABORTED');
    const rank = result.steps.find((s) => s.id === 'rank')!.result;
    expect(rank.status === 'failed' && rank.error.code).toBe('RUN_ABORTED');
    // Every later step was skipped as aborted, not as failed.
    const after = result.steps.slice(result.steps.findIndex((s) => s.id === 'rank') + 1).filter((s) => s.section === 'steps');
    expect(after.map((s) => s.result.status === 'skipped' && s.result.reason)).toEqual(Array(4).fill('the run was aborted'));
    // Nothing the run reports (step ends, the verdict, the run's end) blames the truncated reply.
    const reported = readJsonLines(join(runDir, 'events.jsonl')).values.filter((e) => e['event'] !== 'log' || e['level'] !== 'debug');
    expect(JSON.stringify(reported)).not.toMatch(/POOL_TAGS_UNAVAILABLE|no tag table|UNREADABLE/);
    expect(readFileSync(join(runDir, 'report.json'), 'utf8')).not.toMatch(/POOL_TAGS_UNAVAILABLE|no tag table|UNREADABLE/);
    // The safety invariants: PoolHitTag as found, nothing patched, the target running.
    const state = JSON.parse(readFileSync(join(runDir, 'sim-state.json'), 'utf8')) as SimState;
    expect(state.poolHitTag >>> 0).toBe(POOL_HIT_TAG_DEFAULT);
    expect(state.patchedBytes).toEqual([]);
    expect(state.halted).toBe(false);
  }, 60_000);
});
