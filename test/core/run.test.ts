// The runner: always on every exit path (success, failure, timeout, abort), retries,
// continue-on-error, when, outputs between steps, facts merging, includes at run time,
// and the engine's own restore of memory writes left pending.
import { describe, expect, test } from 'vitest';
import { EventBus } from '../../src/core/events.js';
import { loadPlaybook } from '../../src/core/load.js';
import { planPlaybook } from '../../src/core/plan.js';
import { createTestReporter } from '../../src/core/reporters/test.js';
import { createMemoryRunFiles } from '../../src/core/run-files.js';
import { mergeFacts, runPlan } from '../../src/core/run.js';
import type { RunResult } from '../../src/core/run.js';
import { factsForOs } from '../../src/core/versions.js';
import { findProfile } from '../../src/sim/profiles.js';
import { createFakeMemory, createFakeTarget, FakeDebuggerSession } from '../../src/debuggers/fake.js';
import { fixtureRegistry, writeTree, yaml } from './helpers.js';

interface Harness {
  result: RunResult;
  /** How many TargetMemory objects the engine asked for. */
  memories: number;
  lines: string[];
  session: FakeDebuggerSession;
  files: ReturnType<typeof createMemoryRunFiles>;
  status: (id: string) => string | undefined;
  outputs: (id: string) => Record<string, unknown> | undefined;
}

// Load, plan and run an inline playbook against a fake XP target.
async function runYaml(text: string, options: { inputs?: Record<string, unknown>; signal?: AbortSignal; os?: string; extraFiles?: Record<string, string>; session?: FakeDebuggerSession; graceMs?: number } = {}): Promise<Harness> {
  const registry = await fixtureRegistry();
  const dir = writeTree({ 'playbook.yaml': text, ...options.extraFiles });
  const loaded = loadPlaybook('playbook.yaml', { registry, cwd: dir });
  expect(loaded.errors.map((e) => `${e.code} ${e.message}`)).toEqual([]);
  const os = options.os ?? 'winxp-sp3-x86';
  const facts = factsForOs(os, undefined, findProfile(os));
  const { plan, errors } = planPlaybook(loaded.playbook!, facts, registry);
  expect(errors).toEqual([]);
  const session = options.session ?? new FakeDebuggerSession({ replies: { '!poolused 4': 'Abc ' } });
  const target = createFakeTarget(facts, session);
  const reporter = createTestReporter();
  const bus = new EventBus([reporter]);
  const files = createMemoryRunFiles();
  const shared = { seq: 0, pending: [] };
  let memories = 0;
  const inputs = { ...Object.fromEntries(Object.values(loaded.playbook!.inputs).filter((d) => d.default !== undefined).map((d) => [d.name, d.default])), ...options.inputs };
  const result = await runPlan({ plan: plan!, target, inputs, files, bus, memory: (s, f, id) => (memories++, createFakeMemory(s as FakeDebuggerSession, f, id, shared)), signal: options.signal, graceMs: options.graceMs ?? 200 });
  await bus.close();
  return {
    result,
    memories,
    lines: reporter.lines,
    session,
    files,
    status: (id) => result.steps.find((s) => s.id === id)?.result.status,
    outputs: (id) => result.steps.find((s) => s.id === id)?.result.outputs,
  };
}

const cleanup = yaml`
  always:
    - id: clear
      uses: fx.echo
      with: { message: cleared }
`;

