// Issue 7 §3 for simulator scenarios: every broken scenario of test/fixtures/hostile/scenarios is
// rejected with its code and file:line:col — by the loader, by `leakhunt sim --scenario` spawned
// (exit 2, no stack trace, in time), and through `leakhunt run --target sim:<file>`, where the
// simulator refuses to start, so not one command reaches it.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadScenario, validateScenario } from '../../src/sim/scenario.js';
import type { ScenarioProblem } from '../../src/sim/scenario.js';
import { bin, corpus, deepScenario, describeAt, ensureBuilt, hostile, hugeScenario, leakhunt, root, stackTrace } from './corpus.js';

const folder = join(hostile, 'scenarios');
const entries = corpus('scenarios');
const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-hostile-scenarios-'));

// Problems of a scenario file as `CODE at file:L:C`, or a note that it loaded.
function problemsOf(path: string): string[] {
  try {
    loadScenario(path);
    return ['(loaded)'];
  } catch (error) {
    const problems = (error as { problems?: readonly ScenarioProblem[] }).problems;
    if (!problems) throw error;
    return problems.map((p) => describeAt(p.code, relative(folder, p.file), p.line, p.column));
  }
}

describe('the hostile scenario corpus', () => {
  test('holds at least 20 scenarios, all with expectations', () => {
    expect(entries.length).toBeGreaterThanOrEqual(20);
    for (const entry of entries) expect(entry.expect, entry.name).toBeDefined();
  });

  test.each(entries.map((entry) => [entry.name, entry] as const))('%s is rejected with its code at file:line:col', (_name, entry) => {
    expect(problemsOf(entry.path)).toEqual(entry.expect!.map((e) => describeAt(e.code, e.file ?? entry.name, e.line, e.column)));
  });
});

describe('scenarios too big to commit', () => {
  test('a 5 MB scenario is rejected at its last line within seconds', () => {
    const { text, line } = hugeScenario(5_000_000);
    const started = Date.now();
    const { scenario, problems } = validateScenario(text, 'huge.yaml');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(scenario).toBeUndefined();
    expect(problems.map((p) => `${p.code} ${p.line}`)).toEqual([`SCENARIO_SCHEMA ${line}`]);
  });

  // Used to be SCENARIO_YAML_SYNTAX "Maximum call stack size exceeded" wherever the stack ran out.
  test.each([100, 2_000, 10_000, 50_000])('nesting %i deep is SCENARIO_SCHEMA at the 65th level (2:266), never a crash', (depth) => {
    const { scenario, problems } = validateScenario(deepScenario(depth), 'deep.yaml');
    expect(scenario).toBeUndefined();
    expect(problems.map((p) => `${p.code} ${p.line}:${p.column} ${p.message}`)).toEqual(['SCENARIO_SCHEMA 2:266 The file nests collections deeper than 64 levels']);
  });
});

describe('the simulator process, spawned', () => {
  beforeAll(() => {
    ensureBuilt();
    expect(existsSync(bin)).toBe(true);
  }, 180_000);

  // One of each kind of problem (each spawn costs a Node start-up, so not all of them).
  const sample = ['billion-laughs.yaml', 'tag-five-characters.yaml', 'undefined-alias.yaml'];

  test.each(sample)('leakhunt sim --scenario %s: exit 2, code at file:line:col, no stack trace', async (name) => {
    const entry = entries.find((e) => e.name === name)!;
    const file = relative(root, entry.path);
    const result = await leakhunt(['sim', '--scenario', file], { timeoutMs: 30_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(2);
    for (const e of entry.expect!) expect(result.stderr).toContain(`${file}:${e.line}:${e.column} ${e.code}:`);
    expect(result.stderr).not.toMatch(stackTrace);
    expect(result.stdout).toBe('');
  }, 40_000);

  test('a generated 5 MB scenario: exit 2 with its position, within the time bound', async () => {
    const { text, line } = hugeScenario(5_000_000);
    const file = join(scratch, 'huge.yaml');
    writeFileSync(file, text);
    const result = await leakhunt(['sim', '--scenario', file], { timeoutMs: 40_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:${line}:`);
    expect(result.stderr).toContain('SCENARIO_SCHEMA');
    expect(result.stderr).not.toMatch(stackTrace);
  }, 60_000);

  // One run against a broken scenario, shared by the two tests below.
  let rejectedRun: Promise<{ result: Awaited<ReturnType<typeof leakhunt>>; records: { direction: string }[]; file: string }> | undefined;
  const runOnBrokenScenario = () => {
    rejectedRun ??= (async () => {
      const file = relative(root, join(folder, 'tag-newline.yaml'));
      const runDir = mkdtempSync(join(scratch, 'run-'));
      const result = await leakhunt(['run', 'playbooks/rank-only.yaml', '--target', `sim:${file}`, '--out', runDir], { timeoutMs: 40_000 });
      const transcript = existsSync(join(runDir, 'transcript.jsonl')) ? readFileSync(join(runDir, 'transcript.jsonl'), 'utf8').trim().split('\n').filter(Boolean) : [];
      return { result, records: transcript.map((line) => JSON.parse(line) as { direction: string }), file };
    })();
    return rejectedRun;
  };

  test('leakhunt run --target sim:<broken scenario> sends no command and fails without a stack trace', async () => {
    const { result, records } = await runOnBrokenScenario();
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(2);
    expect(records.filter((r) => r.direction === 'send')).toEqual([]);
    expect(result.stderr).not.toContain('SESSION_FAILED');
    expect(result.stderr).not.toMatch(stackTrace);
  }, 60_000);

  // The scenario is checked before the run starts, like the playbook: its problem at its position,
  // not "the debugger exited".
  test('leakhunt run --target sim:<broken scenario> tells the user the scenario problem and its position', async () => {
    const { result, file } = await runOnBrokenScenario();
    expect(result.stderr).toContain(`${file}:9:14 error INVALID_SCENARIO: Expected modules[0].sites[0].tag to be a pool tag`);
    expect(result.stderr).toContain('(SCENARIO_SCHEMA)');
  }, 60_000);
});
