// A simulated machine that persists across runs (sim:…,machine=<folder>): what spans several
// runs on a lab machine can be rehearsed — tagging enabled in one run and used in the next, and
// what a run left written restored by the next one.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

const run = (playbook: string, out: string, target: string, ...args: string[]) =>
  execa(process.execPath, [cli, 'run', playbook, '--out', out, '--target', target, ...args], { reject: false, cwd: root, timeout: 120_000 });

// PoolHitTag as the machine's memory file holds it between runs.
const hitTagOf = (machine: string) => (JSON.parse(readFileSync(join(machine, 'memory.json'), 'utf8')) as { poolHitTag: number }).poolHitTag >>> 0;

describe.runIf(existsSync(cli))('a simulated machine that persists across runs', () => {
  test('tagging enabled in one run is on in the next; without machine= every run boots a fresh machine', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'leakhunt-machine-'));
    const machine = join(parent, 'xp');
    const rankNow = 'test/fixtures/playbooks/machine/rank-now.yaml';
    const fresh = await run(rankNow, join(parent, 'fresh'), 'sim:');
    expect(fresh.exitCode).toBe(1);
    expect(fresh.stderr).toContain('POOL_TAGS_UNAVAILABLE');

    const enable = await run('playbooks/enable-tagging.yaml', join(parent, 'enable'), `sim:,machine=${machine}`);
    expect(enable.exitCode, enable.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(machine, 'registry.json'), 'utf8')).globalFlag & 0x400).toBe(0x400);

    const ranked = await run(rankNow, join(parent, 'rank'), `sim:,machine=${machine}`);
    expect(ranked.exitCode, ranked.stderr).toBe(0);
    expect(ranked.stdout).toMatch(/ok +rank .*one snapshot: tag "[^"]+" uses the most paged pool/);
  }, 200_000);

  test('what a run left written on the machine is restored by the next run against it', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'leakhunt-machine-'));
    const machine = join(parent, 'xp');
    const target = `sim:,machine=${machine}`;
    // Killed (no cleanup can run) as soon as the tag is set: triggered by the run's own event.
    const crashing = execa(process.execPath, [cli, 'run', 'test/fixtures/playbooks/machine/crash-with-hit-tag-set.yaml', '--out', join(parent, 'crashed'), '--target', target, '--json'], { reject: false, cwd: root, timeout: 120_000 });
    let buffered = '';
    crashing.stdout!.on('data', (chunk: Buffer) => {
      buffered += String(chunk);
      if (/"event":"stepEnd"[^\n]*"step":"hit-tag"/.test(buffered)) crashing.kill('SIGKILL');
    });
    const crashed = await crashing;
    expect(crashed.signal).toBe('SIGKILL');
    // The machine outlives its debugger: its memory file keeps the tag the dead run set.
    await expect.poll(() => existsSync(join(machine, 'memory.json')) && hitTagOf(machine), { timeout: 30_000 }).toBe(0x20636241);

    const next = await run('playbooks/rank-only.yaml', join(parent, 'next'), target, '--input', 'samples=1');
    expect(next.stdout + next.stderr).toMatch(/restored 1 memory write\(s\) an earlier run left on the target: 804da000 \(PoolHitTag/);
    expect(hitTagOf(machine)).toBe(0xffffff0f);
  }, 200_000);
});

describe.runIf(existsSync(cli))('ready playbooks on the default target', () => {
  test('rank-only works on the default XP target, whose pool tagging is off', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-rank-only-'));
    const result = await run('playbooks/rank-only.yaml', out, 'sim:');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/changed +reboot .*pool tagging on/);
    expect(result.stdout).toMatch(/ok +rank .*tag "Abc " grew/);
  }, 200_000);
});

describe.runIf(existsSync(cli))('a collection that gets no PoolHitTag break says why and what to try', () => {
  test('tagging off (the default XP target): the step fails with TAGGING_OFF and the remedy', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-no-hits-'));
    const result = await run('playbooks/collect-stacks.yaml', out, 'sim:', '--input', 'tag=Abc', '--input', 'timeout=1s');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error pool\/TAGGING_OFF: Step "collect" failed: no PoolHitTag break in 1\.0 s: pool tagging is off in this boot/);
    expect(result.stderr).toContain('hint: enable tagging first: run playbooks/enable-tagging.yaml');
    // The tag is still put back.
    expect(JSON.parse(readFileSync(join(out, 'sim-state.json'), 'utf8')).poolHitTag).toBe(0xffffff0f);
  }, 120_000);

  test('a tag nothing uses: ok, with a warning that says what to try', async () => {
    const out = mkdtempSync(join(tmpdir(), 'leakhunt-no-hits-'));
    const result = await run('playbooks/collect-stacks.yaml', out, 'sim:win7-sp1-x64', '--input', 'tag=Zq9', '--input', 'timeout=1s');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/warn +collect +no PoolHitTag break in 1\.0 s: nothing allocated or freed pool with tag "Zq9" while the target ran\. Try: /);
  }, 120_000);
});