describe('always runs on every exit path', () => {
  test('success', async () => {
    const h = await runYaml(yaml`
      name: ok
      steps:
        - id: rank
          uses: fx.rank
    ` + cleanup);
    expect(h.result.status).toBe('succeeded');
    expect(h.status('rank')).toBe('ok');
    expect(h.status('clear')).toBe('ok');
    expect(h.lines.at(-1)).toBe('{"event":"runEnd","status":"succeeded"}');
  });

  test('step failure: later steps are skipped, always still runs, the plugin code is kept', async () => {
    const h = await runYaml(yaml`
      name: fails
      steps:
        - id: boom
          uses: fx.fail
          with: { code: TAGGING_OFF }
        - id: after
          uses: fx.echo
          with: { message: never }
    ` + cleanup);
    expect(h.result.status).toBe('failed');
    expect(h.result.error).toMatchObject({ code: 'STEP_FAILED', pluginCode: 'fx/TAGGING_OFF', step: 'boom', plugin: 'fx' });
    expect(h.result.steps.map((s) => [s.id, s.result.status])).toEqual([['boom', 'failed'], ['after', 'skipped'], ['clear', 'ok']]);
    const after = h.result.steps.find((s) => s.id === 'after')!.result;
    expect(after.status === 'skipped' && after.reason).toBe('an earlier step failed');
  });

  test('a code the plugin does not declare still fails the step, with a warning', async () => {
    const declared = await runYaml(yaml`
      name: declared
      steps:
        - { id: boom, uses: fx.fail, with: { code: TAGGING_OFF } }
    `);
    expect(declared.lines.filter((line) => line.includes('"level":"warn"'))).toEqual([]);
    const undeclared = await runYaml(yaml`
      name: undeclared
      steps:
        - { id: boom, uses: fx.fail, with: { code: NOT_DECLARED } }
    `);
    expect(undeclared.result.error).toMatchObject({ code: 'STEP_FAILED', pluginCode: 'fx/NOT_DECLARED' });
    expect(undeclared.lines).toContain('{"event":"log","step":"boom","level":"warn"}');
  });

  test('a thrown plain Error becomes PLUGIN_ERROR with the cause kept', async () => {
    const h = await runYaml(yaml`
      name: throws
      steps:
        - id: t
          uses: fx.throw
    ` + cleanup);
    expect(h.result.error).toMatchObject({ code: 'PLUGIN_ERROR', plugin: 'fx', step: 't' });
    expect((h.result.error!.cause as Error).message).toBe('boom');
    expect(h.status('clear')).toBe('ok');
  });

  test('timeout: the provider gets an aborted signal, the step is TIMEOUT, always runs', async () => {
    const started = Date.now();
    const h = await runYaml(yaml`
      name: slow
      steps:
        - id: slow
          uses: fx.sleep
          timeout: 50ms
          with: { ms: 5000 }
    ` + cleanup);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(h.result.status).toBe('failed');
    expect(h.result.error?.code).toBe('TIMEOUT');
    expect(h.status('slow')).toBe('failed');
    expect(h.status('clear')).toBe('ok');
  });

  test('abort while cleanup runs: cleanup finishes, and the run still ends aborted', async () => {
    const controller = new AbortController();
    // The main step is done at once; the signal comes while the 300 ms cleanup runs.
    setTimeout(() => controller.abort(new Error('SIGINT')), 100);
    const h = await runYaml(yaml`
      name: interrupted in cleanup
      steps:
        - id: quick
          uses: fx.echo
          with: { message: done }
      always:
        - id: slow-cleanup
          uses: fx.sleep
          with: { ms: 300 }
    `, { signal: controller.signal });
    expect(h.status('quick')).toBe('ok');
    expect(h.status('slow-cleanup')).toBe('ok');
    expect(h.result.status).toBe('aborted');
    expect(h.result.error?.code).toBe('RUN_ABORTED');
  });

  test('abort (SIGINT): the current step stops, the rest is skipped, always runs, status aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGINT')), 50);
    const h = await runYaml(yaml`
      name: interrupted
      steps:
        - id: wait
          uses: fx.sleep
          with: { ms: 5000 }
        - id: next
          uses: fx.echo
          with: { message: never }
      always:
        - id: clear
          uses: fx.echo
          with: { message: cleared }
        - id: only-on-cancel
          uses: fx.echo
          when: cancelled()
          with: { message: cancelled }
    `, { signal: controller.signal });
    expect(h.result.status).toBe('aborted');
    expect(h.result.error?.code).toBe('RUN_ABORTED');
    expect(h.status('wait')).toBe('failed');
    expect(h.status('next')).toBe('skipped');
    expect(h.status('clear')).toBe('ok');
    expect(h.status('only-on-cancel')).toBe('ok');
  });

  test('a failing cleanup step fails the run but the other cleanup steps still run', async () => {
    const h = await runYaml(yaml`
      name: cleanup fails
      steps:
        - id: a
          uses: fx.echo
          with: { message: a }
      always:
        - id: bad
          uses: fx.fail
        - id: good
          uses: fx.echo
          with: { message: still }
    `);
    expect(h.result.status).toBe('failed');
    expect(h.status('good')).toBe('ok');
  });
});

