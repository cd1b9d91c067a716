// Lab trials for the fault matrix (`npm run test:faults`): one lab run in which half the targets
// lose their debugger at different moments (a simulator behind process: that exits after its
// Nth command, N seeded) while the other half hunt normally. Every target ends with a recorded
// status, the healthy ones get the verdict their profile calls for, the faulted ones are failed
// with the cause in the lab report, and no fault reaches another target.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { createRng } from '../../src/sim/kernel-rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const netx = join(root, 'scenarios/lab/netx.yaml');
const seed = Number(process.env['LEAKHUNT_FAULT_SEED'] ?? 7);
const healthy = ['winxp-sp3-x86', 'win7-sp1-x64', 'win81-x64', 'win10-1607-x64', 'win10-1809-x64', 'win11-24h2-x64'];
// netx leaks from Windows 10 1809 on (leakOn in scenarios/lab/netx.yaml).
const leaks = new Set(['win10-1809-x64', 'win11-24h2-x64']);

test(`lab trials: ${healthy.length} healthy targets beside ${healthy.length} that lose their debugger (seed ${seed})`, async () => {
  const rng = createRng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-faults-'));
  // Profiles with tagging always on: behind process: there is no host channel to set GlobalFlag with.
  const faulted = ['win2003-sp2-x64', 'win7-sp1-x64', 'win81-x64', 'win10-1607-x64', 'win10-1809-x64', 'win11-24h2-x64'].map((profile, i) => ({ name: `lost-${i}`, after: 10 + Math.floor(rng.next() * 110), profile }));
  const lines = [
    ...healthy.map((profile) => `  - { name: ${profile}, target: "sim:${netx}@${profile}" }`),
    ...faulted.map((f) => `  - { name: ${f.name}, target: "process:${process.execPath} ${cli} sim --scenario ${netx} --profile ${f.profile} --fault exit-after:${f.after}" }`),
  ];
  writeFileSync(join(dir, 'lab.yaml'), `targets:\n${lines.join('\n')}\n`);
  const labDir = join(dir, 'lab');
  const result = await execa(process.execPath, [cli, 'run', join(root, 'playbooks/find-pool-leak.yaml'), '--inventory', join(dir, 'lab.yaml'), '--parallel', '4', '--out', labDir], { reject: false, cwd: root, timeout: 30 * 60_000 });
  process.stdout.write(`${result.stdout.split('\n').filter((line) => line.startsWith('lab')).join('\n')}\n`);
  expect(existsSync(join(labDir, 'lab-report.json')), result.stderr).toBe(true);
  const lab = JSON.parse(readFileSync(join(labDir, 'lab-report.json'), 'utf8'));
  const rows = new Map<string, { status: string; verdict: string | null; culprit: string | null; error?: string }>(lab.targets.map((row: { name: string }) => [row.name, row]));
  expect(rows.size).toBe(healthy.length * 2);
  for (const profile of healthy) {
    const row = rows.get(profile)!;
    expect(row.status, `${profile}: ${row.error}`).toBe('succeeded');
    expect(row.verdict, profile).toBe(leaks.has(profile) ? 'leak' : 'no-leak');
    if (leaks.has(profile)) expect(row.culprit).toMatch(/^netx!NxAllocRxContext\+0x/);
    expect(JSON.parse(readFileSync(join(labDir, 'targets', profile, 'sim-state.json'), 'utf8'))).toMatchObject({ poolHitTag: 0xffffff0f, patchedBytes: [], halted: false });
  }
  for (const f of faulted) {
    const row = rows.get(f.name)!;
    // Only a hunt that ended before the Nth command can succeed; otherwise the cause is recorded.
    expect(['succeeded', 'failed'], `${f.name} (exit-after:${f.after})`).toContain(row.status);
    if (row.status === 'failed') expect(row.error, f.name).toMatch(/debugger exited|Cannot connect/);
  }
  expect(faulted.some((f) => rows.get(f.name)!.status === 'failed')).toBe(true);
  expect(result.exitCode).toBe(1);
});
