// A lab run with the built CLI on simulator targets: every target in its own run directory, a
// dead target reported as such while the others hunt, the lab report and its summary by culprit,
// resume running only what did not succeed, each target's verdict and culprit the same as
// running it alone, and the CI round trip (lab matrix, one job per entry, report --merge).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const playbook = join(root, 'playbooks/find-pool-leak.yaml');
const netx = join(root, 'scenarios/lab/netx.yaml');

const leakhunt = (args: string[]) => execa(process.execPath, [cli, ...args], { reject: false, cwd: root, timeout: 240_000 });
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

interface Row { name: string; status: string; verdict: string | null; culprit: string | null; error?: string; windows: { version: string } | null; providers: Record<string, string>; report: string | null }

describe.runIf(existsSync(cli))('a lab run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-'));
  const inventory = join(dir, 'lab.yaml');
  const labDir = join(dir, 'lab');
  let first: Awaited<ReturnType<typeof leakhunt>>;

  beforeAll(async () => {
    writeFileSync(inventory, `targets:
  - { name: xp, target: "sim:${netx}@winxp-sp3-x86", labels: { arch: x86 }, runner: [self-hosted, lab-x86] }
  - { name: dead, target: "process:${process.execPath} -e process.exit(3)", labels: { arch: x64 } }
  - { name: w1809, target: "sim:${netx}@win10-1809-x64", labels: { arch: x64 }, runner: [self-hosted, lab-x64] }
  - { name: lost, target: "process:${process.execPath} ${cli} sim --scenario ${netx} --fault exit-after:40" }
`);
    first = await leakhunt(['run', playbook, '--inventory', inventory, '--parallel', '4', '--out', labDir]);
  }, 240_000);

  test('hunts every target in its own run directory; a dead target and one that loses its debugger fail alone', () => {
    expect(first.exitCode, first.stderr).toBe(1);
    for (const name of ['xp', 'dead', 'w1809', 'lost']) expect(existsSync(join(labDir, 'targets', name, 'lab-target.json'))).toBe(true);
    const lab = json(join(labDir, 'lab-report.json'));
    const rows = Object.fromEntries((lab.targets as Row[]).map((row) => [row.name, row]));
    expect(rows.xp).toMatchObject({ status: 'succeeded', verdict: 'no-leak', culprit: null, windows: { version: '5.1.2600' }, report: 'targets/xp/report.html' });
    expect(rows.w1809).toMatchObject({ status: 'succeeded', verdict: 'leak', culprit: expect.stringMatching(/^netx!NxAllocRxContext\+0x/), windows: { version: '10.0.17763' } });
    expect(rows.dead).toMatchObject({ status: 'failed', verdict: null, error: expect.stringMatching(/SESSION_FAILED.*exit code 3/) });
    // The simulator behind a process: console exits after its 40th command, in the middle of the hunt.
    expect(rows.lost).toMatchObject({ status: 'failed', error: expect.stringMatching(/the debugger exited \(exit code 3\)/) });
    // The providers that differ between XP and 1809 are columns; the ones alike are not.
    expect(lab.varyingSteps).toEqual(expect.arrayContaining(['tagging', 'retag']));
    expect(lab.varyingSteps).not.toContain('rank');
    expect(lab.culprits).toEqual([{ culprit: 'netx!NxAllocRxContext', targets: ['w1809'], of: 2, text: 'netx!NxAllocRxContext leaks on 1 of 2 targets: all Windows 10 1809 and later' }]);
    expect(lab.noVerdict).toEqual(['dead', 'lost']);
    // Progress: the lab's own lines and each target's, prefixed with its name.
    expect(first.stdout).toMatch(/^lab {6}dead: failed \(exit 1\); /m);
    expect(first.stdout).toMatch(/^\[w1809\] \d\d:\d\d:\d\d ok +verdict /m);
    expect(first.stdout).toMatch(/^lab {6}netx!NxAllocRxContext leaks on 1 of 2 targets: all Windows 10 1809 and later$/m);
    // The readable reports say the same.
    const markdown = readFileSync(join(labDir, 'lab-report.md'), 'utf8');
    expect(markdown).toContain('- `netx!NxAllocRxContext` leaks on 1 of 2 targets: all Windows 10 1809 and later');
    expect(markdown).toMatch(/^\| `dead` \| — \| — \| .*failed: SESSION\\_FAILED/m);
    const junit = readFileSync(join(labDir, 'lab-junit.xml'), 'utf8');
    expect(junit.match(/<testsuite /g)).toHaveLength(4);
    expect(junit).toMatch(/<testsuite name="dead" tests="1" failures="0" errors="1"/);
    expect(junit).toMatch(/<testsuite name="w1809" tests="\d+" failures="[1-9]/);
    // Cleanup ran on each simulated target.
    for (const name of ['xp', 'w1809']) expect(json(join(labDir, 'targets', name, 'sim-state.json'))).toMatchObject({ poolHitTag: 0xffffff0f, patchedBytes: [], halted: false });
  });

  test('every target gets the verdict and culprit it gets when run alone', async () => {
    for (const [name, profile] of [['xp', 'winxp-sp3-x86'], ['w1809', 'win10-1809-x64']] as const) {
      const out = join(dir, `alone-${name}`);
      const alone = await leakhunt(['run', playbook, '--target', `sim:${netx}@${profile}`, '--out', out]);
      expect(alone.exitCode, alone.stderr).toBe(0);
      const single = json(join(out, 'report.json'));
      const inLab = json(join(labDir, 'targets', name, 'report.json'));
      expect({ verdict: inLab.verdict, culprit: inLab.culprit?.frame ?? null }).toEqual({ verdict: single.verdict, culprit: single.culprit?.frame ?? null });
    }
  }, 240_000);

  test('resume runs only the targets that did not succeed', async () => {
    const before = json(join(labDir, 'targets', 'xp', 'lab-target.json'));
    const resumed = await leakhunt(['resume', labDir]);
    expect(resumed.exitCode).toBe(1);
    expect(resumed.stderr).toMatch(/resuming .*: 2 target\(s\) finished, 2 to run/);
    expect(resumed.stdout).toMatch(/^lab {6}dead: started/m);
    expect(resumed.stdout).not.toMatch(/^lab {6}(xp|w1809): started/m);
    expect(json(join(labDir, 'targets', 'xp', 'lab-target.json'))).toEqual(before);
    expect(json(join(labDir, 'lab.json')).resumedAt).toHaveLength(1);
    // The lab report still has every row.
    expect((json(join(labDir, 'lab-report.json')).targets as Row[]).map((row) => row.name)).toEqual(['xp', 'dead', 'w1809', 'lost']);
  }, 240_000);

  test('CI round trip: the matrix, one job per entry, and report --merge of the jobs\' run directories', async () => {
    const matrix = await leakhunt(['lab', 'matrix', inventory, '--limit', 'name=xp,w1809']);
    expect(matrix.exitCode, matrix.stderr).toBe(0);
    const parsed = JSON.parse(matrix.stdout);
    expect(parsed).toEqual({
      include: [
        { target: 'xp', runner: ['self-hosted', 'lab-x86'], labels: { arch: 'x86' } },
        { target: 'w1809', runner: ['self-hosted', 'lab-x64'], labels: { arch: 'x64' } },
      ],
    });
    // Each "job" runs its one target; the merge sees only the collected run directories.
    const jobs = await Promise.all(parsed.include.map((entry: { target: string }) => leakhunt(['run', playbook, '--inventory', inventory, '--limit', `name=${entry.target}`, '--out', join(dir, `job-${entry.target}`)])));
    for (const job of jobs) expect(job.exitCode, job.stderr).toBe(0);
    const merged = join(dir, 'merged');
    const merge = await leakhunt(['report', '--merge', join(dir, 'job-xp', 'targets', 'xp'), join(dir, 'job-w1809', 'targets', 'w1809'), '--out', merged]);
    expect(merge.exitCode, merge.stderr).toBe(0);
    expect(merge.stdout).toBe('netx!NxAllocRxContext leaks on 1 of 2 targets: all Windows 10 1809 and later');
    const rows = json(join(merged, 'lab-report.json')).targets as Row[];
    expect(rows.map((row) => [row.name, row.verdict, row.culprit?.replace(/\+0x.*/, '') ?? null])).toEqual([['xp', 'no-leak', null], ['w1809', 'leak', 'netx!NxAllocRxContext']]);
    expect(rows[0]!.report).toBe('../job-xp/targets/xp/report.html');
    for (const file of ['lab-report.md', 'lab-report.html', 'lab-junit.xml']) expect(existsSync(join(merged, file))).toBe(true);
  }, 240_000);

  test('a matrix never prints a connection key, and a bad inventory is positioned', async () => {
    const keyed = join(dir, 'keyed.yaml');
    writeFileSync(keyed, 'targets:\n  - name: w10\n    target: "kd:-k net:port=50000,key=1.2.3.4"\n    labels: { arch: mips }\n');
    const bad = await leakhunt(['lab', 'matrix', keyed]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/keyed\.yaml:4:21 error INVALID_INVENTORY: Expected .*arch/);
    expect(bad.stderr).not.toContain('1.2.3.4');
    // validate recognises an inventory and says the same.
    const validated = await leakhunt(['validate', keyed, join(root, 'scenarios/lab-all-versions.yaml')]);
    expect(validated.exitCode).toBe(2);
    expect(validated.stderr).toMatch(/keyed\.yaml:4:21 error INVALID_INVENTORY/);
    expect(validated.stdout).toMatch(/^ok {2}.*lab-all-versions\.yaml: lab inventory, 13 targets$/m);
    writeFileSync(keyed, 'targets:\n  - name: w10\n    target: "kd:-k net:port=50000,key=1.2.3.4"\n');
    const good = await leakhunt(['lab', 'matrix', keyed]);
    expect(good.stdout).not.toContain('1.2.3.4');
    expect(JSON.parse(good.stdout).include[0]).toEqual({ target: 'w10', runner: ['self-hosted'], labels: {} });
  });
});