describe('step options', () => {
  test('retries with delay: a flaky step succeeds on its third attempt', async () => {
    const h = await runYaml(yaml`
      name: retry
      steps:
        - id: flaky
          uses: fx.flaky
          retries: 2
          delay: 5ms
          with: { failures: 2, key: retry-3 }
    `);
    expect(h.result.status).toBe('succeeded');
    expect(h.outputs('flaky')).toEqual({ attempts: 3 });
    expect(h.result.steps[0]!.attempts).toBe(3);
    expect(h.lines.filter((l) => l.includes('"stepStart"'))).toHaveLength(3);
  });

  test('retries run out: the last error is reported', async () => {
    const h = await runYaml(yaml`
      name: retry out
      steps:
        - id: flaky
          uses: fx.flaky
          retries: 1
          with: { failures: 5, key: retry-out }
    `);
    expect(h.result.status).toBe('failed');
    expect(h.result.steps[0]!.attempts).toBe(2);
    expect(h.result.error?.message).toContain('attempt 2 fails');
  });

  test('continue-on-error: the run goes on and succeeds; failure() stays false', async () => {
    const h = await runYaml(yaml`
      name: continue
      steps:
        - id: soft
          uses: fx.fail
          continue-on-error: true
        - id: next
          uses: fx.echo
          with: { message: "soft was \${{ steps.soft.status }}" }
    `);
    expect(h.result.status).toBe('succeeded');
    expect(h.outputs('next')).toMatchObject({ message: 'soft was failed' });
  });

  test('when: false skips with the reason; failure() steps run only after a failure', async () => {
    const h = await runYaml(yaml`
      name: when
      inputs:
        deep: { type: boolean, default: false }
      steps:
        - id: deep
          uses: fx.echo
          when: inputs.deep
          with: { message: deep }
        - id: on-failure
          uses: fx.echo
          when: failure()
          with: { message: failed }
        - id: boom
          uses: fx.fail
        - id: report
          uses: fx.echo
          when: failure()
          with: { message: "reporting \${{ steps.boom.status }}" }
    `);
    expect(h.status('deep')).toBe('skipped');
    expect(h.status('on-failure')).toBe('skipped');
    expect(h.outputs('report')).toMatchObject({ message: 'reporting failed' });
  });

  test('outputs flow between steps with their types', async () => {
    const h = await runYaml(yaml`
      name: outputs
      inputs:
        count: { type: integer, default: 4 }
      steps:
        - id: rank
          uses: fx.rank
        - id: echo
          uses: fx.echo
          with:
            message: "suspect \${{ steps.rank.outputs.suspect }} by \${{ steps.rank.outputs.provider }}"
            count: \${{ inputs.count }}
            value: \${{ steps.rank.outputs }}
    `);
    // The legacy provider trims what the fake debugger printed for !poolused.
    expect(h.outputs('echo')).toEqual({ message: 'suspect Abc by legacy', count: 4, value: { suspect: 'Abc', provider: 'legacy' } });
    expect(h.session.sent).toEqual(['!poolused 4']);
  });

  test('a resolved with: that breaks the schema is INVALID_WITH at run time', async () => {
    // No default: the loader's pre-flight cannot know the value, so the run-time check must catch it.
    const h = await runYaml(yaml`
      name: typed
      inputs:
        count: { type: string }
      steps:
        - id: echo
          uses: fx.echo
          with: { message: x, count: "\${{ inputs.count }}" }
    `, { inputs: { count: 'many' } });
    expect(h.result.error?.code).toBe('INVALID_WITH');
    expect(h.result.error?.location?.line).toBe(7); // the count: value inside with:
  });

  test('facts from outcomes merge key by key; the latest wins', async () => {
    const h = await runYaml(yaml`
      name: facts
      steps:
        - id: f
          uses: fx.facts
          with: { tagging: true }
        - id: show
          uses: fx.echo
          with: { message: "\${{ facts.pool.taggingEnabled }} \${{ facts.pool.allocator }} \${{ facts.fx.seen }}" }
    `);
    expect(h.outputs('show')).toMatchObject({ message: 'true classic true' });
    expect(h.result.facts.pool).toEqual({ taggingEnabled: true, allocator: 'classic' });
    expect(mergeFacts(factsForOs('xp'), { os: { sp: 3 } }).os).toMatchObject({ sp: 3, version: '5.1.2600' });
  });
});

