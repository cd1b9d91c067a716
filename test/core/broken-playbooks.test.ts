// Every broken playbook under fixtures/playbooks/broken declares what it must produce in
// `# expect: CODE line:col [hint text]` comments; the loader must report exactly those.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadPlaybook, sortErrors } from '../../src/core/load.js';
import { fixtureRegistry, fixtures } from './helpers.js';

const folder = join(fixtures, 'playbooks', 'broken');
const cases = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();

// The expectations written in a fixture's comments.
function expectations(file: string) {
  return [...readFileSync(join(folder, file), 'utf8').matchAll(/^# expect: (\w+) (\d+):(\d+)(?: (.*))?$/gm)].map((m) => ({
    code: m[1],
    line: Number(m[2]),
    column: Number(m[3]),
    hint: m[4],
  }));
}

describe('broken playbooks are rejected with code and position', () => {
  test('the table is not empty', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  test.each(cases)('%s', async (file) => {
    const registry = await fixtureRegistry();
    const result = loadPlaybook(file, { registry, cwd: folder });
    const expected = expectations(file);
    expect(expected.length).toBeGreaterThan(0);
    expect(result.playbook).toBeUndefined();
    const errors = sortErrors(result.errors);
    expect(errors.map((e) => ({ code: e.code, line: e.location?.line, column: e.location?.column }))).toEqual(
      expected.map(({ code, line, column }) => ({ code, line, column })),
    );
    expected.forEach((want, i) => {
      const got = errors[i]!;
      expect(got.location?.file).toBe(file);
      expect(got.frame).toContain(`> ${want.line} |`);
      // The caret sits under the reported column.
      const caretLine = got.frame!.split('\n').at(-1)!;
      const sourceLine = got.frame!.split('\n').find((l) => l.startsWith(`> ${want.line} |`))!;
      expect(caretLine.indexOf('^') - caretLine.indexOf('|')).toBe(want.column + 1);
      expect(sourceLine.indexOf('|')).toBe(caretLine.indexOf('|'));
      if (want.hint) expect(got.hint).toContain(want.hint);
    });
  });
});

describe('valid playbooks load without problems', () => {
  const valid = join(fixtures, 'playbooks', 'valid');
  test.each(readdirSync(valid).filter((f) => f.endsWith('.yaml') && !f.startsWith('_')).sort())('%s', async (file) => {
    const registry = await fixtureRegistry();
    const result = loadPlaybook(file, { registry, cwd: valid });
    expect(result.errors.map((e) => `${e.code} ${e.message}`)).toEqual([]);
    expect(result.playbook?.steps.length).toBeGreaterThan(0);
  });
});
