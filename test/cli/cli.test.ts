// The built CLI spawned as a user runs it: validate, plan, plugins, schema, run's checks
// before connecting; exit codes 0 / 1 / 2 and errors without stack traces.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist', 'src', 'cli', 'main.js');
const fixtures = join(root, 'test', 'fixtures');
const plugins = ['--plugins', join(fixtures, 'plugins')];

// Newest modification time under a folder (sources of the CLI and the core).
function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    latest = Math.max(latest, name.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

// Run the CLI as a child process; resolves to exit code and output (tests run concurrently).
function leakhunt(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  const stale = !existsSync(bin) || statSync(bin).mtimeMs < Math.max(newest(join(root, 'src', 'core')), newest(join(root, 'src', 'cli')));
  if (stale) {
    // `npm run build` as a user would; tsc still emits when another area has type errors.
    try {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
    } catch {
      // checked below
    }
  }
  expect(existsSync(bin)).toBe(true);
}, 120_000);

describe.concurrent('leakhunt validate', () => {
  test('a valid playbook: exit 0 and a summary', async () => {
    const r = await leakhunt('validate', join(fixtures, 'playbooks', 'valid', 'full.yaml'), ...plugins);
    expect(r.stderr).not.toMatch(/error [A-Z_]+:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {2}.*full\.yaml: 4 steps, 2 cleanup steps$/m);
  });

  test('broken playbooks: exit 2, every problem with file:line:col, frame, caret and hint, no stack', async () => {
    const broken = join('test', 'fixtures', 'playbooks', 'broken');
    const r = await leakhunt('validate', join(broken, 'typo-always.yaml'), join(broken, 'unknown-step-id.yaml'), ...plugins);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(broken, 'typo-always.yaml')}:7:1 error UNKNOWN_KEY: Unknown key "aways" in the playbook`);
    expect(r.stderr).toContain('> 7 | aways:');
    expect(r.stderr).toContain('  hint: did you mean "always"?');
    expect(r.stderr).toContain(`${join(broken, 'unknown-step-id.yaml')}:9:33 error UNKNOWN_STEP_ID`);
    expect(r.stderr).toContain(`${join(broken, 'unknown-step-id.yaml')}:11:33 error UNKNOWN_STEP_ID`);
    expect(r.stderr).not.toMatch(/^\s+at .*\.js:\d+/m);
  });

  test('--json lists problems as data', async () => {
    const r = await leakhunt('validate', '--json', join(fixtures, 'playbooks', 'broken', 'unknown-step.yaml'), ...plugins);
    expect(r.code).toBe(2);
    const [report] = JSON.parse(r.stdout);
    expect(report.valid).toBe(false);
    expect(report.errors[0]).toMatchObject({ code: 'UNKNOWN_STEP', location: { line: 6, column: 11 }, hint: expect.stringContaining('fx.echo') });
  });

  test('a missing file is PLAYBOOK_NOT_FOUND, exit 2', async () => {
    const r = await leakhunt('validate', 'no/such/playbook.yaml', ...plugins);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error PLAYBOOK_NOT_FOUND');
  });
});

describe.concurrent('leakhunt plan', () => {
  const playbook = join(fixtures, 'playbooks', 'valid', 'full.yaml');
  test.each([
    ['xp', 'fx/legacy'],
    ['winxp-sp3-x86', 'fx/legacy'],
    ['win7', 'fx/modern'],
    ['win11', 'fx/segment-heap'],
    ['10.0.17763', 'fx/modern'],
  ])('--os %s chooses %s for the rank step', async (os, provider) => {
    const r = await leakhunt('plan', playbook, '--os', os, ...plugins);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`rank +fx\\.rank +→ ${provider}$`, 'm'));
  });

  test('--explain says why every other candidate lost', async () => {
    const r = await leakhunt('plan', playbook, '--os', 'xp', '--explain', ...plugins);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✗ fx/modern [os >=2003] [arch x86,x64]: os 5.1.2600 (xp) is outside >=2003 (>=5.2.0)');
    expect(r.stdout).toContain('✓ fx/legacy');
  });

  test('--json prints the plan', async () => {
    const r = await leakhunt('plan', playbook, '--os', 'win11', '--json', ...plugins);
    const plan = JSON.parse(r.stdout);
    expect(plan.steps.map((s: { id: string; provider: string }) => `${s.id}:${s.provider}`)).toEqual(['rank:segment-heap', 'echo:echo', 'flaky:flaky', 'shared.note:echo']);
    expect(plan.always.map((s: { id: string }) => s.id)).toEqual(['shared.undo', 'bye']);
  });

  test('a tie is AMBIGUOUS_PROVIDER with every candidate, exit 2', async () => {
    const dir = join(fixtures, 'playbooks', 'cli');
    const r = await leakhunt('plan', join(dir, 'tie.yaml'), '--os', 'win7', ...plugins);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error AMBIGUOUS_PROVIDER');
    expect(r.stderr).toContain('- fx/tie-a: applies, tied at priority 0');
    expect(r.stderr).toContain('- fx-extra/tie-b: applies, tied at priority 0');
  });

  test('no provider is NO_PROVIDER, exit 2', async () => {
    const r = await leakhunt('plan', join(fixtures, 'playbooks', 'cli', 'tie.yaml'), '--os', 'xp', ...plugins);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error NO_PROVIDER: No provider for "fx.tie" on xp 5.1.2600 x86 (2 candidates rejected)');
  });

  test('usage errors exit 2', async () => {
    expect(await leakhunt('plan', playbook, '--os', 'windows', ...plugins)).toMatchObject({ code: 2, stderr: expect.stringContaining('UNKNOWN_OS') });
    expect((await leakhunt('plan', playbook, '--os', 'xp', '--arch', 'mips', ...plugins)).code).toBe(2);
    expect((await leakhunt('plan', playbook, ...plugins)).code).toBe(2);
    expect((await leakhunt('no-such-command')).code).toBe(2);
  });
});

describe.concurrent('leakhunt plugins, schema, help, run', () => {
  test('plugins lists steps with their ranges', async () => {
    const r = await leakhunt('plugins', ...plugins);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fx\.rank +legacy +os >=win2000 <2003 \(>=5\.0\.0 <5\.2\.0\); arch x86; priority 0; check mode yes/);
  });

  test('schema prints a JSON Schema with the providers folded in', async () => {
    const r = await leakhunt('schema', ...plugins);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$defs.step.properties.uses.enum).toContain('fx.echo');
  });

  test('--help teaches with examples and exits 0', async () => {
    const r = await leakhunt('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('Exit codes: 0 success, 1 the run failed, 2 invalid playbook or usage.');
    expect((await leakhunt('run', '--help')).stdout).toContain('--check');
  });

  test('run refuses an invalid playbook or bad inputs before connecting (exit 2)', async () => {
    const broken = await leakhunt('run', join(fixtures, 'playbooks', 'broken', 'typo-always.yaml'), '--target', 'sim:', ...plugins);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('UNKNOWN_KEY');
    const badInput = await leakhunt('run', join(fixtures, 'playbooks', 'valid', 'full.yaml'), '--input', 'count=lots', ...plugins);
    expect(badInput.code).toBe(2);
    expect(badInput.stderr).toContain('error INVALID_INPUT: Input "count": expected an integer, got "lots"');
  });
});