describe('memory writes left pending', () => {
  test('the engine restores them after always and says so', async () => {
    const session = new FakeDebuggerSession({ memory: { '80545b14': [0x0f, 0xff, 0xff, 0xff] } });
    const h = await runYaml(yaml`
      name: leaves a patch
      steps:
        - id: patch
          uses: fx.patch
          with: { address: "80545b14", bytes: [0x41, 0x62, 0x63, 0x20] }
      always:
        - id: clear
          uses: fx.echo
          with: { message: forgot to undo }
    `, { session });
    expect(h.result.restored).toHaveLength(1);
    expect(h.result.restored[0]).toMatchObject({ address: '80545b14', original: [0x0f, 0xff, 0xff, 0xff], step: 'patch' });
    expect(session.bytes.get('80545b14')).toEqual([0x0f, 0xff, 0xff, 0xff]);
    expect(session.sent).toEqual(['eb 80545b14 41 62 63 20', 'eb 80545b14 0f ff ff ff']);
    expect(h.lines).toContain('{"event":"log","level":"warn"}');
    expect(h.lines.at(-1)).toBe('{"event":"runEnd","status":"succeeded","restored":1}');
    expect(h.files.lines.get('undo.jsonl')).toHaveLength(2);
  });

  test('one memory serves the whole run: every write numbered in one sequence and named by its step', async () => {
    const session = new FakeDebuggerSession({ memory: { '3000': [1], '3001': [2] } });
    const h = await runYaml(yaml`
      name: two writers
      steps:
        - id: first
          uses: fx.patch
          with: { address: "3000", bytes: [5] }
        - id: second
          uses: fx.patch
          with: { address: "3001", bytes: [6] }
    `, { session });
    expect(h.memories).toBe(1);
    expect(h.result.restored.map((r) => [r.seq, r.step]).sort()).toEqual([[1, 'first'], [2, 'second']]);
    expect([session.bytes.get('3000'), session.bytes.get('3001')]).toEqual([[1], [2]]);
  });

  test('nothing is restored when the step undid its own write', async () => {
    const session = new FakeDebuggerSession({ memory: { '1000': [1, 2] } });
    const h = await runYaml(yaml`
      name: tidy
      steps:
        - id: patch
          uses: fx.patch
          with: { address: "1000", bytes: [9, 9], restore: true }
    `, { session });
    expect(h.result.restored).toEqual([]);
    expect(session.bytes.get('1000')).toEqual([1, 2]);
  });

  test('a pending write is restored even when the run failed', async () => {
    const session = new FakeDebuggerSession({ memory: { '2000': [7] } });
    const h = await runYaml(yaml`
      name: fail after patch
      steps:
        - id: patch
          uses: fx.patch
          with: { address: "2000", bytes: [8] }
        - id: boom
          uses: fx.fail
    `, { session });
    expect(h.result.status).toBe('failed');
    expect(h.result.restored).toHaveLength(1);
    expect(session.bytes.get('2000')).toEqual([7]);
  });
});

