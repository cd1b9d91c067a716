// Run directories as a person finds them: a run that could not reach its target leaves none
// behind, and `leakhunt report` on a run that stopped before its verdict says how to go on.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const leakhunt = (...args: string[]) => execa(process.execPath, [cli, ...args], { cwd: root, reject: false, env: { NO_COLOR: '1' } });

describe.runIf(existsSync(cli)).concurrent('run directories', () => {
  test('a failed connect leaves no run directory behind', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-connect-')), 'run');
    const r = await leakhunt('run', 'playbooks/find-pool-leak.yaml', '--target', 'process:/nonexistent/kd.exe', '--out', out);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error [A-Z_]+: .*no such program/m);
    expect(existsSync(out)).toBe(false);
    expect(r.stderr).not.toMatch(/run directory:/);
  });

  test('a folder that existed before the run is left in place', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-connect-'));
    const r = await leakhunt('run', 'playbooks/find-pool-leak.yaml', '--target', 'process:/nonexistent/kd.exe', '--out', out);
    expect(r.exitCode).toBe(1);
    expect(existsSync(out)).toBe(true);
  });

  test('report on a run that stopped before its verdict suggests leakhunt resume', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'leakhunt-interrupted-')), 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), `${JSON.stringify({ playbook: join(root, 'playbooks/find-pool-leak.yaml'), inputs: [], target: 'sim:', plugins: [], startedAt: new Date().toISOString() })}\n`);
    writeFileSync(join(dir, 'events.jsonl'), '');
    const r = await leakhunt('report', dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/interrupted before it wrote its verdict/);
    expect(r.stderr).toContain(`leakhunt resume ${dir}`);
  });
});

describe.runIf(existsSync(cli))('run --check', () => {
  test('values known only at run time are named, never encoded as data; no internal error', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-check-')), 'run');
    const r = await leakhunt('run', 'playbooks/find-pool-leak.yaml', '--target', 'sim:scenarios/two-sites-one-tag.yaml', '--check', '--out', out);
    expect(r.exitCode, r.stderr).toBe(0);
    const line = (step: string) => r.stdout.split('\n').find((text) => new RegExp(`check +${step} `).test(text)) ?? '';
    // The bytes of "${{ " (24 7b 7b 20) were written as the tag before.
    expect(r.stdout).not.toMatch(/24 7b 7b/);
    expect(line('hit-tag')).toContain('eb nt!PoolHitTag <the bytes of steps.rank.outputs.suspect.tag>');
    expect(line('hit-tag')).toContain('known at run time: with.tag = ${{ steps.rank.outputs.suspect.tag }}');
    expect(line('retag')).toContain('u <return address>-0x20 L10 (each allocation site of steps.collect.outputs.sites)');
    expect(r.stdout).not.toMatch(/is not a function/);
  });
});

describe.runIf(existsSync(cli))('one rule for a pool tag', () => {
  test('tags with ; quotes or a backtick are legal everywhere a tag is taken (kd gets their bytes)', async () => {
    const dir = join(root, 'test/fixtures/legal-tags');
    const files = ['tag-semicolon', 'tag-backtick', 'tag-double-quote', 'tag-single-quote', 'tag-collect-semicolon', 'tag-find-quote'].map((name) => join(dir, `${name}.yaml`));
    const r = await leakhunt('validate', ...files);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  test('a tag outside the rule gets one error in words, with the value found', async () => {
    const r = await leakhunt('validate', 'test/fixtures/hostile/playbooks/tag-five-characters.yaml');
    expect(r.exitCode).toBe(2);
    const errors = r.stderr.split('\n').filter((line) => / error [A-Z_]+: /.test(line));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('1 to 4 printable ASCII characters (space to ~), not all spaces');
    expect(errors[0]).not.toMatch(/\(\?=|\[ -~\]/);
  });

  test('a hunt on a scenario whose leaking tag holds ; and a quote sets PoolHitTag and collects (it stopped at hit-tag before)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'leakhunt-tag-')), 'run');
    const r = await leakhunt('run', 'playbooks/find-pool-leak.yaml', '--target', 'sim:scenarios/accuracy/unusual-tag-quote-semicolon.yaml', '--out', out, '--input', 'samples=2', '--input', 'interval=500ms', '--input', 'stacks=10', '--input', 'collect-timeout=20s', '--input', 'retag-duration=1s');
    expect(r.stdout).toMatch(/changed hit-tag .*PoolHitTag = "Q;"1"/);
    expect(r.stdout).not.toMatch(/INVALID_WITH/);
  }, 90_000);
});