describe.runIf(existsSync(cli))('Ctrl+C during a lab run', () => {
  test('stops every running target, runs each one\'s cleanup, and leaves the rest to resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-stop-'));
    const inventory = join(dir, 'lab.yaml');
    writeFileSync(inventory, `targets:
  - { name: a, target: "sim:${netx}@win10-1809-x64" }
  - { name: b, target: "sim:${netx}@win11-24h2-x64" }
  - { name: c, target: "sim:${netx}@win7-sp1-x64" }
`);
    const labDir = join(dir, 'lab');
    const child = execa(process.execPath, [cli, 'run', playbook, '--inventory', inventory, '--parallel', '2', '--out', labDir], { reject: false, cwd: root, timeout: 240_000 });
    // The stop comes when both running targets are collecting stacks (PoolHitTag set), not after a time.
    const collecting = new Set<string>();
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(/^\[(a|b)\] \S+ start +collect /gm)) collecting.add(match[1]!);
      if (collecting.size === 2 && !child.killed) child.kill('SIGINT');
    });
    const result = await child;
    expect(collecting.size, output).toBe(2);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/stopping every running target, then running each one's cleanup/);
    for (const name of ['a', 'b']) {
      expect(json(join(labDir, 'targets', name, 'lab-target.json')).status).toBe('aborted');
      // Cleanup ran: PoolHitTag back to its default, nothing patched, the target running.
      expect(json(join(labDir, 'targets', name, 'sim-state.json'))).toMatchObject({ poolHitTag: 0xffffff0f, patchedBytes: [], halted: false });
    }
    expect(json(join(labDir, 'targets', 'c', 'lab-target.json')).status).toBe('not-run');
    expect(json(join(labDir, 'lab-report.json')).noVerdict).toEqual(['a', 'b', 'c']);
  }, 240_000);
});