describe('includes at run time', () => {
  test('included steps get their inputs from with:, ids are prefixed, cleanup runs innermost first', async () => {
    const h = await runYaml(yaml`
      name: outer
      steps:
        - id: rank
          uses: fx.rank
        - id: shared
          include: lib/inner.yaml
          with: { label: "\${{ steps.rank.outputs.suspect }}" }
      always:
        - id: outer-clean
          uses: fx.echo
          with: { message: outer }
    `, {
      extraFiles: {
        'lib/inner.yaml': yaml`
          name: inner
          inputs:
            label: { type: string }
            times: { type: integer, default: 2 }
          steps:
            - id: say
              uses: fx.echo
              with: { message: "inner \${{ inputs.label }}", count: "\${{ inputs.times }}" }
          always:
            - id: undo
              uses: fx.echo
              with: { message: "undo \${{ steps.say.outputs.message }}" }
        `,
      },
    });
    expect(h.result.status).toBe('succeeded');
    expect(h.result.steps.map((s) => s.id)).toEqual(['rank', 'shared.say', 'shared.undo', 'outer-clean']);
    expect(h.outputs('shared.say')).toEqual({ message: 'inner Abc', value: null, count: 2 });
    expect(h.outputs('shared.undo')).toMatchObject({ message: 'undo inner Abc' });
  });

  test('the cleanup of an include that was never reached does not run', async () => {
    const h = await runYaml(yaml`
      name: outer
      steps:
        - id: boom
          uses: fx.fail
        - id: shared
          include: inner.yaml
    `, {
      extraFiles: {
        'inner.yaml': yaml`
          name: inner
          steps:
            - id: say
              uses: fx.echo
              with: { message: hi }
          always:
            - id: undo
              uses: fx.echo
              with: { message: undo }
        `,
      },
    });
    expect(h.status('shared.say')).toBe('skipped');
    expect(h.status('shared.undo')).toBe('skipped');
  });
});

describe('steps inside an include are addressed as steps.<include-id>.<step-id>', () => {
  const part = yaml`
    name: part
    steps:
      - id: say
        uses: fx.echo
        with: { message: from-part, count: 3 }
      - id: deeper
        include: leaf.yaml
  `;
  const leaf = yaml`
    name: leaf
    steps:
      - id: say
        uses: fx.echo
        with: { message: from-leaf }
  `;

  test('the including playbook reads an included step, and a nested include, by their ids', async () => {
    const h = await runYaml(
      yaml`
        name: main
        steps:
          - id: part
            include: part.yaml
          - id: read
            uses: fx.echo
            when: \${{ steps.part.say.outputs.count == 3 }}
            with:
              message: \${{ steps.part.say.outputs.message }}/\${{ steps.part.deeper.say.outputs.message }}/\${{ steps.part.say.status }}
      `,
      { extraFiles: { 'part.yaml': part, 'leaf.yaml': leaf } },
    );
    expect(h.status('read')).toBe('ok');
    expect(h.outputs('read')?.message).toBe('from-part/from-leaf/ok');
  });

  test('a wrong id inside an include is UNKNOWN_STEP_ID at that id, naming the include and its steps', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({
      'main.yaml': yaml`
        name: main
        steps:
          - id: part
            include: part.yaml
          - id: read
            uses: fx.echo
            with: { message: "\${{ steps.part.sya.outputs.message }}" }
      `,
      'part.yaml': part,
      'leaf.yaml': leaf,
    });
    const { errors } = loadPlaybook('main.yaml', { registry, cwd: dir });
    expect(errors.map((e) => ({ code: e.code, message: e.message, hint: e.hint, column: e.location?.column }))).toEqual([
      { code: 'UNKNOWN_STEP_ID', message: 'Unknown step id "part.sya"', hint: 'did you mean "say"? (steps of the include "part")', column: 38 },
    ]);
  });

  test('a step that nothing ran before says so instead of "no step id is allowed here"', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({
      'main.yaml': yaml`
        name: main
        steps:
          - id: read
            uses: fx.echo
            with: { message: "\${{ steps.part.say.outputs.message }}" }
      `,
    });
    const { errors } = loadPlaybook('main.yaml', { registry, cwd: dir });
    expect(errors.map((e) => e.hint)).toEqual(['no step runs before this one, so there is no step id to read here']);
  });
});
