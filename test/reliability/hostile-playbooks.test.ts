// Issue 7 §3: every broken or hostile playbook of test/fixtures/hostile/playbooks is rejected with
// its code and file:line:col before any debugger command is sent — by the loader, by `leakhunt run`
// (called in process with a process: target on the scripted kd stand-in, which records every line
// it reads), and by `leakhunt validate` spawned as a user runs it: exit 2, no stack trace, in time.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadPlaybook, sortErrors } from '../../src/core/load.js';
import { loadRegistry } from '../../src/core/registry.js';
import type { Registry } from '../../src/core/registry.js';
import { bin, corpus, deepPlaybook, describeAt, ensureBuilt, fakeKd, hostile, hugePlaybook, leakhunt, manyStepsPlaybook, root, stackTrace } from './corpus.js';
import type { Entry } from './corpus.js';

const folder = join(hostile, 'playbooks');
const entries = corpus('playbooks');
const rejected = entries.filter((entry) => entry.expect);
const defects = entries.filter((entry) => entry.defect);
const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-hostile-'));

let registry: Registry;
beforeAll(async () => {
  registry = await loadRegistry();
});

// The expected errors of an entry as `CODE at file:L:C`, files relative to `base`.
function expectedAt(entry: Entry, base: string): string[] {
  return entry.expect!.map((e) => describeAt(e.code, relative(base, resolve(folder, e.file ?? entry.name)) || entry.name, e.line, e.column));
}

// Compare reported errors (sorted) with an entry's expectations: exactly, or at least with `...`.
function checkReported(entry: Entry, reported: string[], base: string): void {
  const expected = expectedAt(entry, base);
  if (!entry.more) {
    expect(reported).toEqual(expected);
    return;
  }
  for (const item of expected) expect(reported).toContain(item);
  const codes = new Set(entry.expect!.map((e) => e.code));
  for (const item of reported) expect(codes.has(item.split(' ')[0]!)).toBe(true);
}

/** What `leakhunt run` did when called in process: exit code, output, and whether the stand-in read a line. */
async function runInProcess(file: string, extra: string[] = []): Promise<{ code: number; stderr: string; stdout: string; commands: string[]; runDir: string }> {
  const dir = mkdtempSync(join(scratch, 'run-'));
  const stateFile = join(dir, 'fake-kd-state.json');
  const runDir = join(dir, 'run');
  let stderr = '';
  let stdout = '';
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  process.env.FAKE_KD = JSON.stringify({ stateFile });
  let code: number;
  try {
    code = await main(['node', 'leakhunt', 'run', file, '--target', `process:"${process.execPath}" "${fakeKd}"`, '--out', runDir, ...extra]);
  } finally {
    errSpy.mockRestore();
    outSpy.mockRestore();
    delete process.env.FAKE_KD;
    process.exitCode = undefined;
  }
  const commands = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { read: string[] }).read : [];
  return { code, stderr, stdout, commands: existsSync(stateFile) ? ['<started>', ...commands] : [], runDir };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('the hostile playbook corpus', () => {
  test('holds at least 60 inputs, each with its expectation or a named defect', () => {
    expect(entries.length).toBeGreaterThanOrEqual(60);
    for (const entry of entries) expect(entry.why, entry.name).not.toBe('');
  });
});

describe('the loader rejects each with its code, file:line:col and a code frame', () => {
  test.each(rejected.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
    const result = loadPlaybook(entry.name, { registry, cwd: folder });
    expect(result.playbook).toBeUndefined();
    const errors = sortErrors(result.errors);
    checkReported(entry, errors.map((e) => describeAt(e.code, relative(folder, resolve(folder, e.location!.file)), e.location!.line, e.location!.column)), folder);
    for (const error of errors) {
      expect(error.frame).toContain(`> ${error.location!.line} |`);
      // One line a user can read: control characters and newlines in values are quoted, not printed.
      expect(error.message).not.toMatch(/[\n\r\u001b]/);
    }
  });
});

describe('leakhunt run rejects each before the debugger is even started', () => {
  test.each(rejected.map((entry) => [entry.name, entry] as const))('%s', async (_name, entry) => {
    const file = relative(root, entry.path);
    const run = await runInProcess(file);
    expect(run.code).toBe(2);
    expect(run.commands).toEqual([]);
    expect(existsSync(join(run.runDir, 'transcript.jsonl'))).toBe(false);
    for (const e of entry.expect!) {
      const shown = relative(root, resolve(folder, e.file ?? entry.name));
      expect(run.stderr).toContain(`${shown}:${e.line}:${e.column} error ${e.code}:`);
    }
    expect(run.stderr).not.toMatch(stackTrace);
  });
});

// Open defects (none today; a suite without tests would fail, so it exists only when there are some).
if (defects.length > 0) {
  describe('known defects (each test flips to failing when the defect is fixed; then move the file to # expect:)', () => {
    for (const entry of defects) {
      test.fails(`${entry.name} is rejected by the loader (today: ${entry.defect})`, () => {
        expect(loadPlaybook(entry.name, { registry, cwd: folder }).errors.length).toBeGreaterThan(0);
      });
    }
  });
}

describe('a hostile --input value (the playbook itself is valid)', () => {
  const file = relative(root, join(hostile, 'accepted', 'input-tag.yaml'));

  test('control: the playbook validates', async () => {
    expect(loadPlaybook(file, { registry, cwd: root }).errors).toEqual([]);
  });

  test.each(['A;.shell calc', 'A\ng', 'Abcde'])('--input tag=%j is INVALID_WITH at the expression before the debugger is started', async (tag) => {
    const run = await runInProcess(file, ['--input', `tag=${tag}`]);
    expect(run.code).toBe(2);
    expect(run.commands).toEqual([]);
    expect(existsSync(join(run.runDir, 'transcript.jsonl'))).toBe(false);
    expect(run.stderr).toContain(`${file}:12:12 error INVALID_WITH:`);
    expect(run.stderr).toContain('where inputs.tag is set by --input tag');
    expect(run.stderr).not.toMatch(stackTrace);
  });
});

