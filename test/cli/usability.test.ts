// What a person meets at the prompt: scenarios checked like playbooks (by validate, and by run
// before it starts), plan's usage and conditions, counts in words.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const broken = 'test/fixtures/scenarios-broken/four-problems.yaml';

const leakhunt = (...args: string[]) => execa(process.execPath, [cli, ...args], { cwd: root, reject: false, env: { NO_COLOR: '1' } });

// `file:line:col error CODE: message` lines of a command's stderr.
const errorLines = (stderr: string) => stderr.split('\n').filter((line) => / error [A-Z_]+: /.test(line));

describe.concurrent('scenarios are validated like playbooks', () => {
  test('validate reports every problem of a scenario in one pass, with positions and the value found', async () => {
    const r = await leakhunt('validate', broken);
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      expect.stringMatching(/^test\/fixtures\/scenarios-broken\/four-problems\.yaml:2:10 error INVALID_SCENARIO: Expected a known profile .* got "winxp-sp9-x86" \(SCENARIO_UNKNOWN_PROFILE\)$/),
      expect.stringMatching(/:8:14 error INVALID_SCENARIO: Expected modules\[0\]\.sites\[0\]\.tag to be a pool tag: 1 to 4 printable ASCII characters, got "ABCDE" \(5 characters\) \(SCENARIO_SCHEMA\)$/),
      expect.stringMatching(/:10:15 error INVALID_SCENARIO: .*min <= max, got \[200, 100\] \(SCENARIO_BAD_RANGE\)$/),
      expect.stringMatching(/:13:13 error INVALID_SCENARIO: Site id "a" is already used.* \(SCENARIO_DUPLICATE_SITE\)$/),
    ]);
    expect(r.stderr).toContain('> 8 |         tag: ABCDE');
    expect(r.stderr).toContain('4 problems');
  });

  test('validate accepts the shipped scenarios and playbooks together', async () => {
    const r = await leakhunt('validate', 'scenarios/two-sites-one-tag.yaml', 'playbooks/rank-only.yaml');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('ok  scenarios/two-sites-one-tag.yaml: scenario');
    expect(r.stdout).toMatch(/ok {2}playbooks\/rank-only\.yaml: \d+ steps, 1 cleanup step$/m);
  });

  test('run --target sim:<bad scenario> reports the scenario problems at their positions before starting (exit 2)', async () => {
    const out = join(root, 'runs', `test-bad-scenario-${process.pid}`);
    const r = await leakhunt('run', 'playbooks/rank-only.yaml', '--target', `sim:${broken}`, '--out', out);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain('SESSION_FAILED');
    expect(errorLines(r.stderr)).toHaveLength(4);
    expect(r.stderr).toContain('four-problems.yaml:13:13 error INVALID_SCENARIO');
  });
});

describe.concurrent('plan', () => {
  test('no playbook: exit 2 with the usage', async () => {
    const r = await leakhunt('plan');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('error: plan needs a playbook');
    expect(r.stderr).toContain('Usage: leakhunt plan <playbook> --os <os> [options]');
  });

  test('no --os: exit 2 with the usage', async () => {
    const r = await leakhunt('plan', 'playbooks/find-pool-leak.yaml');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('error: plan needs the --os option');
  });

  test("each step's when: condition is shown under it", async () => {
    const r = await leakhunt('plan', 'playbooks/find-pool-leak.yaml', '--os', 'xp');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    const retag = lines.findIndex((line) => /^\s+\d+\. retag\s/.test(line));
    // The condition as the playbook writes it.
    const written = /- id: retag\n(?:.*\n)*?\s+when: (.*)\n/.exec(readFileSync(join(root, 'playbooks/find-pool-leak.yaml'), 'utf8'))![1];
    expect(lines[retag + 1]).toBe(`        when: ${written}`);
    const symbols = lines.findIndex((line) => /^\s+\d+\. symbols\s/.test(line));
    expect(lines[symbols + 1]).toMatch(/^\s+\d+\. rank\s/);
  });
});

describe.concurrent('run renders its reports with the tag owners and threshold report takes', () => {
  test('--pooltag, --localtag and --max-growth reach the live hunt\'s reports', async () => {
    const out = join(root, 'runs', `test-run-pooltag-${process.pid}`);
    const r = await leakhunt('run', 'playbooks/rank-only.yaml', '--target', 'sim:win7-sp1-x64', '--out', out,
      '--pooltag', 'test/fixtures/pooltag/pooltag.txt', '--localtag', 'test/fixtures/pooltag/localtag.txt', '--max-growth', '0');
    expect(r.exitCode, r.stderr).toBe(0);
    const { rmSync } = await import('node:fs');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('abcflt.sys');
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('<property name="max-growth-bytes-per-minute" value="0"');
    rmSync(out, { recursive: true, force: true });
  }, 120_000);

  test('a bad --max-growth is a usage error before anything runs', async () => {
    const r = await leakhunt('run', 'playbooks/rank-only.yaml', '--max-growth', 'lots');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('error USAGE: Expected a number of bytes per minute for --max-growth, got "lots"');
  });
});
