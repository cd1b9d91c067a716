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