describe('inputs too big to commit', () => {
  test('a 5 MB playbook is rejected at its last line within seconds', async () => {
    const { text, line } = hugePlaybook(5_000_000);
    expect(text.length).toBeGreaterThan(5_000_000);
    const file = join(scratch, 'huge.yaml');
    writeFileSync(file, text);
    const errors = loadPlaybook(file, { registry }).errors;
    expect(errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.column}`)).toEqual([`UNKNOWN_KEY ${line}:1`]);
  });

  // How load time grows from 300 to 6,000 steps (a code frame per step once split the whole file
  // again: quadratic) is the scaling figure of `npm run bench`; here, only what the load says.
  test('6,000 steps load, each problem at its own position', () => {
    const large = manyStepsPlaybook(6_000);
    const file = join(scratch, 'large.yaml');
    writeFileSync(file, large.text);
    const errors = loadPlaybook(file, { registry }).errors;
    expect(errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.column}`)).toEqual([`INVALID_WITH ${large.line}:12`]);
  }, 60_000);

  // Used to be YAML_SYNTAX "Maximum call stack size exceeded" at whatever column the stack ran out.
  test.each([100, 1_000, 2_000, 10_000, 50_000])('nesting %i deep is INVALID_PLAYBOOK at the 65th level (5:76), never a crash', (depth) => {
    const file = join(scratch, `deep-${depth}.yaml`);
    writeFileSync(file, deepPlaybook(depth));
    const errors = loadPlaybook(file, { registry }).errors;
    expect(errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.column} ${e.message}`)).toEqual(['INVALID_PLAYBOOK 5:76 The file nests collections deeper than 64 levels']);
  });

  test.each([
    ['10,000 compact "- " entries', `name: deep\nsteps:\n  ${'- '.repeat(10_000)}x\n`, '3:129'],
    ['3,000 indented "-" levels', `name: deep\nsteps:\n${Array.from({ length: 3_000 }, (_, i) => `${' '.repeat(2 + i)}-\n`).join('')}`, '66:66'],
  ])('%s: INVALID_PLAYBOOK at the 65th level', (_what, text, where) => {
    const file = join(scratch, 'deep-block.yaml');
    writeFileSync(file, text);
    const errors = loadPlaybook(file, { registry }).errors;
    expect(errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.column}`)).toEqual([`INVALID_PLAYBOOK ${where}`]);
  });

  test('leakhunt run refuses the 10,000-deep and the 5 MB playbooks before starting the debugger', async () => {
    const deep = join(scratch, 'deep-run.yaml');
    writeFileSync(deep, deepPlaybook(10_000));
    const huge = join(scratch, 'huge-run.yaml');
    const { text, line } = hugePlaybook(5_000_000);
    writeFileSync(huge, text);
    for (const [file, where] of [[deep, ':5:'], [huge, `:${line}:1 error UNKNOWN_KEY`]] as const) {
      const run = await runInProcess(file);
      expect(run.code).toBe(2);
      expect(run.commands).toEqual([]);
      expect(run.stderr).toContain(where);
      expect(run.stderr).not.toMatch(stackTrace);
    }
  }, 60_000);
});

describe('leakhunt validate, spawned', () => {
  beforeAll(() => {
    ensureBuilt();
    expect(existsSync(bin)).toBe(true);
  }, 180_000);

  test('every corpus playbook at once: exit 2, each expected code at file:line:col, no stack trace, in time', async () => {
    const files = rejected.map((entry) => relative(root, entry.path));
    const result = await leakhunt(['validate', ...files], { timeoutMs: 60_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    for (const entry of rejected) {
      for (const e of entry.expect!) {
        const shown = relative(root, resolve(folder, e.file ?? entry.name));
        expect(result.stderr).toContain(`${shown}:${e.line}:${e.column} error ${e.code}:`);
      }
    }
    expect(result.stderr).not.toMatch(stackTrace);
  }, 90_000);

  test('one file at a time exits 2 too (the alias bomb used to exit 1 with a stack trace)', async () => {
    const file = relative(root, join(folder, 'yaml-billion-laughs.yaml'));
    const result = await leakhunt(['validate', file], { timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:5:10 error YAML_SYNTAX: Cannot expand aliases`);
    expect(result.stderr).not.toMatch(stackTrace);
  }, 60_000);

  test('generated 5 MB, 10,000-deep and 6,000-step playbooks: exit 2 with positions within the time bound', async () => {
    const dir = mkdtempSync(join(scratch, 'big-'));
    const huge = hugePlaybook(5_000_000);
    const many = manyStepsPlaybook(6_000);
    writeFileSync(join(dir, 'huge.yaml'), huge.text);
    writeFileSync(join(dir, 'many.yaml'), many.text);
    writeFileSync(join(dir, 'deep.yaml'), deepPlaybook(10_000));
    const result = await leakhunt(['validate', 'huge.yaml', 'many.yaml', 'deep.yaml'], { cwd: dir, timeoutMs: 60_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`huge.yaml:${huge.line}:1 error UNKNOWN_KEY`);
    expect(result.stderr).toContain(`many.yaml:${many.line}:12 error INVALID_WITH`);
    expect(result.stderr).toContain('deep.yaml:5:76 error INVALID_PLAYBOOK: The file nests collections deeper than 64 levels');
    expect(result.stderr).not.toMatch(stackTrace);
  }, 90_000);
});
